import type { PayloadMatch, RemovedJobs } from '../flow/job-removal.js';
import { toJob } from './redis-entries.js';
import { GROUP_LUA } from './redis-group-lua.js';
import { NOW } from './redis-lua.js';
import { transportError } from './redis-errors.js';
import { CONSUMER_GROUP as GROUP } from './redis-keys.js';
import type { RedisQueueContext } from './redis-queue.context.js';
import { defineScriptCall } from './redis-script-call.js';

/** Entries (or delayed members) read per round trip of the scan. */
const SCAN_PAGE = 1000;

/**
 * Removes stream entries that no worker has taken, delayed members, jobs waiting in priority
 * levels and jobs waiting in groups, atomically: an entry delivered since the scan (pending)
 * stays and is reported.
 * KEYS: 1 stream, 2 delayed, 3 priority levels (lists `<levels>:<level>`).
 * ARGV: 1 group, 2 how many entry ids follow, 3 how many delayed members follow them, 4 how many
 *       level values follow those, then the entry ids, the delayed members, pairs (level, member
 *       of its list), then pairs (group id, member of its list, see redis-group-lua.ts).
 * Returns: { removed count, entry ids left because they are pending... }.
 */
const REMOVE_SCRIPT = `${NOW}${GROUP_LUA}
local count, delayed, staged = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local removed, pending = 0, {}
local first = 5
for i = first, first - 1 + count do
  local found = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if type(found) == 'table' and not found.err and found[1] then
    pending[#pending + 1] = ARGV[i]
  else
    removed = removed + redis.call('XDEL', KEYS[1], ARGV[i])
  end
end
first = first + count
for i = first, first - 1 + delayed do
  removed = removed + redis.call('ZREM', KEYS[2], ARGV[i])
end
first = first + delayed
for i = first, first - 1 + staged, 2 do
  local list = KEYS[3] .. ':' .. ARGV[i]
  removed = removed + redis.call('LREM', list, 1, ARGV[i + 1])
  -- The set lists a level exactly while its list holds jobs.
  if redis.call('LLEN', list) == 0 then redis.call('ZREM', KEYS[3], ARGV[i]) end
end
-- The queue's groups: the stream's key is \`<base>:stream\`.
local base = string.sub(KEYS[1], 1, #KEYS[1] - 7)
for i = first + staged, #ARGV, 2 do
  local id = ARGV[i]
  local n = redis.call('LREM', gq(base, id, 'jobs'), 1, ARGV[i + 1])
  if n > 0 then
    removed = removed + n
    redis.call('DECRBY', gkey(base, 'waiting'), n)
    -- A retried job that kept its slot gives it back.
    local ok, job = pcall(cjson.decode, ARGV[i + 1])
    if ok and type(job) == 'table' and job.s == '1' then
      redis.call('ZREM', gq(base, id, 'slots'), tostring(job.id))
    end
    if redis.call('LLEN', gq(base, id, 'jobs')) == 0 then
      leave(base, id)
      tidy(base, id)
    end
  end
end
local out = { removed }
for _, entry in ipairs(pending) do out[#out + 1] = entry end
return out
`;

type Entry = [string, string[]];
type RemovalClient = RedisQueueContext['client'] & {
  eventsRemoveMatching(
    stream: string,
    delayed: string,
    levels: string,
    group: string,
    count: string,
    delayedCount: string,
    stagedCount: string,
    ...rest: string[]
  ): Promise<[number, ...string[]]>;
};

/**
 * `removeMatching` of the Redis transport (cancelOn): scans the queue's stream (waiting and
 * pending entries: acknowledged ones are deleted), its delayed set, priority levels and groups, O(jobs in the queue) in
 * pages of 1000, then removes what matched in one script.
 */
export class RedisJobRemoval {
  private isDefined = false;

  constructor(private readonly ctx: RedisQueueContext) {}

  async removeMatching(
    queue: string,
    listener: string,
    matches: PayloadMatch,
  ): Promise<RemovedJobs> {
    const k = this.ctx.state(queue).keys;
    const client = this.client();
    try {
      const entries = new Map<string, string>();
      let start = '-';
      for (;;) {
        const page = (await client.xrange(k.stream, start, '+', 'COUNT', SCAN_PAGE)) as Entry[];
        for (const [entry, fields] of page) {
          const job = toJob(queue, entry, 0, fields);
          if (job.listener === listener && matches(job.payload)) entries.set(entry, job.id);
        }
        if (page.length < SCAN_PAGE) break;
        start = `(${page[page.length - 1][0]}`;
      }
      const members: string[] = [];
      for (let at = 0; ; at += SCAN_PAGE) {
        const page = await client.zrange(k.delayed, String(at), String(at + SCAN_PAGE - 1));
        for (const member of page) {
          if (isMatch(member, listener, matches)) members.push(member);
        }
        if (page.length < SCAN_PAGE) break;
      }
      const staged: string[] = [];
      for (const level of await client.zrange(k.levels, '0', '-1')) {
        for (let at = 0; ; at += SCAN_PAGE) {
          const page = await client.lrange(
            `${k.levels}:${level}`,
            String(at),
            String(at + SCAN_PAGE - 1),
          );
          for (const member of page) {
            if (isMatch(member, listener, matches)) staged.push(level, member);
          }
          if (page.length < SCAN_PAGE) break;
        }
      }
      const grouped = await this.grouped(k.base, listener, matches);
      if (entries.size === 0 && members.length === 0 && staged.length === 0 && !grouped.length) {
        return { removed: 0, running: [] };
      }
      const [removed, ...pending] = await client.eventsRemoveMatching(
        k.stream,
        k.delayed,
        k.levels,
        GROUP,
        String(entries.size),
        String(members.length),
        String(staged.length),
        ...entries.keys(),
        ...members,
        ...staged,
        ...grouped,
      );
      return {
        removed: Number(removed),
        running: pending.map((entry) => entries.get(entry) ?? entry),
      };
    } catch (error) {
      throw transportError(`removing jobs of ${listener} from "${queue}"`, error);
    }
  }

  /** Pairs (group id, member) of the matching jobs waiting in the queue's groups. */
  private async grouped(base: string, listener: string, matches: PayloadMatch): Promise<string[]> {
    const client = this.ctx.client;
    const pairs: string[] = [];
    for (const id of await client.zrange(`${base}:g:index`, '0', '-1')) {
      for (let at = 0; ; at += SCAN_PAGE) {
        const page = await client.lrange(
          `${base}:gq:${id}:jobs`,
          String(at),
          String(at + SCAN_PAGE - 1),
        );
        for (const member of page) if (isMatch(member, listener, matches)) pairs.push(id, member);
        if (page.length < SCAN_PAGE) break;
      }
    }
    return pairs;
  }

  private client(): RemovalClient {
    const client = this.ctx.client as RemovalClient;
    if (!this.isDefined) {
      defineScriptCall(client, 'eventsRemoveMatching', { numberOfKeys: 3, lua: REMOVE_SCRIPT });
      this.isDefined = true;
    }
    return client;
  }
}

/** A delayed or staged member (`{ id, l, p, ... }` JSON) of `listener` whose payload matches. */
function isMatch(member: string, listener: string, matches: PayloadMatch): boolean {
  try {
    const parsed = JSON.parse(member) as { l?: unknown; p?: unknown };
    return parsed.l === listener && typeof parsed.p === 'string' && matches(parsed.p);
  } catch {
    return false;
  }
}

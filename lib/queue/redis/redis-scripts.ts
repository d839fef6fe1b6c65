import type { RedisClient } from '../../redis/redis-connection.factory.js';
import { defineScriptCall } from './redis-script-call.js';
import { CLEANUP_CONSUMERS_SCRIPT, COUNTS_SCRIPT } from './redis-admin-scripts.js';
import {
  DEAD_LETTER_SCRIPT,
  FORGET_DEAD_SCRIPT,
  LIST_DEAD_SCRIPT,
  LIST_DEAD_TAGGED_SCRIPT,
  PRUNE_DEAD_SCRIPT,
  PURGE_DEAD_SCRIPT,
  RETRY_DEAD_SCRIPT,
  SWEEP_DEAD_INFO_SCRIPT,
} from './redis-dead-scripts.js';
import { DELAY_SCRIPT, PROMOTE_SCRIPT, RECLAIM_SCRIPT } from './redis-delivery-scripts.js';
import { OBLITERATE_SCRIPT, SWEEP_STARTED, SWEEP_STARTED_SCRIPT } from './redis-inspect-scripts.js';
import { ACK, NOW, OWNS, TALLY } from './redis-lua.js';
import { GROUP_LUA } from './redis-group-lua.js';
import {
  GROUP_ACK_SCRIPT,
  GROUP_EXTEND_SCRIPT,
  GROUP_LIST_SCRIPT,
  GROUP_PAUSE_SCRIPT,
  GROUP_SETTLE_SCRIPT,
  GROUP_WAITING_SCRIPT,
} from './redis-group-scripts.js';
import { GROUP_TAKE_SCRIPT } from './redis-group-take-script.js';
import { HISTORY_SCRIPT, OLDEST_WAITING_SCRIPT } from './redis-metrics-scripts.js';
import { ADD_SCRIPT, STORE_SCRIPT } from './redis-store-scripts.js';
import { STAGE, TAKE_SCRIPT } from './redis-priority-scripts.js';

/**
 * Most ids a script call carries when its script unpacks them (`unpack` stops near 8,000 values):
 * heartbeats, acknowledgements and dead-letter retries are sent in chunks of this size.
 */
export const SCRIPT_ID_BATCH = 1000;

/*
 * The Lua scripts of the Redis transport. Each one runs atomically on one queue's keys (one hash
 * tag), which is what keeps a job in exactly one place: the stream (waiting or pending), the
 * delayed set, the dead stream, or gone once acknowledged.
 *
 * Stream entry fields: id (job id), l (listener), p (payload), a (attempts made before this
 * entry), t (first enqueued, ms). Dead entries keep id, l, p, and g (tags, newline-joined, when
 * the event has some), q and ag (priority level and aging period, when either is not 0): what a
 * retry moves. What only listings read (attempts made, first enqueued, reason, error, stack,
 * failed at) is in the dead info hash under the dead entry's id (see QueueKeys.deadInfo); dead
 * entries written before that hash carry it as fields a, t, r, e, s, f. Delayed members
 * are JSON {id, l, p, a, t}, all strings. A tagged event's tags ride in its payload (see `serializeEnvelope`); only dead entries copy them out, for the index.
 *
 * A receipt is (entry id, delivery count): a settle is refused unless the entry is still pending
 * for this consumer with exactly that delivery count, so a worker whose job was reclaimed (the
 * count went up, or another consumer owns it) cannot settle it.
 */

/**
 * Acknowledges a batch of jobs that succeeded. The batch's receipts are checked with one XPENDING
 * over this consumer's entries between the lowest and the highest id (per entry only when that
 * range holds more than the reply's limit), so the stale-receipt check stays exact.
 * KEYS: 1 stream, 2 stats.
 * ARGV: 1 group, 2 consumer, 3 lowest entry id, 4 highest entry id, then pairs (entry id,
 *       delivery count).
 * Returns: the number of pairs when every one was acknowledged (deleted, counted completed):
 *          one integer to read, not one per job; else a list with, per pair, 1 (acknowledged)
 *          or 0 (stale).
 */
export const ACK_SCRIPT = `${OWNS}${NOW}${TALLY}${ACK}
local out, _, stale = ack(KEYS[1], KEYS[2], 5, 2)
if stale then return out end
return #out
`;

/**
 * Puts a job back for another attempt (retry) or without counting this one (release): now at the
 * stream's tail, or later through the delayed set.
 * A prioritized job (field `q`, a level other than 0 or an aging period `ag`) goes back to its
 * level rather than the stream.
 * KEYS: 1 stream, 2 delayed, 3 stats, 4 priority levels.
 * ARGV: 1 group, 2 consumer, 3 entry id, 4 delivery count, 5 delay (ms, from Redis's clock; 0 = now),
 *       6 attempts made so far (stored as \`a\`), 7 '1' to count a failed attempt; for a
 *       grouped job (entry with \`g\`): 8 '1' to keep its slot through the delay, 9 lease (ms),
 *       10 '1' to go back to the head of its group (else its tail).
 * Returns: 1 done, 0 stale.
 */
export const REQUEUE_SCRIPT = `${OWNS}${NOW}${TALLY}${GROUP_LUA}${STAGE}
if not owns(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
local f = fields(KEYS[1], ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if ARGV[7] == '1' then
  redis.call('HINCRBY', KEYS[3], 'failed', 1)
  tally(KEYS[3], 0, 1)
end
if f and f.g then
  local base, g, delay = string.sub(KEYS[1], 1, #KEYS[1] - 7), f.g, tonumber(ARGV[5])
  local holds = ARGV[8] == '1' and meta(base, g, 'c') > 0
  local slots = gq(base, g, 'slots')
  if holds then redis.call('ZADD', slots, now() + delay + tonumber(ARGV[9]), f.id or ARGV[3])
  else redis.call('ZREM', slots, f.id or ARGV[3]) end
  if delay > 0 then
    redis.call('ZADD', KEYS[2], now() + delay, cjson.encode(groupMember(f, ARGV[3], ARGV[6],
      holds, base)))
    enter(base, g, now())
    tidy(base, g)
  else
    local job = { id = f.id or ARGV[3], l = f.l or '', p = f.p or '', a = ARGV[6], t = f.t or '0' }
    if holds then job.s = '1' end
    pushGroupJob(base, g, job, nil, holds or ARGV[10] == '1')
  end
elseif f then
  local job = { id = f.id or ARGV[3], l = f.l or '', p = f.p or '', a = ARGV[6], t = f.t or '0',
    q = f.q, ag = f.ag }
  if tonumber(ARGV[5]) > 0 then
    redis.call('ZADD', KEYS[2], now() + tonumber(ARGV[5]), cjson.encode(job))
  elseif f.q and (f.q ~= '0' or (f.ag or '0') ~= '0') then
    local wasEmpty = redis.call('EXISTS', KEYS[4]) == 0
    stage(KEYS[4], job, now())
    if wasEmpty then wakeLevels(KEYS[4], KEYS[1]) end
  else
    redis.call('XADD', KEYS[1], '*', 'id', job.id, 'l', job.l, 'p', job.p, 'a', job.a, 't', job.t)
  end
end
return 1
`;

/**
 * Keeps running jobs from being reclaimed: resets their idle time (XCLAIM JUSTID does not count
 * a delivery), but only for entries this consumer still holds with the same delivery count.
 * Like the ack script, one XPENDING over this consumer's entries between the lowest and the
 * highest id checks the whole chunk (per entry only when that range holds more than its limit).
 * Callers send at most SCRIPT_ID_BATCH pairs per call (Lua's unpack stops near 8,000 values).
 * Records when each delivery it extends started (`started` hash, `entry/deliveries` -> ms, set
 * once), and drops the records of settled deliveries when they outnumber the pending entries.
 * KEYS: 1 stream, 2 started.
 * ARGV: 1 group, 2 consumer, 3 lowest entry id, 4 highest entry id, then pairs (entry id,
 *       delivery count).
 * Returns: a list with, per pair, 1 (still held, extended) or 0 (reclaimed by another consumer,
 *          delivered again, or gone).
 */
export const HEARTBEAT_SCRIPT = `${OWNS}${NOW}${SWEEP_STARTED}
local limit = (#ARGV - 4) / 2 + 100
local known, idle, complete = {}, {}, false
local range = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[4], limit, ARGV[2])
if type(range) == 'table' and not range.err then
  for _, p in ipairs(range) do
    known[p[1]] = tostring(p[4])
    idle[p[1]] = p[3]
  end
  complete = #range < limit
end
local held, out, starts, clock = {}, {}, {}, now()
for i = 5, #ARGV, 2 do
  local ok
  if known[ARGV[i]] ~= nil or complete then
    ok = known[ARGV[i]] == ARGV[i + 1]
  else
    ok = owns(KEYS[1], ARGV[1], ARGV[2], ARGV[i], ARGV[i + 1])
  end
  if ok then
    held[#held + 1] = ARGV[i]
    out[#out + 1] = 1
    -- When this delivery started, for EventQueues.listJobs('active') (ageMs): now - idle.
    if idle[ARGV[i]] then
      starts[#starts + 1] = ARGV[i] .. '/' .. ARGV[i + 1]
      starts[#starts + 1] = clock - idle[ARGV[i]]
    end
  else
    out[#out + 1] = 0
  end
end
if #starts > 0 then
  for i = 1, #starts, 2 do redis.call('HSETNX', KEYS[2], starts[i], starts[i + 1]) end
  if redis.call('HLEN', KEYS[2]) > 1000 then
    local summary = redis.pcall('XPENDING', KEYS[1], ARGV[1])
    if type(summary) == 'table' and not summary.err
      and redis.call('HLEN', KEYS[2]) > 2 * summary[1] + 1000 then
      sweepStarted(KEYS[1], ARGV[1], KEYS[2])
    end
  end
end
local count = #held
if count > 0 then
  held[count + 1] = 'JUSTID'
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(held))
end
return out
`;

type Arg = string | number;

/** A dead entry as the listing scripts return it: entry id, fields, its dead info (or nil). */
export type DeadEntryReply = [string, string[], string | null];

/** The scripts as commands on a client (after `defineScripts`). */
export interface ScriptCommands {
  eventsAdd(stream: string, levels: string, ...argv: Arg[]): Promise<number | number[]>;
  /** `numberOfKeys`, then the keys, then ARGV (see STORE_SCRIPT). */
  eventsStore(numberOfKeys: number, ...keysThenArgv: Arg[]): Promise<number>;
  eventsAck(stream: string, stats: string, ...argv: Arg[]): Promise<number | number[]>;
  eventsGroupAck(stream: string, stats: string, ...argv: Arg[]): Promise<number | number[]>;
  eventsRequeue(
    stream: string,
    delayed: string,
    stats: string,
    levels: string,
    ...argv: Arg[]
  ): Promise<number>;
  eventsDeadLetter(
    stream: string,
    dead: string,
    stats: string,
    deadIndex: string,
    deadInfo: string,
    ...argv: Arg[]
  ): Promise<number>;
  eventsHeartbeat(stream: string, started: string, ...argv: Arg[]): Promise<number[]>;
  eventsDelay(delayed: string, delayMs: number, member: string): Promise<number>;
  eventsPromote(
    delayed: string,
    stream: string,
    levels: string,
    max: number,
  ): Promise<[number, string, number, number]>;
  eventsReclaim(
    stream: string,
    ...argv: Arg[]
  ): Promise<[string, [string, number, string[]][], number, number, [string, number][]]>;
  eventsCounts(
    stream: string,
    delayed: string,
    stats: string,
    dead: string,
    levels: string,
    group: string,
  ): Promise<number[]>;
  /** `[levels left, jobs delivered, ...entry id and member per job]` (see TAKE_SCRIPT). */
  eventsTake(stream: string, levels: string, ...argv: Arg[]): Promise<(number | string)[]>;
  eventsRetryDead(
    dead: string,
    stream: string,
    deadIndex: string,
    levels: string,
    deadInfo: string,
    ...argv: Arg[]
  ): Promise<number>;
  eventsPurgeDead(dead: string, deadIndex: string, deadInfo: string): Promise<number>;
  eventsForgetDead(
    dead: string,
    deadIndex: string,
    deadInfo: string,
    ...argv: Arg[]
  ): Promise<number>;
  eventsPruneDead(
    dead: string,
    deadIndex: string,
    deadInfo: string,
    ...argv: Arg[]
  ): Promise<number>;
  eventsSweepDeadInfo(dead: string, deadInfo: string, ...argv: Arg[]): Promise<[string, number]>;
  eventsObliterate(...keysThenArgv: Arg[]): Promise<[number, string | number]>;
  eventsListDead(
    dead: string,
    deadInfo: string,
    ...argv: Arg[]
  ): Promise<[number, DeadEntryReply[]]>;
  eventsListDeadTagged(
    dead: string,
    deadIndex: string,
    deadInfo: string,
    ...argv: Arg[]
  ): Promise<[number, DeadEntryReply[]]>;
  eventsSweepStarted(stream: string, started: string, group: string): Promise<number>;
  eventsCleanupConsumers(stream: string, ...argv: Arg[]): Promise<number>;
  eventsHistory(stats: string, minutes: number): Promise<[number, ...(string | null)[]]>;
  eventsOldestWaiting(stream: string, levels: string, group: string, base: string): Promise<number>;
  eventsGroupTake(ready: string, stream: string, ...argv: Arg[]): Promise<[number, string, number]>;
  eventsGroupSettle(ready: string, ...argv: Arg[]): Promise<number>;
  eventsGroupExtend(ready: string, ...argv: Arg[]): Promise<number>;
  eventsGroupPause(ready: string, ...argv: Arg[]): Promise<number>;
  eventsGroupWaiting(ready: string, ...argv: Arg[]): Promise<string[]>;
  eventsGroupList(
    ready: string,
    ...argv: Arg[]
  ): Promise<[string, number, number, number, string][]>;
}

const SCRIPTS: Record<keyof ScriptCommands, { lua: string; numberOfKeys?: number }> = {
  eventsAdd: { lua: ADD_SCRIPT, numberOfKeys: 2 },
  // Keys vary with the emit: the caller passes their count first.
  eventsStore: { lua: STORE_SCRIPT },
  eventsAck: { lua: ACK_SCRIPT, numberOfKeys: 2 },
  eventsGroupAck: { lua: GROUP_ACK_SCRIPT, numberOfKeys: 2 },
  eventsRequeue: { lua: REQUEUE_SCRIPT, numberOfKeys: 4 },
  eventsDeadLetter: { lua: DEAD_LETTER_SCRIPT, numberOfKeys: 5 },
  eventsHeartbeat: { lua: HEARTBEAT_SCRIPT, numberOfKeys: 2 },
  eventsPromote: { lua: PROMOTE_SCRIPT, numberOfKeys: 3 },
  eventsDelay: { lua: DELAY_SCRIPT, numberOfKeys: 1 },
  eventsReclaim: { lua: RECLAIM_SCRIPT, numberOfKeys: 1 },
  eventsCounts: { lua: COUNTS_SCRIPT, numberOfKeys: 5 },
  eventsTake: { lua: TAKE_SCRIPT, numberOfKeys: 2 },
  eventsRetryDead: { lua: RETRY_DEAD_SCRIPT, numberOfKeys: 5 },
  eventsPurgeDead: { lua: PURGE_DEAD_SCRIPT, numberOfKeys: 3 },
  eventsForgetDead: { lua: FORGET_DEAD_SCRIPT, numberOfKeys: 3 },
  eventsPruneDead: { lua: PRUNE_DEAD_SCRIPT, numberOfKeys: 3 },
  eventsSweepDeadInfo: { lua: SWEEP_DEAD_INFO_SCRIPT, numberOfKeys: 2 },
  eventsObliterate: { lua: OBLITERATE_SCRIPT, numberOfKeys: 9 },
  eventsListDead: { lua: LIST_DEAD_SCRIPT, numberOfKeys: 2 },
  eventsListDeadTagged: { lua: LIST_DEAD_TAGGED_SCRIPT, numberOfKeys: 3 },
  eventsSweepStarted: { lua: SWEEP_STARTED_SCRIPT, numberOfKeys: 2 },
  eventsCleanupConsumers: { lua: CLEANUP_CONSUMERS_SCRIPT, numberOfKeys: 1 },
  eventsHistory: { lua: HISTORY_SCRIPT, numberOfKeys: 1 },
  eventsOldestWaiting: { lua: OLDEST_WAITING_SCRIPT, numberOfKeys: 2 },
  eventsGroupTake: { lua: GROUP_TAKE_SCRIPT, numberOfKeys: 2 },
  eventsGroupSettle: { lua: GROUP_SETTLE_SCRIPT, numberOfKeys: 1 },
  eventsGroupExtend: { lua: GROUP_EXTEND_SCRIPT, numberOfKeys: 1 },
  eventsGroupPause: { lua: GROUP_PAUSE_SCRIPT, numberOfKeys: 1 },
  eventsGroupList: { lua: GROUP_LIST_SCRIPT, numberOfKeys: 1 },
  eventsGroupWaiting: { lua: GROUP_WAITING_SCRIPT, numberOfKeys: 1 },
};

/**
 * Registers the scripts on a client (EVALSHA, with EVAL when Redis lost its script cache, e.g.
 * after a restart; see `defineScriptCall`) and returns it typed with them.
 */
export function defineScripts<C extends RedisClient>(client: C): C & ScriptCommands {
  for (const [name, script] of Object.entries(SCRIPTS)) defineScriptCall(client, name, script);
  return client as C & ScriptCommands;
}

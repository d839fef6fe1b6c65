import { GROUP_LUA } from './redis-group-lua.js';
import { ACK, NOW, OWNS, TALLY } from './redis-lua.js';

/*
 * The scripts of queues with groups (see GROUP_LUA for the keys). A grouped job waits in its
 * group's list; the take script moves the jobs it chooses to the stream and reads them through
 * the consumer group at once, so from then on a job is an ordinary stream entry: visibility
 * timeout, reclaim, heartbeats, fencing by receipt, acks and dead letters as for any job. Its
 * entry carries `g` (the group id). A group's slot is a lease (2 x visibility timeout), renewed by
 * heartbeats and freed when the job settles, or when its worker died and nobody renews it.
 */

/**
 * A grouped job's attempt ended (acknowledged, dead-lettered): frees its slots and puts the
 * groups back in the rotation when they can start again.
 * KEYS: 1 rotation list (g:ready, for routing).
 * ARGV: 1 base, then pairs (group id, job id).
 * Returns: the number of pairs.
 */
export const GROUP_SETTLE_SCRIPT = `${NOW}${GROUP_LUA}
free(ARGV[1], ARGV, 2, 2, now())
return (#ARGV - 1) / 2
`;

/**
 * Acknowledges a batch of jobs of a queue with groups, as ACK_SCRIPT does, and frees the group
 * slots of the jobs it acknowledged in the same call (one round trip; a stale job's slot stays
 * with whoever holds the job now).
 * KEYS: 1 stream, 2 stats.
 * ARGV: 1 group, 2 consumer, 3 lowest entry id, 4 highest entry id, 5 base, then quads (entry
 *       id, delivery count, group id or '' for a job without one, job id).
 * Returns: as ACK_SCRIPT: the number of quads when every one was acknowledged, else a list with,
 *          per quad, 1 (acknowledged, deleted, counted completed) or 0 (stale).
 */
export const GROUP_ACK_SCRIPT = `${OWNS}${NOW}${TALLY}${ACK}${GROUP_LUA}
local out, acked, stale = ack(KEYS[1], KEYS[2], 6, 4)
local ended = {}
for _, i in ipairs(acked) do
  ended[#ended + 1] = ARGV[i + 2]
  ended[#ended + 1] = ARGV[i + 3]
end
free(ARGV[5], ended, 1, 2, now())
if stale then return out end
return #out
`;

/**
 * Renews the slot leases of running grouped jobs (heartbeats, reclaims).
 * KEYS: 1 rotation list (g:ready, for routing).
 * ARGV: 1 base, 2 lease (ms), then pairs (group id, job id).
 * Returns: the number of pairs.
 */
export const GROUP_EXTEND_SCRIPT = `${NOW}${GROUP_LUA}
local base, untilAt = ARGV[1], now() + tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call('ZADD', gq(base, ARGV[i], 'slots'), untilAt, ARGV[i + 1])
  redis.call('ZADD', gkey(base, 'index'), 0, ARGV[i])
end
return (#ARGV - 2) / 2
`;

/**
 * Pauses or resumes one group: a paused group leaves the rotation when a take meets it.
 * KEYS: 1 rotation list (g:ready, for routing).
 * ARGV: 1 base, 2 group id, 3 '1' pause, '0' resume.
 * Returns: 1.
 */
export const GROUP_PAUSE_SCRIPT = `${NOW}${GROUP_LUA}
local base, id = ARGV[1], ARGV[2]
if ARGV[3] == '1' then
  redis.call('SADD', gkey(base, 'paused'), id)
  redis.call('ZADD', gkey(base, 'index'), 0, id)
else
  redis.call('SREM', gkey(base, 'paused'), id)
  enter(base, id, now())
  tidy(base, id)
end
return 1
`;

/**
 * A page of the queue's groups, by id.
 * KEYS: 1 rotation list (g:ready, for routing).
 * ARGV: 1 base, 2 offset, 3 limit.
 * Returns: a list of { id, waiting, active, paused (1/0), limited until (ms, string) or '' }.
 */
export const GROUP_LIST_SCRIPT = `${NOW}${GROUP_LUA}
local base, at = ARGV[1], now()
local offset, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGE', gkey(base, 'index'), offset, offset + limit - 1)
local out = {}
for _, id in ipairs(ids) do
  local active = redis.call('ZCOUNT', gq(base, id, 'slots'), '(' .. at, '+inf')
  out[#out + 1] = { id, redis.call('LLEN', gq(base, id, 'jobs')), active,
    redis.call('SISMEMBER', gkey(base, 'paused'), id), tostring(rateUntil(base, id, at) or '') }
end
return out
`;

/**
 * A page of the jobs waiting in the queue's groups, group by group (by id), each in its order.
 * KEYS: 1 rotation list (g:ready, for routing).
 * ARGV: 1 base, 2 jobs to skip, 3 most jobs.
 * Returns: the members (JSON {id, l, p, a, t, s}).
 */
export const GROUP_WAITING_SCRIPT = `${NOW}${GROUP_LUA}
local base, skip, want = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, id in ipairs(redis.call('ZRANGE', gkey(base, 'index'), 0, -1)) do
  if want <= 0 then break end
  local key = gq(base, id, 'jobs')
  local n = redis.call('LLEN', key)
  if skip >= n then
    skip = skip - n
  else
    local items = redis.call('LRANGE', key, skip, skip + want - 1)
    for _, member in ipairs(items) do out[#out + 1] = member end
    want = want - #items
    skip = 0
  end
end
return out
`;

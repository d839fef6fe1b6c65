import { NOW } from './redis-lua.js';

/*
 * The scripts of scheduled events. Scores of the due set are integral ms, so a due time read
 * back as a string compares equal to the one an app commits.
 */

/**
 * Takes the due occurrences (by Redis's clock) for one app: each one's score becomes the end of
 * a lease, and its due time is kept in the in-flight hash until the app commits (an occurrence
 * already in flight, whose lease ran out, is handed out again as a reclaim).
 * KEYS: 1 due (zset), 2 records (hash), 3 in-flight (hash).
 * ARGV: 1 limit, 2 lease (ms).
 * Returns: { now (ms), { {id, due, record, isReclaim 0|1}, ... }, earliest score left or '' }.
 */
export const CLAIM_SCHEDULES_SCRIPT = `${NOW}
local t = now()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', t, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #due, 2 do
  local id = due[i]
  local record = redis.call('HGET', KEYS[2], id)
  if not record then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
  else
    local held = redis.call('HGET', KEYS[3], id)
    local occurrence = held or due[i + 1]
    if not held then redis.call('HSET', KEYS[3], id, occurrence) end
    redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), id)
    out[#out + 1] = { id, occurrence, record, held and 1 or 0 }
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { t, out, first[2] or '' }
`;

/**
 * An app emitted the occurrence it claimed: the schedule moves to its next due time, or is
 * deleted when it has none. Refused when the occurrence is no longer this one in flight (the
 * schedule was replaced or deleted, or another app reclaimed it and committed).
 * KEYS: 1 due, 2 records, 3 in-flight.
 * ARGV: 1 id, 2 the claimed due time, 3 the next due time or ''.
 * Returns: 1 committed, 0 refused.
 */
export const COMMIT_SCHEDULE_SCRIPT = `
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
`;

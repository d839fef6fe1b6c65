/* The scripts of queue admin: counts, consumer cleanup (dead letters: redis-dead-scripts.ts). */

/**
 * Counts of one queue; a missing group (no worker yet) counts as nothing pending.
 * KEYS: 1 stream, 2 delayed, 3 stats, 4 dead, 5 priority levels (see redis-priority-scripts.ts).
 * ARGV: 1 group.
 * Returns: { waiting, delayed, active, completed, failed, dead }.
 */
export const COUNTS_SCRIPT = `
local length = redis.call('XLEN', KEYS[1])
-- Jobs waiting in priority levels; a wake-up entry in the stream is no job.
for _, level in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  length = length + redis.call('LLEN', KEYS[5] .. ':' .. level)
end
if redis.call('EXISTS', KEYS[5] .. ':woken') == 1 then length = length - 1 end
local active = 0
local summary = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if type(summary) == 'table' and not summary.err then active = summary[1] end
local stats = redis.call('HMGET', KEYS[3], 'completed', 'failed')
return { math.max(0, length - active), redis.call('ZCARD', KEYS[2]), active,
  tonumber(stats[1] or '0'), tonumber(stats[2] or '0'), redis.call('XLEN', KEYS[4]) }
`;

/**
 * Removes consumers that left: idle for at least the given time and owning no pending entry
 * (deleting a consumer would drop its pending entries, so those are kept until reclaimed).
 * KEYS: 1 stream.
 * ARGV: 1 group, 2 this consumer (kept), 3 min idle (ms).
 * Returns: the number of consumers removed.
 */
export const CLEANUP_CONSUMERS_SCRIPT = `
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if type(consumers) ~= 'table' or consumers.err then return 0 end
local removed = 0
for _, raw in ipairs(consumers) do
  local c = {}
  for i = 1, #raw, 2 do c[raw[i]] = raw[i + 1] end
  if c.name ~= ARGV[2] and tonumber(c.pending) == 0 and tonumber(c.idle) >= tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], c.name)
    removed = removed + 1
  end
end
return removed
`;

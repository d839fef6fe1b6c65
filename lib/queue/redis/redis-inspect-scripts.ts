/* The scripts of queue removal and start times: obliterate, sweep (dead letters: redis-dead-scripts.ts). */
import { DEAD_INDEX } from './redis-dead-scripts.js';

/**
 * Lua helper: `sweepStarted(stream, group, started)` drops the start times of deliveries that
 * are no longer pending (settled, or delivered again). Fields are `entry/deliveries`.
 */
export const SWEEP_STARTED = `
local function sweepStarted(stream, group, started)
  local removed = 0
  for _, key in ipairs(redis.call('HKEYS', started)) do
    local slash = string.find(key, '/', 1, true)
    local keep = false
    if slash then
      local entry = string.sub(key, 1, slash - 1)
      local p = redis.pcall('XPENDING', stream, group, entry, entry, 1)
      keep = type(p) == 'table' and not p.err and p[1] ~= nil
        and tostring(p[1][4]) == string.sub(key, slash + 1)
    end
    if not keep then
      redis.call('HDEL', started, key)
      removed = removed + 1
    end
  end
  return removed
end
`;

/**
 * Removes every key of a queue, its groups' and its watch's included (see redis-group-lua.ts and
 * NOTICE in redis-lua.ts), unless (without force) a consumer of its group interacted with Redis
 * within the given window (a worker is reading it). Deduplication marks (`seen:<job id>`) are
 * not listed anywhere: they expire after `dedupeWindowMs`.
 * KEYS: 1 stream, 2 delayed, 3 dead, 4 stats, 5 dead index, 6 started, 7 paused (and the tag
 *       keys of the dead index, in the same hash tag), 8 levels (with its lists `<levels>:-10`
 *       .. `<levels>:10` and `<levels>:woken`), 9 dead info.
 * ARGV: 1 group, 2 window (ms), 3 '1' to force.
 * Returns: { 1, jobs removed } or { 0, name of an active consumer }.
 */
export const OBLITERATE_SCRIPT = `${DEAD_INDEX}
if ARGV[3] ~= '1' then
  local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
  if type(consumers) == 'table' and not consumers.err then
    for _, raw in ipairs(consumers) do
      local c = {}
      for i = 1, #raw, 2 do c[raw[i]] = raw[i + 1] end
      if tonumber(c.idle) < tonumber(ARGV[2]) then return { 0, c.name } end
    end
  end
end
local jobs = redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('XLEN', KEYS[3])
for _, level in ipairs(redis.call('ZRANGE', KEYS[8], 0, -1)) do
  jobs = jobs + redis.call('LLEN', KEYS[8] .. ':' .. level)
  redis.call('UNLINK', KEYS[8] .. ':' .. level)
end
if redis.call('EXISTS', KEYS[8] .. ':woken') == 1 then jobs = jobs - 1 end
dropTags(KEYS[5])
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8],
  KEYS[8] .. ':woken', KEYS[9])
-- The queue's groups: the stream's key is \`<base>:stream\`.
local base = string.sub(KEYS[1], 1, #KEYS[1] - 7)
for _, id in ipairs(redis.call('ZRANGE', base .. ':g:index', 0, -1)) do
  local g = base .. ':gq:' .. id .. ':'
  jobs = jobs + redis.call('LLEN', g .. 'jobs')
  redis.call('UNLINK', g .. 'jobs', g .. 'meta', g .. 'slots', g .. 'starts')
end
-- Start lists of rate-limited groups that emptied (gone from the index, still in their window).
for _, id in ipairs(redis.call('ZRANGE', base .. ':g:rated', 0, -1)) do
  redis.call('UNLINK', base .. ':gq:' .. id .. ':starts')
end
for _, name in ipairs({ 'ready', 'limited', 'state', 'credit', 'paused', 'index', 'waiting', 'wake',
    'rated', 'specs' }) do
  redis.call('UNLINK', base .. ':g:' .. name)
end
-- What a watch (EventQueues.watch) read: a live watch raises its flag again before its next read.
redis.call('UNLINK', base .. ':watch', base .. ':watching')
return { 1, jobs }
`;

/**
 * Drops the start times of deliveries no longer pending.
 * KEYS: 1 stream, 2 started.
 * ARGV: 1 group.
 * Returns: the number dropped.
 */
export const SWEEP_STARTED_SCRIPT = `${SWEEP_STARTED}
return sweepStarted(KEYS[1], ARGV[1], KEYS[2])
`;

/* The scripts of queue admin: counts, dead letters, consumer cleanup. */
import { DEAD_INDEX } from './redis-inspect-scripts.js';
import { NOW } from './redis-lua.js';
import { STAGE } from './redis-priority-scripts.js';

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
 * Gives dead jobs a new round of attempts (attempt count from zero), at the stream's tail, and
 * drops them from the dead index and their tags' indexes. Everything happens in Redis: a job's
 * fields are copied from its dead entry into a new stream entry, with no round trip per job.
 * A job that died with a priority (fields `q`, `ag`) goes back to its level instead, ready from
 * now (see redis-priority-scripts).
 * KEYS: 1 dead, 2 stream, 3 dead index (and its tag keys, in the same hash tag), 4 priority levels.
 * ARGV: 1 now (ms), then 2 'first' and 3 how many (the oldest); or 2 'job' and 3 a job id (found
 *       through the index); or 2.. dead entry ids.
 * Returns: the number of jobs moved; -1 for a job id missing from an index that does not cover
 *          the whole dead stream (entries written before the index existed: scan for it).
 */
export const RETRY_DEAD_SCRIPT = `${DEAD_INDEX}${NOW}${STAGE}
local entries
if ARGV[2] == 'first' then
  entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', tonumber(ARGV[3]))
elseif ARGV[2] == 'job' then
  local found = deadEntry(KEYS[1], KEYS[3], ARGV[3])
  if found == false then return -1 end
  entries = found and { found } or {}
else
  entries = {}
  for i = 2, #ARGV do
    local found = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
    if found[1] then entries[#entries + 1] = found[1] end
  end
end
local count = #entries
if count == 0 then return 0 end
local stream, enqueuedAt, index, levels = KEYS[2], ARGV[1], KEYS[3], KEYS[4]
local moved, jobs = {}, {}
local wasEmpty, staged, at = redis.call('EXISTS', levels) == 0, false, nil
for n = 1, count do
  local entry = entries[n]
  local raw = entry[2]
  local id, l, p, g, q, ag = entry[1], '', '', nil, nil, nil
  for i = 1, #raw, 2 do
    local key = raw[i]
    if key == 'id' then id = raw[i + 1]
    elseif key == 'l' then l = raw[i + 1]
    elseif key == 'p' then p = raw[i + 1]
    elseif key == 'g' then g = raw[i + 1]
    elseif key == 'q' then q = raw[i + 1]
    elseif key == 'ag' then ag = raw[i + 1] end
  end
  if q and (q ~= '0' or (ag or '0') ~= '0') then
    at = at or now()
    stage(levels, { id = id, l = l, p = p, a = '0', t = enqueuedAt, q = q, ag = ag or '0' }, at)
    staged = true
  else
    redis.call('XADD', stream, '*', 'id', id, 'l', l, 'p', p, 'a', '0', 't', enqueuedAt)
  end
  if g then untag(index, g, id) end
  moved[n] = entry[1]
  jobs[n] = id
end
if ARGV[2] == 'first' then
  -- The oldest entries, contiguous from the start: trimming below the next id removes exactly
  -- them (whole stream nodes at once, cheaper than deleting ids one by one).
  local ms, seq = string.match(moved[count], '^(%d+)-(%d+)$')
  redis.call('XTRIM', KEYS[1], 'MINID', ms .. '-' .. string.format('%d', tonumber(seq) + 1))
else
  redis.call('XDEL', KEYS[1], unpack(moved))
end
-- At most SCRIPT_ID_BATCH ids per HDEL (unpack stops near 8,000 values).
for i = 1, count, 1000 do
  redis.call('HDEL', index, unpack(jobs, i, math.min(i + 999, count)))
end
if staged and wasEmpty then wakeLevels(levels, stream) end
return count
`;

/**
 * Deletes the dead-letter stream, its index and its tag indexes without blocking Redis (UNLINK
 * frees memory in the background).
 * KEYS: 1 dead, 2 dead index (and its tag keys, in the same hash tag).
 * Returns: the number of dead jobs deleted.
 */
export const PURGE_DEAD_SCRIPT = `${DEAD_INDEX}
local length = redis.call('XLEN', KEYS[1])
dropTags(KEYS[2])
redis.call('UNLINK', KEYS[1], KEYS[2])
return length
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

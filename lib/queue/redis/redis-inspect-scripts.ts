/* The scripts of queue inspection and removal: the dead index, forget, prune, obliterate, start times. */
import { NOW } from './redis-lua.js';

/**
 * Lua helpers of the dead index (hash: job id -> dead entry id).
 * `deadEntry(dead, index, job)`: the job's dead entry `{ entry id, fields }`; `nil` when the job
 * is not dead; `false` when the index does not know it but does not cover the whole dead stream
 * (entries written before the index existed: the caller scans for it).
 * `unindex(index, job, entry)`: drops the job from the index if it points at that entry.
 * Tags (see RedisKeys.deadTags): a sorted set per tag, `<index>:tag:<tag>` (job ids scored by the
 * millisecond they died), and the set `<index>:tags` of tags that have one; a dead entry keeps its
 * tags in field `g` (joined by newlines: tags hold no control character).
 * `fieldOf(entry, name)`: a field of a stream entry `{ id, fields }`, or nil.
 * `untag(index, tags, job)`: drops the job from the sorted set of each of its tags (`g`).
 * `dropTags(index)`: deletes every tag's sorted set and the set of tags.
 */
export const DEAD_INDEX = `
local function deadEntry(dead, index, job)
  local entry = redis.call('HGET', index, job)
  if entry then
    local found = redis.call('XRANGE', dead, entry, entry)
    if found[1] then return found[1] end
    redis.call('HDEL', index, job)
  end
  if redis.call('HLEN', index) < redis.call('XLEN', dead) then return false end
  return nil
end
local function unindex(index, job, entry)
  if redis.call('HGET', index, job) == entry then redis.call('HDEL', index, job) end
end
local function jobIdOf(entry)
  local raw = entry[2]
  for i = 1, #raw, 2 do if raw[i] == 'id' then return raw[i + 1] end end
  return entry[1]
end
local function fieldOf(entry, name)
  local raw = entry[2]
  for i = 1, #raw, 2 do if raw[i] == name then return raw[i + 1] end end
  return nil
end
local function untag(index, tags, job)
  if not tags or tags == '' then return end
  for tag in string.gmatch(tags, '[^\\n]+') do
    local key = index .. ':tag:' .. tag
    redis.call('ZREM', key, job)
    if redis.call('EXISTS', key) == 0 then redis.call('SREM', index .. ':tags', tag) end
  end
end
local function dropTags(index)
  for _, tag in ipairs(redis.call('SMEMBERS', index .. ':tags')) do
    redis.call('UNLINK', index .. ':tag:' .. tag)
  end
  redis.call('UNLINK', index .. ':tags')
end
`;

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
 * Deletes one dead job.
 * KEYS: 1 dead, 2 dead index.
 * ARGV: 1 'job' and 2 a job id (through the index), or 1 'entry' and 2 a dead entry id.
 * Returns: 1 deleted, 0 not dead, -1 not in an index that does not cover the stream (scan).
 */
export const FORGET_DEAD_SCRIPT = `${DEAD_INDEX}
local found
if ARGV[1] == 'job' then
  found = deadEntry(KEYS[1], KEYS[2], ARGV[2])
  if found == false then return -1 end
else
  found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])[1]
end
if not found then return 0 end
redis.call('XDEL', KEYS[1], found[1])
unindex(KEYS[2], jobIdOf(found), found[1])
untag(KEYS[2], fieldOf(found, 'g'), jobIdOf(found))
return 1
`;

/**
 * Deletes up to `max` of the oldest dead jobs that died more than `olderThanMs` ago (by Redis's
 * clock: a dead entry's id is the time it was written).
 * KEYS: 1 dead, 2 dead index.
 * ARGV: 1 older than (ms), 2 max.
 * Returns: the number deleted (fewer than max: none older is left).
 */
export const PRUNE_DEAD_SCRIPT = `${NOW}${DEAD_INDEX}
local cutoff = now() - tonumber(ARGV[1])
if cutoff <= 0 then return 0 end
local entries = redis.call('XRANGE', KEYS[1], '-', tostring(cutoff - 1), 'COUNT', tonumber(ARGV[2]))
for _, entry in ipairs(entries) do
  redis.call('XDEL', KEYS[1], entry[1])
  unindex(KEYS[2], jobIdOf(entry), entry[1])
  untag(KEYS[2], fieldOf(entry, 'g'), jobIdOf(entry))
end
return #entries
`;

/**
 * Removes every key of a queue, its groups' and its watch's included (see redis-group-lua.ts and
 * NOTICE in redis-lua.ts), unless (without force) a consumer of its group interacted with Redis
 * within the given window (a worker is reading it). Deduplication marks (`seen:<job id>`) are
 * not listed anywhere: they expire after `dedupeWindowMs`.
 * KEYS: 1 stream, 2 delayed, 3 dead, 4 stats, 5 dead index, 6 started, 7 paused (and the tag
 *       keys of the dead index, in the same hash tag), 8 levels (with its lists `<levels>:-10`
 *       .. `<levels>:10` and `<levels>:woken`).
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
  KEYS[8] .. ':woken')
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
    'rated' }) do
  redis.call('UNLINK', base .. ':g:' .. name)
end
-- What a watch (EventQueues.watch) read: a live watch raises its flag again before its next read.
redis.call('UNLINK', base .. ':watch', base .. ':watching')
return { 1, jobs }
`;

/**
 * A page of the dead jobs with one tag, oldest first, through the tag's sorted set:
 * O(log n + limit) however deep.
 * KEYS: 1 dead, 2 dead index (and the tag's sorted set, in the same hash tag).
 * ARGV: 1 tag, 2 offset, 3 limit, 4 the job to start after ('' = from the first).
 * Returns: { 0, entries } (stream entries { id, fields }), or { -1, {} } when the job to start
 *          after has no dead entry with that tag.
 */
export const LIST_DEAD_TAGGED_SCRIPT = `
local key = KEYS[2] .. ':tag:' .. ARGV[1]
local start = tonumber(ARGV[2])
if ARGV[4] ~= '' then
  local rank = redis.call('ZRANK', key, ARGV[4])
  if not rank then return { -1, {} } end
  start = start + rank + 1
end
local out = {}
for _, job in ipairs(redis.call('ZRANGE', key, start, start + tonumber(ARGV[3]) - 1)) do
  local entry = redis.call('HGET', KEYS[2], job)
  local found = entry and redis.call('XRANGE', KEYS[1], entry, entry)[1]
  if found then out[#out + 1] = found end
end
return { 0, out }
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

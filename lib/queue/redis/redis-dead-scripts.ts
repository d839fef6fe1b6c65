/*
 * The scripts of dead letters: write one, list, retry, forget, prune, purge.
 *
 * Layout: a dead entry in the dead stream keeps what a retry moves (id, l, p, and g, q, ag when
 * set); what only listings read (attempts made, first enqueued, reason, error, stack, failed at)
 * is JSON in the dead info hash under the dead entry's id. Retry all then reads and copies small
 * entries, never an error or a stack. Dead entries written before the info hash carry those as
 * fields a, t, r, e, s, f of their own: every script here reads both shapes.
 */
import { NOW, OWNS, TALLY } from './redis-lua.js';
import { STAGE } from './redis-priority-scripts.js';

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
 * `unlist(index, info, entry)`: drops a deleted dead entry from the index, its tags and the info.
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
local function unlist(index, info, entry)
  unindex(index, jobIdOf(entry), entry[1])
  untag(index, fieldOf(entry, 'g'), jobIdOf(entry))
  redis.call('HDEL', info, entry[1])
end
`;

/**
 * Moves a job to the dead-letter stream, indexed by job id, and by tag when its event has tags
 * (sorted set per tag, see DEAD_INDEX); its failure goes to the dead info hash.
 * KEYS: 1 stream, 2 dead, 3 stats, 4 dead index (and its tag keys, in the same hash tag),
 *       5 dead info.
 * ARGV: 1 group, 2 consumer, 3 entry id, 4 delivery count, 5 attempts made, 6 reason,
 *       7 error message, 8 stack, 9 failed at (ms), 10 '1' to count a failed attempt, 11 tags
 *       joined by newlines ('' = none).
 * Returns: 1 done, 0 stale.
 */
export const DEAD_LETTER_SCRIPT = `${OWNS}${NOW}${TALLY}
if not owns(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
local f = fields(KEYS[1], ARGV[3]) or {}
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if ARGV[10] == '1' then
  redis.call('HINCRBY', KEYS[3], 'failed', 1)
  tally(KEYS[3], 0, 1)
end
local job = f.id or ARGV[3]
local entry = { 'id', job, 'l', f.l or '', 'p', f.p or '' }
local function add(key, value)
  entry[#entry + 1] = key
  entry[#entry + 1] = value
end
-- Its priority level and aging period, so that a retry puts it back where it ran from.
if f.q and (f.q ~= '0' or (f.ag or '0') ~= '0') then
  add('q', f.q)
  add('ag', f.ag or '0')
end
local hasTags = ARGV[11] and ARGV[11] ~= ''
if hasTags then add('g', ARGV[11]) end
local dead = redis.call('XADD', KEYS[2], '*', unpack(entry))
if hasTags then
  local died = tonumber(string.match(dead, '^(%d+)'))
  for tag in string.gmatch(ARGV[11], '[^\\n]+') do
    redis.call('ZADD', KEYS[4] .. ':tag:' .. tag, died, job)
    redis.call('SADD', KEYS[4] .. ':tags', tag)
  end
end
redis.call('HSET', KEYS[4], job, dead)
redis.call('HSET', KEYS[5], dead, cjson.encode({ a = ARGV[5], t = f.t or '0', r = ARGV[6],
  e = ARGV[7], s = ARGV[8], f = ARGV[9] }))
return 1
`;

/**
 * Gives dead jobs a new round of attempts (attempt count from zero), at the stream's tail, and
 * drops them from the dead index, their tags' indexes and the dead info. Everything happens in
 * Redis: a job's fields are copied from its dead entry into a new stream entry, with no round
 * trip per job. A job that died with a priority (fields `q`, `ag`) goes back to its level
 * instead, ready from now (see redis-priority-scripts).
 * KEYS: 1 dead, 2 stream, 3 dead index (and its tag keys, in the same hash tag), 4 priority
 *       levels, 5 dead info.
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
  redis.call('HDEL', KEYS[5], unpack(moved, i, math.min(i + 999, count)))
end
if staged and wasEmpty then wakeLevels(levels, stream) end
return count
`;

/**
 * Deletes the dead-letter stream, its index, its tag indexes and its info without blocking Redis
 * (UNLINK frees memory in the background).
 * KEYS: 1 dead, 2 dead index (and its tag keys, in the same hash tag), 3 dead info.
 * Returns: the number of dead jobs deleted.
 */
export const PURGE_DEAD_SCRIPT = `${DEAD_INDEX}
local length = redis.call('XLEN', KEYS[1])
dropTags(KEYS[2])
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3])
return length
`;

/**
 * Deletes one dead job.
 * KEYS: 1 dead, 2 dead index, 3 dead info.
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
unlist(KEYS[2], KEYS[3], found)
return 1
`;

/**
 * Deletes up to `max` of the oldest dead jobs that died more than `olderThanMs` ago (by Redis's
 * clock: a dead entry's id is the time it was written).
 * KEYS: 1 dead, 2 dead index, 3 dead info.
 * ARGV: 1 older than (ms), 2 max.
 * Returns: the number deleted (fewer than max: none older is left).
 */
export const PRUNE_DEAD_SCRIPT = `${NOW}${DEAD_INDEX}
local cutoff = now() - tonumber(ARGV[1])
if cutoff <= 0 then return 0 end
local entries = redis.call('XRANGE', KEYS[1], '-', tostring(cutoff - 1), 'COUNT', tonumber(ARGV[2]))
for _, entry in ipairs(entries) do
  redis.call('XDEL', KEYS[1], entry[1])
  unlist(KEYS[2], KEYS[3], entry)
end
return #entries
`;

/**
 * Deletes the dead info fields whose dead entry is gone, one HSCAN page per call. An older version
 * of the library knew no info hash: its forget, prune and purge on a shared Redis delete dead
 * entries and leave their info behind. A field whose name is no stream id is left alone.
 * KEYS: 1 dead, 2 dead info.
 * ARGV: 1 HSCAN cursor ('0' to start), 2 HSCAN count.
 * Returns: { next cursor ('0': done), fields deleted }.
 */
export const SWEEP_DEAD_INFO_SCRIPT = `
if redis.call('XLEN', KEYS[1]) == 0 then
  local orphans = redis.call('HLEN', KEYS[2])
  redis.call('UNLINK', KEYS[2])
  return { '0', orphans }
end
local page = redis.call('HSCAN', KEYS[2], ARGV[1], 'COUNT', tonumber(ARGV[2]))
local gone = {}
for i = 1, #page[2], 2 do
  local entry = page[2][i]
  local ok, found = pcall(redis.call, 'XRANGE', KEYS[1], entry, entry)
  if ok and #found == 0 then gone[#gone + 1] = entry end
end
if #gone > 0 then redis.call('HDEL', KEYS[2], unpack(gone)) end
return { page[1], #gone }
`;

/**
 * A page of dead jobs, oldest first, each with its info: O(offset + limit).
 * KEYS: 1 dead, 2 dead info.
 * ARGV: 1 the entry to start from (XRANGE syntax: '-' or '(<entry id>'), 2 offset, 3 limit.
 * Returns: { 0, entries }, each { entry id, fields, info JSON or nil (an older entry) }.
 */
export const LIST_DEAD_SCRIPT = `
local offset = tonumber(ARGV[2])
local page = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', offset + tonumber(ARGV[3]))
local out = {}
for i = offset + 1, #page do
  out[#out + 1] = { page[i][1], page[i][2], redis.call('HGET', KEYS[2], page[i][1]) }
end
return { 0, out }
`;

/**
 * A page of the dead jobs with one tag, oldest first, through the tag's sorted set:
 * O(log n + limit) however deep.
 * KEYS: 1 dead, 2 dead index (and the tag's sorted set, in the same hash tag), 3 dead info.
 * ARGV: 1 tag, 2 offset, 3 limit, 4 the job to start after ('' = from the first).
 * Returns: { 0, entries } (as LIST_DEAD_SCRIPT), or { -1, {} } when the job to start after has
 *          no dead entry with that tag.
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
  if found then out[#out + 1] = { found[1], found[2], redis.call('HGET', KEYS[3], found[1]) } end
end
return { 0, out }
`;

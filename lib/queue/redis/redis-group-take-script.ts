import { GROUP_LUA } from './redis-group-lua.js';
import { NOW } from './redis-lua.js';

/**
 * Takes up to `max` jobs in fair order: round-robin over the groups in the rotation (a group of
 * weight w keeps its turn for w starts), skipping groups that cannot start (they leave the
 * rotation), and moves them to the stream, where the caller's read right after delivers them.
 * The rotation is taken in batches: one LPOP of as many groups as jobs are still wanted, one turn
 * per group in their order, then one RPUSH of those whose turn is over and still have jobs, and
 * one LPUSH (in order) of those whose turn goes on or never came. Nothing else changes the
 * rotation during the call, so this is the order of one LMOVE per turn, in fewer commands.
 * KEYS: 1 rotation list (g:ready), 2 stream.
 * ARGV: 1 base, 2 max, 3 lease (ms).
 * Returns: { jobs moved to the stream, due time of the earliest limited group (ms, string) or
 *            '-1', Redis now (ms) }.
 */
export const GROUP_TAKE_SCRIPT = `${NOW}${GROUP_LUA}
local base, max, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local at = now()
local back = redis.call('ZRANGEBYSCORE', gkey(base, 'limited'), '-inf', at, 'LIMIT', 0, 100)
loadSpecs(base, back)
for _, id in ipairs(back) do enter(base, id, at) end
local taken, budget, paused = 0, max + 100, {}
local creditKey = gkey(base, 'credit')
-- Formatted once: a number argument costs a float formatting per use.
local leaseEnd = tostring(at + lease)
-- One group in the rotation: its turns follow one another (nothing is added to the rotation below).
local isAlone = redis.call('LLEN', KEYS[1]) == 1
local function decoded(raw)
  local ok, job = pcall(cjson.decode, raw)
  if not ok or type(job) ~= 'table' then job = { id = 'unreadable-group-job', p = raw } end
  return job
end
-- The entry's fields: \`g\` (its group) also marks it as taken for a watch; \`a\` (attempts before)
-- only when there were some, as a plain stored job: fewer fields for the worker to decode.
local function toStream(job, id)
  local a = tostring(job.a or '0')
  if a == '0' then
    redis.call('XADD', KEYS[2], '*', 'id', tostring(job.id or ''), 'l', tostring(job.l or ''),
      'p', tostring(job.p or ''), 't', tostring(job.t or '0'), 'g', id)
  else
    redis.call('XADD', KEYS[2], '*', 'id', tostring(job.id or ''), 'l', tostring(job.l or ''),
      'p', tostring(job.p or ''), 'a', a, 't', tostring(job.t or '0'), 'g', id)
  end
end
-- Groups that left the rotation (state and credit cleared at the end, one HDEL each), and groups
-- now limited (one ZADD, one HSET at the end).
local gone, limited, limitedState = {}, {}, {}
-- Slots of the jobs of groups without limits, added once per group (nothing reads them before).
local freeSlots, freeOrder = {}, {}
local function addSlots(id)
  local slots = freeSlots[id]
  if not slots then return end
  redis.call('ZADD', gq(base, id, 'slots'), unpack(slots))
  freeSlots[id] = nil
end
-- Groups left with no job and no slot: dropped at the end, in one dropAll.
local idle = {}
-- Left the rotation with no job (or paused): tidy, without reading again what is known; a group
-- that started a job in this call holds a slot, so it stays.
local function leaveRotation(id, isEmpty)
  gone[#gone + 1] = id
  if freeSlots[id] then return end
  if not isEmpty and redis.call('LLEN', gq(base, id, 'jobs')) > 0 then return end
  if redis.call('ZCARD', gq(base, id, 'slots')) == 0 then idle[#idle + 1] = id end
end
local function startFree(id, job)
  append(freeSlots, freeOrder, id, leaseEnd)
  append(freeSlots, freeOrder, id, tostring(job.id))
  toStream(job, id)
end
-- Where a group goes after \`n\` starts of its turn: its credit counts them, and a turn ends at
-- its weight. Returns 'tail' (turn over), 'head' (turn goes on: no room left in this call).
local function turnEnd(id, weight, credit, n)
  if weight <= 1 then return 'tail' end
  local c = credit
  for _ = 1, n do
    c = c + 1
    if c >= weight then c = 0 end
  end
  if c == 0 then
    if credit > 0 then redis.call('HDEL', creditKey, id) end
    return 'tail'
  end
  redis.call('HSET', creditKey, id, c)
  return 'head'
end
-- One group's turn: its starts (up to its weight less its credit, all that is wanted when it is
-- alone). Returns 'tail', 'head', or nil when it left the rotation.
local function turn(id)
  local jobs = gq(base, id, 'jobs')
  if paused[id] == nil then paused[id] = isPaused(base, id) end
  if paused[id] then return leaveRotation(id, false) end
  local weight = meta(base, id, 'w')
  local credit = 0
  if weight > 1 then credit = tonumber(redis.call('HGET', creditKey, id) or '0') or 0 end
  local want = max - taken
  if not isAlone then want = math.min(want, math.max(1, weight - credit)) end
  if meta(base, id, 'c') <= 0 and meta(base, id, 'rm') <= 0 then
    -- No concurrency or rate limit: it starts its head whatever it holds, so pop them at once;
    -- fewer than asked means it emptied. All that were asked: it stays in the rotation without
    -- an LLEN per turn (most groups of a busy queue have more), and a turn that finds it empty
    -- takes it out (the group's emptiness costs one LPOP, once).
    local run = redis.call('LPOP', jobs, want)
    if not run then return leaveRotation(id, true) end
    for _, item in ipairs(run) do startFree(id, decoded(item)) end
    taken = taken + #run
    if #run < want then return leaveRotation(id, true) end
    return turnEnd(id, weight, credit, #run)
  end
  local n = 0
  while n < want do
    local raw = redis.call('LINDEX', jobs, 0)
    if not raw then return leaveRotation(id, true) end
    local job = decoded(raw)
    local untilAt = nil
    if job.s ~= '1' then untilAt = fullUntil(base, id, at) end
    local rate = rateUntil(base, id, at)
    if rate and (not untilAt or rate > untilAt) then untilAt = rate end
    if untilAt then
      limited[#limited + 1] = untilAt
      limited[#limited + 1] = id
      limitedState[#limitedState + 1] = id
      limitedState[#limitedState + 1] = 'l'
      redis.call('HDEL', creditKey, id)
      return nil
    end
    redis.call('LPOP', jobs)
    redis.call('ZADD', gq(base, id, 'slots'), leaseEnd, tostring(job.id))
    recordStart(base, id, at)
    toStream(job, id)
    taken = taken + 1
    n = n + 1
    if redis.call('LLEN', jobs) == 0 then return leaveRotation(id, true) end
  end
  return turnEnd(id, weight, credit, n)
end
while taken < max and budget > 0 do
  local ids = redis.call('LPOP', KEYS[1], math.min(max - taken, budget))
  if not ids then break end
  budget = budget - #ids
  loadSpecs(base, ids)
  local tail, head = {}, {}
  for _, id in ipairs(ids) do
    -- A group whose turn never came keeps its place, after one whose turn goes on.
    local place = 'head'
    if taken < max then place = turn(id) end
    if place == 'tail' then tail[#tail + 1] = id
    elseif place == 'head' then head[#head + 1] = id end
  end
  batched('RPUSH', KEYS[1], tail)
  local reversed = {}
  for i = #head, 1, -1 do reversed[#reversed + 1] = head[i] end
  batched('LPUSH', KEYS[1], reversed)
end
dropAll(base, idle)
batched('HDEL', gkey(base, 'state'), gone)
batched('HDEL', creditKey, gone)
batched('ZADD', gkey(base, 'limited'), limited)
batched('HSET', gkey(base, 'state'), limitedState)
for _, id in ipairs(freeOrder) do addSlots(id) end
if taken > 0 then redis.call('DECRBY', gkey(base, 'waiting'), taken) end
-- Other workers may take the rest: pass the wake token on.
if redis.call('LLEN', KEYS[1]) > 0 then wake(base) end
local first = redis.call('ZRANGE', gkey(base, 'limited'), 0, 0, 'WITHSCORES')
return { taken, first[2] or '-1', at }
`;

import { APPEND, NOTICE } from './redis-lua.js';
/*
 * Lua helpers of the group scripts (prepended to a script's text, after NOW). The keys of a
 * queue's groups share its hash tag; a script derives them from the queue's base (`prefix:{tag}`),
 * all in the slot of the key it was called with.
 *
 * Per queue: `g:ready` list (the rotation: groups that can start a job, the head's turn; a group
 * without limits whose last job a take started stays until a turn finds it empty),
 * `g:limited` zset (groups over their rate limit or with every slot held, scored by when to look
 * again), `g:state` hash (group -> 'r' in the rotation, 'l' in limited; absent: neither),
 * `g:credit` hash (starts in the current turn), `g:paused` set, `g:index` zset (groups with jobs,
 * slots or a pause, by id), `g:waiting` counter, `g:wake` list (one token wakes a blocked reader).
 * Per group: `gq:<id>:jobs` list of JSON {id, l, p, a, t, s, r} (s '1': holds a slot already;
 * r: ready since, ms),
 * `gq:<id>:slots` zset (job id -> lease end, ms), `gq:<id>:starts` list (recent start times, rate
 * limited groups). Specs: `g:specs` hash (group -> 'w:c:rm:rd': weight, concurrency, rate max
 * and window), so that a take reads those of a batch of groups in one HMGET. A group stored by
 * an earlier release has its spec in `gq:<id>:meta` (hash w, c, rm, rd): read there when
 * `g:specs` has none, deleted with the group. A group with limits or a weight has it written
 * there too, for workers of the earlier release during a rolling deploy.
 * A start list outlives its group's other keys (it still counts for the window), so `g:rated`
 * (zset: group -> when its start list expires, ms) names them for obliterate.
 */
export const GROUP_LUA = `${NOTICE}${APPEND}
local function gkey(base, s) return base .. ':g:' .. s end
local function gq(base, id, s) return base .. ':gq:' .. id .. ':' .. s end
-- One command with the items of \`list\` as its last arguments, in chunks that unpack can carry
-- (an even size: pairs stay whole); nothing when the list is empty.
local function batched(command, key, list)
  for i = 1, #list, 1000 do
    redis.call(command, key, unpack(list, i, math.min(i + 999, #list)))
  end
end
-- Groups' specs, read once per script call (only pushGroupJob changes them, and it updates what
-- was read); all calls of a script use one base. false: the group has no spec.
local specs = {}
local function parseSpec(v)
  local w, c, rm, rd = string.match(v, '^([^:]*):([^:]*):([^:]*):(.*)$')
  return { w = tonumber(w) or 0, c = tonumber(c) or 0, rm = tonumber(rm) or 0, rd = tonumber(rd) or 0 }
end
-- The spec an earlier release kept in the group's own hash (false: none).
local function oldSpec(base, id)
  local v = redis.call('HMGET', gq(base, id, 'meta'), 'w', 'c', 'rm', 'rd')
  if not (v[1] or v[2] or v[3] or v[4]) then return false end
  return { w = tonumber(v[1] or '0') or 0, c = tonumber(v[2] or '0') or 0,
    rm = tonumber(v[3] or '0') or 0, rd = tonumber(v[4] or '0') or 0 }
end
-- Reads the specs of \`ids\` not read yet, in one HMGET (chunked as \`batched\` does).
local function loadSpecs(base, ids)
  local missing = {}
  for _, id in ipairs(ids) do
    if specs[id] == nil then missing[#missing + 1] = id end
  end
  for i = 1, #missing, 1000 do
    local last = math.min(i + 999, #missing)
    local part = redis.call('HMGET', gkey(base, 'specs'), unpack(missing, i, last))
    for k = i, last do
      local v = part[k - i + 1]
      if v then specs[missing[k]] = parseSpec(v) else specs[missing[k]] = oldSpec(base, missing[k]) end
    end
  end
end
local NO_SPEC = { w = 0, c = 0, rm = 0, rd = 0 }
local function spec(base, id)
  if specs[id] == nil then loadSpecs(base, { id }) end
  return specs[id]
end
local function meta(base, id, field)
  return (spec(base, id) or NO_SPEC)[field]
end
-- Whether a group is paused: SISMEMBER only when the queue has a paused group (SCARD once per
-- script call; the pause script changes the set before its first lookup).
local pausedCount = {}
local function isPaused(base, id)
  local n = pausedCount[base]
  if n == nil then
    n = redis.call('SCARD', gkey(base, 'paused'))
    pausedCount[base] = n
  end
  return n > 0 and redis.call('SISMEMBER', gkey(base, 'paused'), id) == 1
end
local function wake(base)
  local key = gkey(base, 'wake')
  if redis.call('LLEN', key) == 0 then redis.call('RPUSH', key, '1') end
end
-- When every slot is held: when the first lease ends; nil when a slot is free.
local function fullUntil(base, id, at)
  local c = meta(base, id, 'c')
  if c <= 0 then return nil end
  local slots = gq(base, id, 'slots')
  redis.call('ZREMRANGEBYSCORE', slots, '-inf', at)
  if redis.call('ZCARD', slots) < c then return nil end
  return tonumber(redis.call('ZRANGE', slots, 0, 0, 'WITHSCORES')[2])
end
-- Over its rate limit: when it may start again; nil when it may start now.
local function rateUntil(base, id, at)
  local rm = meta(base, id, 'rm')
  if rm <= 0 then return nil end
  local starts = gq(base, id, 'starts')
  if redis.call('LLEN', starts) < rm then return nil end
  local oldest = tonumber(redis.call('LINDEX', starts, 0))
  local free = oldest + meta(base, id, 'rd')
  if free <= at then return nil end
  return free
end
-- Notes a start of a rate-limited group. The index of start lists drops the expired ones as
-- it goes and expires with the last of them, so it never outgrows the window.
local function recordStart(base, id, at)
  local rm = meta(base, id, 'rm')
  if rm <= 0 then return end
  local rd = meta(base, id, 'rd')
  local starts = gq(base, id, 'starts')
  redis.call('RPUSH', starts, at)
  redis.call('LTRIM', starts, -rm, -1)
  redis.call('PEXPIRE', starts, rd)
  local rated = gkey(base, 'rated')
  redis.call('ZREMRANGEBYSCORE', rated, '-inf', at)
  redis.call('ZADD', rated, at + rd, id)
  if redis.call('PTTL', rated) < rd then redis.call('PEXPIRE', rated, rd) end
end
local function headHoldsSlot(base, id)
  local raw = redis.call('LINDEX', gq(base, id, 'jobs'), 0)
  if not raw then return false end
  local ok, job = pcall(cjson.decode, raw)
  return ok and type(job) == 'table' and job.s == '1'
end
-- Leaves the rotation and limited (state cleared); the caller decides where it goes. \`known\`:
-- its state when the caller just read it (false: none).
local function leave(base, id, known)
  local state = known
  if state == nil then state = redis.call('HGET', gkey(base, 'state'), id) end
  -- Neither in the rotation nor limited: no state, and no credit (it goes with the rotation).
  if not state then return end
  if state == 'r' then redis.call('LREM', gkey(base, 'ready'), 1, id)
  elseif state == 'l' then redis.call('ZREM', gkey(base, 'limited'), id) end
  redis.call('HDEL', gkey(base, 'state'), id)
  redis.call('HDEL', gkey(base, 'credit'), id)
end
-- Drops the spec and index entry of a group out of the rotation with no job and no slot.
local function drop(base, id)
  redis.call('HDEL', gkey(base, 'specs'), id)
  redis.call('DEL', gq(base, id, 'meta'))
  specs[id] = nil
  if not isPaused(base, id) then
    redis.call('ZREM', gkey(base, 'index'), id)
  end
end
-- drop() for many groups: their specs in one HDEL (and one DEL of those an earlier release
-- kept), their index entries in one ZREM.
local function dropAll(base, ids)
  local old, unindexed = {}, {}
  for _, id in ipairs(ids) do
    old[#old + 1] = gq(base, id, 'meta')
    specs[id] = nil
    if not isPaused(base, id) then unindexed[#unindexed + 1] = id end
  end
  batched('HDEL', gkey(base, 'specs'), ids)
  for i = 1, #old, 1000 do
    redis.call('DEL', unpack(old, i, math.min(i + 999, #old)))
  end
  batched('ZREM', gkey(base, 'index'), unindexed)
end
-- Drops an empty group's keys: memory returns to baseline when groups empty.
local function tidy(base, id)
  if redis.call('LLEN', gq(base, id, 'jobs')) > 0 then return end
  if redis.call('ZCARD', gq(base, id, 'slots')) > 0 then return end
  leave(base, id)
  drop(base, id)
end
-- Puts a group where it belongs: the rotation when it can start a job, else limited (until its
-- limit or first lease ends), else nowhere (empty or paused).
local function enter(base, id, at)
  local state = redis.call('HGET', gkey(base, 'state'), id)
  if state == 'r' then return end
  if state == 'l' then leave(base, id) end
  if redis.call('LLEN', gq(base, id, 'jobs')) == 0 then return end
  if isPaused(base, id) then return end
  local untilAt = nil
  if not headHoldsSlot(base, id) then untilAt = fullUntil(base, id, at) end
  local rate = rateUntil(base, id, at)
  if rate and (not untilAt or rate > untilAt) then untilAt = rate end
  if untilAt then
    redis.call('ZADD', gkey(base, 'limited'), untilAt, id)
    redis.call('HSET', gkey(base, 'state'), id, 'l')
    return
  end
  redis.call('RPUSH', gkey(base, 'ready'), id)
  redis.call('HSET', gkey(base, 'state'), id, 'r')
  wake(base)
end
-- Grouped jobs' attempts ended: frees their slots and puts their groups back in the rotation
-- when they can start again (or drops their keys when they are empty). \`list\`: group id, job
-- id, ... from index \`from\` (every \`step\` values; group id '': none); one ZREM per group.
local function free(base, list, from, step, at)
  local byGroup, order = {}, {}
  for i = from, #list, step do
    if list[i] ~= '' then append(byGroup, order, list[i], list[i + 1]) end
  end
  -- Their states in one HMGET (chunked as \`batched\` does).
  local states = {}
  for i = 1, #order, 1000 do
    local part = redis.call('HMGET', gkey(base, 'state'), unpack(order, i, math.min(i + 999, #order)))
    for _, state in ipairs(part) do states[#states + 1] = state end
  end
  local idle = {}
  for i, id in ipairs(order) do
    redis.call('ZREM', gq(base, id, 'slots'), unpack(byGroup[id]))
    local state = states[i]
    -- In the rotation: it may start jobs (a take that finds it empty drops it).
    if state ~= 'r' then
      if redis.call('LLEN', gq(base, id, 'jobs')) > 0 then
        enter(base, id, at)
      else
        -- Empty: tidy, without reading again what was just read.
        leave(base, id, state)
        if redis.call('ZCARD', gq(base, id, 'slots')) == 0 then idle[#idle + 1] = id end
      end
    end
  end
  dropAll(base, idle)
end
-- Stores a ready job in its group (spec fields from a member or ARGV), at the head or the tail.
local function pushGroupJob(base, id, job, given, atHead)
  if given then
    local v = (given.w or '1') .. ':' .. (given.c or '0') .. ':' .. (given.rm or '0') .. ':'
      .. (given.rd or '0')
    redis.call('HSET', gkey(base, 'specs'), id, v)
    specs[id] = parseSpec(v)
    -- A group with limits or a weight also keeps them where a worker of the earlier release
    -- reads them (\`gq:<id>:meta\`): in a rolling deploy it would otherwise take the group as
    -- unlimited (serial groups out of order). Unlimited groups, the common case, pay nothing.
    if v ~= '1:0:0:0' then
      redis.call('HSET', gq(base, id, 'meta'), 'w', given.w or '1', 'c', given.c or '0',
        'rm', given.rm or '0', 'rd', given.rd or '0')
    end
  end
  -- r: when it became ready (oldest waiting age); a job put back at the head keeps its own.
  if not (atHead and job.r) then job.r = tostring(now()) end
  local member = cjson.encode(job)
  if atHead then redis.call('LPUSH', gq(base, id, 'jobs'), member)
  else redis.call('RPUSH', gq(base, id, 'jobs'), member) end
  notice(base, member)
  redis.call('INCR', gkey(base, 'waiting'))
  redis.call('ZADD', gkey(base, 'index'), 0, id)
  enter(base, id, now())
end
-- A delayed member of a grouped job: its group and spec, kept through the delay.
local function groupMember(f, id, a, holds, base)
  local m = { id = f.id or id, l = f.l or '', p = f.p or '', a = a, t = f.t or '0', g = f.g }
  local known = spec(base, f.g)
  if known then
    m.gw, m.gc, m.grm, m.grd = tostring(known.w), tostring(known.c), tostring(known.rm),
      tostring(known.rd)
  end
  if holds then m.s = '1' end
  return m
end
`;

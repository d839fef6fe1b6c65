import { CONSUMER_GROUP } from './redis-keys.js';
import { APPEND, NOTICE, NOW } from './redis-lua.js';

/*
 * Priorities on Redis. A job of priority 0 goes to the queue's stream as always, so a queue that
 * never sees another priority runs exactly as before. A job of another priority waits in the
 * list of its level (`<levels>:<n>`, JSON {id, l, p, a, t, q, ag, r}), and the sorted set
 * `<levels>` holds the levels whose list is not empty. The take script moves the best jobs into
 * the stream and delivers them there through the consumer group (see TAKE_SCRIPT), so a
 * delivered job is a pending stream entry like any other: visibility timeout, reclaim,
 * heartbeats, receipts and dead letters do not change. While any level is staged, the stream's
 * undelivered entries (priority 0) are moved to level 0 first, so nothing jumps ahead of a
 * higher job.
 * Staging jobs into empty levels adds one wake-up entry (field `w`) to the stream, at most one at
 * a time (flag `<levels>:woken`), so that a reader blocked on the stream looks again.
 * Every key a script builds from `<levels>` shares the queue's hash tag (one cluster slot).
 */

/**
 * `stage(levels, job, at)`: puts a job (a table of strings; `q` its level) at the tail of its
 * level's list, ready since `at` (ms); `stageEncoded(levels, level, json, at)` the same for a
 * job already in JSON (without `r`), and `stageJson(levels, level, member)` for a complete
 * member: these two only collect, in order, and `flushStaged()` appends what they collected
 * (one RPUSH per level list), which a script calls before anything reads the levels again.
 * `restage(levels, entry)`: a stream entry back to its level (a wake-up entry is dropped).
 * `sweep(levels, stream, consumer)`: every undelivered entry of the stream back to its level
 * (every entry while the stream has no consumer group yet: jobs emitted before any worker created
 * it would otherwise stay ahead of the wake-up entry, and be staged behind later jobs of their
 * level when a worker takes). `wakeLevels(levels, stream)`: unless a wake-up entry is there
 * already, sweeps, then adds one, so that it is the first entry a plain read meets. Called when
 * a script staged jobs into levels that were empty before it: while levels hold jobs, new
 * priority-0 jobs wait in level 0 too (add script), readers take through the take script, and a
 * reader of another process that still reads the stream learns it at its next promote check
 * (within a second), with nothing in the stream to take meanwhile.
 */
export const STAGE = `${NOTICE}${APPEND}
local function push(levels, level, member, quiet)
  -- The set lists a level exactly while its list holds jobs.
  if redis.call('RPUSH', levels .. ':' .. level, member) == 1 then
    redis.call('ZADD', levels, tonumber(level), level)
  end
  -- A job entering (not one moved back from the stream, which a watch saw there).
  if not quiet then notice(string.sub(levels, 1, -8), member) end
end
local function stage(levels, job, at, quiet)
  local level = tostring(tonumber(job.q) or 0)
  job.q = level
  job.r = tostring(at)
  push(levels, level, cjson.encode(job), quiet)
end
-- Members a script stages in bulk, appended at flushStaged(): one RPUSH per level list and call
-- rather than one per job. By levels key: the queue's base (for notice) and, per level, its
-- members.
local stagedLater = {}
local function stageJson(levels, level, member)
  local byLevel = stagedLater[levels]
  if byLevel == nil then
    byLevel = { base = string.sub(levels, 1, -8), lists = {}, order = {} }
    stagedLater[levels] = byLevel
  end
  append(byLevel.lists, byLevel.order, level, member)
  notice(byLevel.base, member)
end
local function stageEncoded(levels, level, json, at)
  -- JSON written by the process, ending with '}': its ready time appended, no decoding.
  stageJson(levels, level, string.sub(json, 1, -2) .. ',"r":"' .. at .. '"}')
end
local function flushStaged()
  for levels, byLevel in pairs(stagedLater) do
    for _, level in ipairs(byLevel.order) do
      local members, key = byLevel.lists[level], levels .. ':' .. level
      -- In chunks (unpack has a limit); a list that was empty joins the set of levels.
      for from = 1, #members, 1000 do
        local to = math.min(#members, from + 999)
        if redis.call('RPUSH', key, unpack(members, from, to)) == to - from + 1 then
          redis.call('ZADD', levels, tonumber(level), level)
        end
      end
    end
  end
  stagedLater = {}
end
local function restage(levels, entry)
  local raw, f = entry[2] or {}, {}
  for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
  if f.w ~= nil then
    redis.call('DEL', levels .. ':woken')
    return
  end
  local ready = tonumber(string.match(entry[1], '^(%d+)'))
  if f.j ~= nil then
    -- Taken from its level before (see TAKE_SCRIPT): back there, ready since it first was.
    local ok, job = pcall(cjson.decode, f.j)
    if ok and type(job) == 'table' then
      f = { id = job.id, l = job.l, p = job.p, a = job.a, t = job.t, q = job.q, ag = job.ag }
      ready = tonumber(job.r) or ready
    else
      f = { p = f.j }
    end
  end
  stage(levels, { id = f.id or entry[1], l = f.l or '', p = f.p or '', a = f.a or '0',
    t = f.t or '0', q = f.q or '0', ag = f.ag }, ready, true)
end
local function sweepUngrouped(levels, stream)
  -- No consumer group yet (no worker of the queue created it, or Redis lost it): no entry was
  -- delivered, and the group will be created from the stream's start, so every entry waits.
  while true do
    local entries = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1000)
    if not entries[1] then return end
    local ids = {}
    for _, e in ipairs(entries) do
      restage(levels, e)
      ids[#ids + 1] = e[1]
    end
    redis.call('XDEL', stream, unpack(ids))
  end
end
local function sweep(levels, stream, consumer)
  while true do
    local reply = redis.pcall('XREADGROUP', 'GROUP', '${CONSUMER_GROUP}', consumer, 'COUNT', 1000,
      'STREAMS', stream, '>')
    if type(reply) == 'table' and reply.err and string.find(reply.err, 'NOGROUP', 1, true) then
      return sweepUngrouped(levels, stream)
    end
    if type(reply) ~= 'table' or reply.err or not reply[1] then return end
    local ids = {}
    for _, e in ipairs(reply[1][2]) do
      restage(levels, e)
      ids[#ids + 1] = e[1]
    end
    redis.call('XACK', stream, '${CONSUMER_GROUP}', unpack(ids))
    redis.call('XDEL', stream, unpack(ids))
    if #ids < 1000 then return end
  end
end
local function wakeLevels(levels, stream)
  if redis.call('EXISTS', levels .. ':woken') == 1 then return end
  -- The wake-up entry must come before any job a reader could take in stream order.
  sweep(levels, stream, 'priority-sweep')
  -- No trace of that consumer: it holds nothing, and would look like a reading worker.
  redis.pcall('XGROUP', 'DELCONSUMER', stream, '${CONSUMER_GROUP}', 'priority-sweep')
  redis.call('SET', levels .. ':woken', '1')
  redis.call('XADD', stream, '*', 'w', '1')
end
`;

/**
 * Takes up to `most` jobs in priority order: highest level first (a job with `g` > 0 is lifted
 * one level per `g` ms it has waited, up to 10), then the longest ready, adds them to the stream
 * and delivers them to `consumer` there (XCLAIM ... FORCE: pending for it with one delivery, the
 * group's last delivered id moved past them), as a read by it would have, so a delivered job is a
 * pending stream entry like any other: visibility timeout, reclaim, heartbeats, receipts and dead
 * letters do not change. They come back as the script's reply, flat (no read after it, so no
 * MULTI around the two; the caller had one per take). With no level staged nothing is taken: the
 * caller then reads the stream as without priorities. A taken job's entry is one field, `j`: its
 * member as the level held it (JSON {id, l, p, a, t, q, ag, r}), which is also how a watch knows
 * it was reported already. Entries written before (fields id, l, p, a, t, q, ag, m) read the same.
 * KEYS: 1 stream, 2 levels.
 * ARGV: 1 group, 2 consumer, 3 most jobs, then entry ids a read just delivered to this consumer
 *       from a wake-up entry on: taken back to their levels first (in order).
 * Returns: { staged levels left, jobs delivered, then per job its entry id and its member }.
 */
export const TAKE_SCRIPT = `${NOW}${STAGE}
local stream, levels, group, consumer = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local most = tonumber(ARGV[3])
local function drop(ids)
  if #ids == 0 then return end
  redis.call('XACK', stream, group, unpack(ids))
  redis.call('XDEL', stream, unpack(ids))
end
local back = {}
for i = 4, #ARGV do
  local found = redis.call('XRANGE', stream, ARGV[i], ARGV[i])
  if found[1] then restage(levels, found[1]) end
  back[#back + 1] = ARGV[i]
end
drop(back)
-- Nothing staged: nothing taken; the caller reads the stream in order, as without priorities.
if redis.call('ZCARD', levels) == 0 then return { 0, 0 } end
sweep(levels, stream, consumer)
local at = now()
local names = redis.call('ZREVRANGE', levels, 0, -1)
local heads = {}
-- The head of each level: its ready time \`r\` and aging period \`ag\` decide the order, read
-- without decoding the whole job: in a level's JSON (a flat object of strings) an unescaped
-- '"r":"' is that key, never text inside a value. A head without them counts as ready now.
local raws = {}
local function head(level)
  local raw = redis.call('LINDEX', levels .. ':' .. level, 0)
  raws[level] = raw
  if not raw then return nil end
  return { r = string.match(raw, '"r":"(%d+)"'), ag = string.match(raw, '"ag":"(%d+)"') }
end
for _, level in ipairs(names) do heads[level] = head(level) end
local delivered, out, ids = 0, { 0, 0 }, {}
while delivered < most do
  local best, top, since = nil, 0, 0
  for _, level in ipairs(names) do
    local job = heads[level]
    if job then
      local lvl, r, g = tonumber(level), tonumber(job.r) or at, tonumber(job.ag) or 0
      if g > 0 and at - r >= g then lvl = math.min(10, lvl + math.floor((at - r) / g)) end
      if best == nil or lvl > top or (lvl == top and r < since) then
        best, top, since = level, lvl, r
      end
    end
  end
  if best == nil then break end
  -- Without aging at the head of another level, the best level stays best until it is empty:
  -- its jobs go in one LPOP. Otherwise one job, and the heads are compared again.
  local isAging = false
  for _, level in ipairs(names) do
    if level ~= best and heads[level] and (tonumber(heads[level].ag) or 0) > 0 then
      isAging = true
    end
  end
  local list, batch = levels .. ':' .. best, { raws[best] }
  if isAging or most - delivered == 1 then
    redis.call('LPOP', list)
  else
    batch = redis.call('LPOP', list, most - delivered)
  end
  -- Each job moves as stored, one field \`j\` (readers decode it; see toJob, fields()): no
  -- decoding and no fields to rebuild here.
  for _, raw in ipairs(batch) do
    local id = redis.call('XADD', stream, '*', 'j', raw)
    ids[#ids + 1] = id
    out[#out + 1] = id
    out[#out + 1] = raw
  end
  delivered = delivered + #batch
  heads[best] = head(best)
  if not heads[best] then redis.call('ZREM', levels, best) end
end
-- Every undelivered entry was moved out above, so the jobs just added are the only entries past
-- the group's last delivered id: claimed, with it moved to the last of them, the group holds
-- what a read of them by this consumer would have left (in chunks: unpack has a limit).
for from = 1, #ids, 1000 do
  local to = math.min(#ids, from + 999)
  local claim = { 'XCLAIM', stream, group, consumer, 0 }
  for i = from, to do claim[#claim + 1] = ids[i] end
  for _, word in ipairs({ 'RETRYCOUNT', 1, 'FORCE', 'JUSTID', 'LASTID', ids[to] }) do
    claim[#claim + 1] = word
  end
  redis.call(unpack(claim))
end
out[1], out[2] = redis.call('ZCARD', levels), delivered
return out
`;

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
 * Takes up to `max` jobs in fair order: round-robin over the groups in the rotation (a group of
 * weight w keeps its turn for w starts), skipping groups that cannot start (they leave the
 * rotation), then reads them (and any other new entry, up to `max`) for this consumer.
 * KEYS: 1 rotation list (g:ready), 2 stream.
 * ARGV: 1 base, 2 consumer group, 3 consumer, 4 max, 5 lease (ms).
 * Returns: { entries as XREADGROUP gives them ({ {id, fields}... }), due time of the earliest
 *            limited group (ms, string) or '-1', Redis now (ms) }.
 */
export const GROUP_TAKE_SCRIPT = `${NOW}${GROUP_LUA}
local base, max, lease = ARGV[1], tonumber(ARGV[4]), tonumber(ARGV[5])
local at = now()
local back = redis.call('ZRANGEBYSCORE', gkey(base, 'limited'), '-inf', at, 'LIMIT', 0, 100)
for _, id in ipairs(back) do enter(base, id, at) end
local taken, budget, paused = 0, max + 100, {}
-- One group in the rotation: its turns follow one another (nothing is added to the rotation below).
local isAlone = redis.call('LLEN', KEYS[1]) == 1
local function decoded(raw)
  local ok, job = pcall(cjson.decode, raw)
  if not ok or type(job) ~= 'table' then job = { id = 'unreadable-group-job', p = raw } end
  return job
end
local function toStream(job, id)
  redis.call('XADD', KEYS[2], '*', 'id', tostring(job.id or ''), 'l', tostring(job.l or ''),
    'p', tostring(job.p or ''), 'a', tostring(job.a or '0'), 't', tostring(job.t or '0'),
    'g', id, 'm', '1')
end
local function leaveRotation(id)
  redis.call('RPOP', KEYS[1])
  redis.call('HDEL', gkey(base, 'state'), id)
  redis.call('HDEL', gkey(base, 'credit'), id)
end
-- Slots of the jobs of groups without limits, added once per group (nothing reads them before).
local freeSlots, freeOrder = {}, {}
local function addSlots(id)
  local slots = freeSlots[id]
  if not slots then return end
  redis.call('ZADD', gq(base, id, 'slots'), unpack(slots))
  freeSlots[id] = nil
end
while taken < max and budget > 0 do
  budget = budget - 1
  -- The head's turn: it moves to the tail at once, goes back to the head while it keeps credit
  -- (weight > 1), and leaves from the tail when it cannot start or empties.
  local id = redis.call('LMOVE', KEYS[1], KEYS[1], 'LEFT', 'RIGHT')
  if not id then break end
  local jobs = gq(base, id, 'jobs')
  if paused[id] == nil then paused[id] = isPaused(base, id) end
  -- A group without a concurrency or rate limit starts its head whatever it holds: pop it at once.
  local isFree = not paused[id] and meta(base, id, 'c') <= 0 and meta(base, id, 'rm') <= 0
  local raw, run
  if isFree and isAlone and meta(base, id, 'w') <= 1 then
    -- Alone and free: every turn up to \`max\` is its own, so its jobs are popped in one call.
    run = redis.call('LPOP', jobs, max - taken)
    raw = run and run[1]
  elseif isFree then raw = redis.call('LPOP', jobs)
  else raw = redis.call('LINDEX', jobs, 0) end
  if not raw or paused[id] then
    leaveRotation(id)
    addSlots(id)
    tidy(base, id)
  elseif run then
    for _, item in ipairs(run) do
      local job = decoded(item)
      append(freeSlots, freeOrder, id, at + lease)
      append(freeSlots, freeOrder, id, tostring(job.id))
      toStream(job, id)
    end
    taken = taken + #run
    if taken < max or redis.call('LLEN', jobs) == 0 then leaveRotation(id) end
  else
    local job = decoded(raw)
    local untilAt = nil
    if not isFree then
      if job.s ~= '1' then untilAt = fullUntil(base, id, at) end
      local rate = rateUntil(base, id, at)
      if rate and (not untilAt or rate > untilAt) then untilAt = rate end
    end
    if untilAt then
      redis.call('RPOP', KEYS[1])
      redis.call('HDEL', gkey(base, 'credit'), id)
      redis.call('ZADD', gkey(base, 'limited'), untilAt, id)
      redis.call('HSET', gkey(base, 'state'), id, 'l')
    else
      if isFree then
        append(freeSlots, freeOrder, id, at + lease)
        append(freeSlots, freeOrder, id, tostring(job.id))
      else
        redis.call('LPOP', jobs)
        redis.call('ZADD', gq(base, id, 'slots'), at + lease, tostring(job.id))
      end
      recordStart(base, id, at)
      toStream(job, id)
      taken = taken + 1
      local weight = meta(base, id, 'w')
      if redis.call('LLEN', jobs) == 0 then
        leaveRotation(id)
      elseif weight > 1 then
        -- Weight 1 has one start per turn (already moved on): no credit to keep.
        if redis.call('HINCRBY', gkey(base, 'credit'), id, 1) >= weight then
          redis.call('HDEL', gkey(base, 'credit'), id)
        else
          redis.call('LMOVE', KEYS[1], KEYS[1], 'RIGHT', 'LEFT')
        end
      end
    end
  end
end
for _, id in ipairs(freeOrder) do addSlots(id) end
if taken > 0 then redis.call('DECRBY', gkey(base, 'waiting'), taken) end
local read = redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', max, 'STREAMS',
  KEYS[2], '>')
local entries = {}
if read and read[1] then entries = read[1][2] end
-- Other workers may take the rest: pass the wake token on.
if redis.call('LLEN', KEYS[1]) > 0 then wake(base) end
local first = redis.call('ZRANGE', gkey(base, 'limited'), 0, 0, 'WITHSCORES')
return { entries, first[2] or '-1', at }
`;

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

import { GROUP_LUA } from './redis-group-lua.js';
import { NOW } from './redis-lua.js';
import { STAGE } from './redis-priority-scripts.js';

/* The scripts that bring jobs to workers: delayed jobs, their promotion, reclaims. */

/**
 * Stores one delayed job, due after a delay counted on Redis's clock.
 * KEYS: 1 delayed.
 * ARGV: 1 delay (ms), 2 member (JSON {id, l, p, a, t}).
 * Returns: 1.
 */
export const DELAY_SCRIPT = `${NOW}
redis.call('ZADD', KEYS[1], now() + tonumber(ARGV[1]), ARGV[2])
return 1
`;

/**
 * Moves due delayed jobs to the stream's tail, in due order; "due" on Redis's clock. A grouped
 * job (member with \`g\`) goes to its group instead: at its head when it holds a slot (a retry
 * of a group with \`groupConcurrency\`), else at its tail. A job of a priority other than 0
 * (\`q\`) goes to its level (see redis-priority-scripts).
 * KEYS: 1 delayed, 2 stream, 3 priority levels.
 * ARGV: 1 most jobs to move.
 * Returns: { jobs moved, due time (ms, as a string) of the next delayed job or -1, Redis now (ms),
 *            number of priority levels holding jobs }.
 */
export const PROMOTE_SCRIPT = `${NOW}${GROUP_LUA}${STAGE}
local at = now()
local base = string.sub(KEYS[2], 1, #KEYS[2] - 7)
local staged = false
local wasEmpty = redis.call('EXISTS', KEYS[3]) == 0
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', at, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  local ok, job = pcall(cjson.decode, member)
  if ok and type(job) == 'table' and job.g then
    local spec = nil
    if job.gw then spec = { w = job.gw, c = job.gc, rm = job.grm, rd = job.grd } end
    pushGroupJob(base, tostring(job.g), { id = job.id, l = job.l, p = job.p, a = job.a, t = job.t,
      s = job.s }, spec, job.s == '1')
  elseif ok and type(job) == 'table' and job.q and (tostring(job.q) ~= '0' or tostring(job.ag) ~= '0') then
    stage(KEYS[3], job, at)
    staged = true
  elseif ok and type(job) == 'table' then
    redis.call('XADD', KEYS[2], '*', 'id', tostring(job.id or ''), 'l', tostring(job.l or ''),
      'p', tostring(job.p or ''), 'a', tostring(job.a or '0'), 't', tostring(job.t or '0'))
  else
    -- Unreadable: still moved, so that a worker dead-letters it with a reason.
    redis.call('XADD', KEYS[2], '*', 'id', 'unreadable-delayed-job', 'l', '', 'p', member)
  end
  redis.call('ZREM', KEYS[1], member)
end
if staged and wasEmpty then wakeLevels(KEYS[3], KEYS[2]) end
local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { #due, nextDue[2] or '-1', at, redis.call('ZCARD', KEYS[3]) }
`;

/**
 * Takes over jobs other consumers left pending longer than the visibility timeout (their worker
 * died or froze); XCLAIM counts a delivery, so the reclaim counts as an attempt. Never takes this
 * consumer's own entries: it lists them, and the process claims only those it no longer runs. An entry delivered more than once goes
 * alone, so that a job that kills its worker takes no innocent job with it. A call that reaches
 * Redis after its deadline (it waited in a frozen Redis) takes nothing: idle times then measure
 * the freeze, not a dead worker.
 * KEYS: 1 stream.
 * ARGV: 1 group, 2 consumer, 3 min idle (ms), 4 cursor (last entry looked at, '0-0' from the
 *       start), 5 most jobs, 6 deadline (Redis ms; 0 = none).
 * Returns: { next cursor ('0-0' once a pass is done), { { entry id, delivery count, fields }... },
 *            Redis now (ms), 1 or 0 when refused for its deadline,
 *            { { entry id, delivery count }... } of this consumer's own idle entries (up to 100) }.
 */
export const RECLAIM_SCRIPT = `${NOW}
local at = now()
local deadline = tonumber(ARGV[6])
if deadline > 0 and at > deadline then return { ARGV[4], {}, at, 0, {} } end
local most = tonumber(ARGV[5])
local scan = most + 100
local start = ARGV[4] == '0-0' and '-' or '(' .. ARGV[4]
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', tonumber(ARGV[3]), start, '+',
  scan)
local ids, deliveries, cursor, stopped, own = {}, {}, ARGV[4], false, {}
for _, p in ipairs(pending) do
  if p[2] == ARGV[2] then
    if #own < 100 then own[#own + 1] = { p[1], p[4] } end
  else
    if tonumber(p[4]) > 1 then
      if #ids == 0 then
        ids[1] = p[1]
        deliveries[p[1]] = tonumber(p[4]) + 1
        cursor = p[1]
      end
      stopped = true
      break
    end
    if #ids >= most then
      stopped = true
      break
    end
    ids[#ids + 1] = p[1]
    deliveries[p[1]] = tonumber(p[4]) + 1
  end
  cursor = p[1]
end
if not stopped and #pending < scan then cursor = '0-0' end
local out = {}
if #ids > 0 then
  local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), unpack(ids))
  for _, entry in ipairs(claimed) do
    if type(entry) == 'table' and type(entry[2]) == 'table' then
      out[#out + 1] = { entry[1], deliveries[entry[1]], entry[2] }
    end
  end
end
return { cursor, out, at, 1, own }
`;

/* Lua functions shared by the transport's scripts (prepended to a script's text). */

/**
 * `now()`: Redis's clock in ms. Delays and due times never use a process's clock, so a worker
 * whose clock runs ahead promotes nothing early (Redis 7 replicates TIME's effects, not the call).
 */
export const NOW = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * Lua helpers: whether this consumer holds an entry with a delivery count; an entry's fields. A
 * job taken from a priority level is one field `j` (its level's JSON, see TAKE_SCRIPT): `fields`
 * gives its job fields as if they were the entry's own (an unreadable one gives its text as `p`,
 * so that it is dead-lettered with it).
 */
export const OWNS = `
local function owns(stream, group, consumer, entry, deliveries)
  local pending = redis.pcall('XPENDING', stream, group, entry, entry, 1)
  if type(pending) ~= 'table' or pending.err or not pending[1] then return false end
  return pending[1][2] == consumer and tostring(pending[1][4]) == deliveries
end
local function fields(stream, entry)
  local found = redis.call('XRANGE', stream, entry, entry)
  if not found[1] then return nil end
  local raw, out = found[1][2], {}
  for i = 1, #raw, 2 do out[raw[i]] = raw[i + 1] end
  if out.j == nil then return out end
  local ok, job = pcall(cjson.decode, out.j)
  if not ok or type(job) ~= 'table' then return { p = out.j } end
  local f = {}
  for _, k in ipairs({ 'id', 'l', 'p', 'a', 't', 'q', 'ag' }) do
    if job[k] ~= nil then f[k] = tostring(job[k]) end
  end
  return f
end
`;

/**
 * `tally(stats, completed, failed)` (needs NOW): adds to this minute's slot of the queue's history,
 * a ring of 1440 fields `m:<minute % 1440>` = `<minute>:<completed>:<failed>` in the stats hash. A
 * slot written on an earlier day is overwritten, so the hash never holds more than a day.
 */
export const TALLY = `
local function tally(stats, completed, failed)
  local minute = math.floor(now() / 60000)
  local field = 'm:' .. (minute % 1440)
  local was = redis.call('HGET', stats, field)
  if was then
    local m, c, f = string.match(was, '^(%d+):(%d+):(%d+)$')
    if tonumber(m) == minute then
      completed = completed + tonumber(c)
      failed = failed + tonumber(f)
    end
  end
  redis.call('HSET', stats, field, string.format('%d:%d:%d', minute, completed, failed))
end
`;

/**
 * `ack(stream, stats, from, step)` (needs OWNS, NOW, TALLY): acknowledges, deletes and counts as
 * completed the entries named in ARGV from `from` on, `step` values each (entry id, delivery
 * count, then what the caller needs). ARGV 1 to 4: group, consumer, lowest and highest entry id.
 * The receipts are checked with one XPENDING over this consumer's entries between the lowest and
 * the highest id (per entry only when that range holds more than the reply's limit), so the
 * stale-receipt check stays exact. Returns per entry 1 (acknowledged) or 0 (stale), the ARGV
 * index of each acknowledged entry, and whether any was stale.
 */
export const ACK = `
local function ack(stream, stats, from, step)
  local limit = 1000
  local held, complete = {}, false
  local range = redis.pcall('XPENDING', stream, ARGV[1], ARGV[3], ARGV[4], limit, ARGV[2])
  if type(range) == 'table' and not range.err then
    for _, p in ipairs(range) do held[p[1]] = tostring(p[4]) end
    complete = #range < limit
  end
  local acked, at, out, stale = {}, {}, {}, false
  for i = from, #ARGV, step do
    local ok
    if held[ARGV[i]] ~= nil or complete then
      ok = held[ARGV[i]] == ARGV[i + 1]
    else
      ok = owns(stream, ARGV[1], ARGV[2], ARGV[i], ARGV[i + 1])
    end
    if ok then
      acked[#acked + 1] = ARGV[i]
      at[#at + 1] = i
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
      stale = true
    end
  end
  if #acked > 0 then
    redis.call('XACK', stream, ARGV[1], unpack(acked))
    redis.call('XDEL', stream, unpack(acked))
    redis.call('HINCRBY', stats, 'completed', #acked)
    tally(stats, #acked, 0)
  end
  return out, at, stale
end
`;

/**
 * `notice(base, member)`: while a watch (`EventQueues.watch`) reads the queue (its key
 * `<base>:watching` lives), copies a job that enters a group's or a priority level's list (JSON
 * {id, l, p, a, t, ...}) to the stream `<base>:watch` (about the last 1,000), which the watch
 * reads with the queue's stream: those jobs reach the queue's stream only when a worker takes
 * them (entries with `g`, or one field `j`, which the watch skips). Without a watch it costs one
 * EXISTS per queue per call.
 */
export const NOTICE = `
local watching = {}
local function notice(base, member)
  -- Looked up once per queue per call: only a watch (another client) sets or drops the key.
  local isWatched = watching[base]
  if isWatched == nil then
    isWatched = redis.call('EXISTS', base .. ':watching') == 1
    watching[base] = isWatched
  end
  if isWatched then
    redis.call('XADD', base .. ':watch', 'MAXLEN', '~', '1000', '*', 'j', member)
  end
end
`;

/**
 * `append(lists, order, key, value)`: appends `value` to `lists[key]`, a new key going to the end
 * of `order`: how a script collects values by key, in order, for one bulk command per key later.
 */
export const APPEND = `
local function append(lists, order, key, value)
  local list = lists[key]
  if not list then
    list = {}
    lists[key] = list
    order[#order + 1] = key
  end
  list[#list + 1] = value
end
`;

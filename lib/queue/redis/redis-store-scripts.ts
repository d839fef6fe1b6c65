import { GROUP_LUA } from './redis-group-lua.js';
import { NOW } from './redis-lua.js';
import { CONSUMER_GROUP } from './redis-keys.js';
import { STAGE } from './redis-priority-scripts.js';

/*
 * The script that stores the jobs of one emit all or none (one call per emit on a standalone
 * Redis, one per queue on a Redis Cluster). MULTI is not enough: Redis carries out the commands
 * of a transaction it accepted even when one of them fails at EXEC (WRONGTYPE), so some jobs
 * would be stored and the emit rejected. This script checks every key first and writes nothing
 * when one would fail; the shebang makes Redis refuse it as a whole under OOM, before it runs.
 */

/**
 * Stores the jobs of one emit (or one `emitMany`), or none of them.
 * KEYS: every key it writes, each once: the queue index (when ARGV[3] > 0), the streams and
 *       delayed sets of the jobs, and their "seen" keys (deduplicated emits only).
 * ARGV: 1 enqueued at (ms, stored as `t`), 2 dedupe window (ms), 3 position of the queue index in
 *       KEYS (0 = none), 4 count n of queue names to add to it, then n queue names, then per job
 *       6 values: position of its stream, delayed set, group rotation or priority levels in KEYS,
 *       position of its seen key (0 = not deduplicated), kind ('s' stream, 'd' delayed, 'g'
 *       group, 'q' priority level), then for 's': job id, listener, payload; for 'd': delay (ms,
 *       on Redis's clock), member (JSON {id, l, p, a, t}, with g, gw, gc, grm, grd for a grouped
 *       job, q, ag for a prioritized one), ''; for 'g': member (JSON {id, l, p, a, t}), group id,
 *       spec (JSON {w, c, rm, rd}); for 'q': member (JSON {id, l, p, a, t, q, ag}), position of
 *       the stream in KEYS, level.
 * Returns: the number of jobs stored (jobs whose seen key existed are skipped), or an error
 *          reply (WRONGTYPE ...) when a key holds another type, with nothing written.
 */
export const STORE_SCRIPT = `#!lua
${NOW}${GROUP_LUA}${STAGE}
local index, names = tonumber(ARGV[3]), tonumber(ARGV[4])
local first = 5 + names
local function check(key, want)
  local found = redis.call('TYPE', key)['ok']
  if found ~= 'none' and found ~= want then
    return 'WRONGTYPE ' .. key .. ' holds a ' .. found .. ', not a ' .. want ..
      ': no job of this emit was stored'
  end
end
local refused = nil
if index > 0 then refused = check(KEYS[index], 'set') end
-- Each key once: a bulk emit holds many jobs per stream.
local checked = {}
for i = first, #ARGV, 6 do
  if refused then break end
  local at = ARGV[i]
  if not checked[at] then
    checked[at] = true
    local kind = ARGV[i + 2]
    refused = check(KEYS[tonumber(at)], kind == 's' and 'stream' or kind == 'g' and 'list' or 'zset')
  end
  local stream = ARGV[i + 4]
  if not refused and ARGV[i + 2] == 'q' and not checked[stream] then
    checked[stream] = true
    refused = check(KEYS[tonumber(stream)], 'stream')
  end
end
if refused then return redis.error_reply(refused) end
if index > 0 and names > 0 then
  redis.call('SADD', KEYS[index], unpack(ARGV, 5, 4 + names))
end
-- Prioritized jobs go straight to the stream, in priority order, when nothing else waits in their
-- queue (no level holds jobs, every stream entry was read, no plain job and no negative priority
-- in this call, so that a later priority-0 job may follow them): the order of the stream is then
-- their order. Otherwise they wait in their levels.
local plain = {}
for i = first, #ARGV, 6 do
  if ARGV[i + 2] == 's' then plain[ARGV[i]] = true end
  if ARGV[i + 2] == 'q' and tonumber(ARGV[i + 5]) < 0 then plain[ARGV[i + 4]] = true end
end
local function isDrained(stream)
  local top = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if not top[1] then return true end
  local groups = redis.pcall('XINFO', 'GROUPS', stream)
  if type(groups) ~= 'table' or groups.err then return false end
  for _, g in ipairs(groups) do
    local name, delivered
    for k = 1, #g, 2 do
      if g[k] == 'name' then name = g[k + 1] elseif g[k] == 'last-delivered-id' then delivered = g[k + 1] end
    end
    if name == '${CONSUMER_GROUP}' and delivered then
      local dm, ds = string.match(delivered, '^(%d+)-(%d+)$')
      local tm, ts = string.match(top[1][1], '^(%d+)-(%d+)$')
      dm, ds, tm, ts = tonumber(dm), tonumber(ds), tonumber(tm), tonumber(ts)
      return dm > tm or (dm == tm and ds >= ts)
    end
  end
  return false
end
local stored, clock, woken, direct = 0, nil, {}, {}
for i = first, #ARGV, 6 do
  local seen = tonumber(ARGV[i + 1])
  if seen == 0 or redis.call('SET', KEYS[seen], '1', 'NX', 'PX', ARGV[2]) then
    local key = KEYS[tonumber(ARGV[i])]
    if ARGV[i + 2] == 's' then
      redis.call('XADD', key, '*', 'id', ARGV[i + 3], 'l', ARGV[i + 4], 'p', ARGV[i + 5],
        't', ARGV[1])
    elseif ARGV[i + 2] == 'g' then
      -- The group rotation's key is \`<base>:g:ready\`.
      pushGroupJob(string.sub(key, 1, #key - 8), ARGV[i + 4], cjson.decode(ARGV[i + 3]),
        cjson.decode(ARGV[i + 5]), false)
    elseif ARGV[i + 2] == 'q' and direct[ARGV[i + 4]] ~= false and (direct[ARGV[i + 4]]
        or not plain[ARGV[i + 4]] and redis.call('EXISTS', key) == 0
          and isDrained(KEYS[tonumber(ARGV[i + 4])])) then
      local list = direct[ARGV[i + 4]] or {}
      direct[ARGV[i + 4]] = list
      list[#list + 1] = { level = tonumber(ARGV[i + 5]), n = i, json = ARGV[i + 3] }
    elseif ARGV[i + 2] == 'q' then
      direct[ARGV[i + 4]] = false
      clock = clock or now()
      -- Per stream: its levels key when they were empty before this call (wake), else false.
      if woken[ARGV[i + 4]] == nil then
        woken[ARGV[i + 4]] = redis.call('EXISTS', key) == 0 and key
      end
      stageEncoded(key, ARGV[i + 5], ARGV[i + 3], clock)
    else
      clock = clock or now()
      redis.call('ZADD', key, clock + tonumber(ARGV[i + 3]), ARGV[i + 4])
    end
    stored = stored + 1
  end
end
flushStaged()
for stream, list in pairs(direct) do
  if list then
    table.sort(list, function(x, y) return x.level > y.level or (x.level == y.level and x.n < y.n) end)
    for _, entry in ipairs(list) do
      local job = cjson.decode(entry.json)
      redis.call('XADD', KEYS[tonumber(stream)], '*', 'id', job.id, 'l', job.l, 'p', job.p,
        'a', '0', 't', job.t, 'q', job.q, 'ag', job.ag)
    end
  end
end
for stream, levels in pairs(woken) do
  if levels then wakeLevels(levels, KEYS[tonumber(stream)]) end
end
return stored
`;

/**
 * Stores the single-job emits of one tick in one call (what one emit does: one XADD each). While
 * jobs of other priorities wait (the levels key exists), these wait behind them in level 0.
 * KEYS: 1 stream, 2 priority levels.
 * ARGV: 1 enqueued at (ms, the batch's), then triples (job id, listener, payload).
 * Returns: the number of jobs when every one was stored (the rule: one integer to read, not one
 *          per job), else a list with, per job, 1 (stored) or 0 (refused, e.g. out of memory).
 */
export const ADD_SCRIPT = `${NOW}${STAGE}
local t = ARGV[1]
if redis.call('EXISTS', KEYS[2]) == 1 then
  local at = tostring(now())
  for i = 2, #ARGV, 3 do
    stageJson(KEYS[2], '0', cjson.encode({ id = ARGV[i], l = ARGV[i + 1], p = ARGV[i + 2],
      a = '0', t = t, q = '0', r = at }))
  end
  flushStaged()
  return (#ARGV - 1) / 3
end
local out, refused = {}, false
for i = 2, #ARGV, 3 do
  local added = redis.pcall('XADD', KEYS[1], '*', 'id', ARGV[i], 'l', ARGV[i + 1],
    'p', ARGV[i + 2], 't', t)
  if type(added) == 'table' and added.err then
    out[#out + 1] = 0
    refused = true
  else
    out[#out + 1] = 1
  end
end
if refused then return out end
return #out
`;

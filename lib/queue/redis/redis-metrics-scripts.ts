/* The scripts behind queue metrics: the per-minute history and the oldest waiting job. */
import { NOW } from './redis-lua.js';

/**
 * The history slots of the last minutes (see TALLY), with Redis's clock.
 * KEYS: 1 stats.
 * ARGV: 1 how many minutes (1..1440).
 * Returns: { now (ms), then one slot value (or false) per minute, oldest first }.
 */
export const HISTORY_SCRIPT = `${NOW}
local t = now()
local current = math.floor(t / 60000)
local fields = {}
for minute = current - tonumber(ARGV[1]) + 1, current do
  fields[#fields + 1] = 'm:' .. (minute % 1440)
end
local values = redis.call('HMGET', KEYS[1], unpack(fields))
table.insert(values, 1, t)
return values
`;

/**
 * How long the oldest waiting job has been ready: the age of the first entry after the group's
 * last delivered one (entry ids are Redis's clock when the entry was written: when it became
 * ready, a retry or a promoted delayed job included), or of the head of a priority level (its
 * `r`, see redis-priority-scripts.ts) or of a group (its `r`, else its stored time `t`; see
 * redis-group-lua.ts) when that is older: O(levels + groups with jobs). A wake-up entry is no job.
 * KEYS: 1 stream, 2 priority levels.
 * ARGV: 1 group, 2 the queue's base (its groups' keys, in the same slot).
 * Returns: its age in ms, or -1 when no job waits.
 */
export const OLDEST_WAITING_SCRIPT = `${NOW}
local last = '0-0'
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if type(groups) == 'table' and not groups.err then
  for _, g in ipairs(groups) do
    local name, delivered
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] end
      if g[i] == 'last-delivered-id' then delivered = g[i + 1] end
    end
    if name == ARGV[1] and delivered then last = delivered end
  end
end
local oldest = nil
for _, e in ipairs(redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 2)) do
  if not (e[2] and e[2][1] == 'w') then
    oldest = tonumber(string.match(e[1], '^(%d+)'))
    break
  end
end
local function older(raw)
  local ok, job = pcall(cjson.decode, raw or '')
  local r = ok and type(job) == 'table' and tonumber(job.r or job.t)
  if r and (oldest == nil or r < oldest) then oldest = r end
end
for _, level in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  older(redis.call('LINDEX', KEYS[2] .. ':' .. level, 0))
end
for _, id in ipairs(redis.call('ZRANGE', ARGV[2] .. ':g:index', 0, -1)) do
  older(redis.call('LINDEX', ARGV[2] .. ':gq:' .. id .. ':jobs', 0))
end
if oldest == nil then return -1 end
return math.max(0, now() - oldest)
`;

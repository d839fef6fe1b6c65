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

/** Lua helpers: whether this consumer holds an entry with a delivery count; an entry's fields. */
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
  return out
end
`;

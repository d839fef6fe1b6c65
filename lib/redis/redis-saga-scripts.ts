/*
 * The scripts of the Redis saga store. Layout: every saga key shares the hash tag
 * `{<prefix>:sagas}`.
 * - `…:r:<id>`   hash: `v` (version), `j` (the record as JSON)
 * - `…:all`      sorted set of every saga id by creation time (`list`)
 * - `…:active`   sorted set of the sagas not finished, by last write (the sweeper)
 */

/**
 * KEYS: record, all, active. ARGV: id, json, createdAt, version.
 * Returns 1 stored, 0 the id exists.
 */
export const SAGA_CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'j', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
`;

/** The version check and record write shared by the two update scripts (KEYS 1-2, ARGV 1-6). */
const WRITE_RECORD = `
local function write()
  redis.call('HSET', KEYS[1], 'v', ARGV[4], 'j', ARGV[2])
  if ARGV[6] == '1' then redis.call('ZREM', KEYS[2], ARGV[1])
  else redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1]) end
end
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[3] then return 0 end
`;

/**
 * KEYS: record, active. ARGV: id, json, expected version, new version, updatedAt, finished (1/0).
 * Returns 1 written, 0 the stored version differs (or the saga is gone).
 */
export const SAGA_UPDATE_SCRIPT = `${WRITE_RECORD}
write()
return 1
`;

/**
 * The update script plus the saga's next job, in one atomic write: no process can die between
 * the record and its job (a standalone Redis only: the queue's keys are in another hash tag).
 * The job is stored like the transport's store script stores a deduplicated job: skipped when
 * its seen key exists, an entry `id l p t` on the queue's stream otherwise.
 * KEYS: 1 record, 2 active, 3 queue index, 4 stream, 5 the job's seen key.
 * ARGV: 1-6 as the update script, 7 queue name, 8 job id, 9 listener, 10 payload,
 *       11 enqueued at (ms), 12 dedupe window (ms).
 * Returns: 1 written, 0 the stored version differs (nothing written), or an error reply
 *          (WRONGTYPE ...) when the stream or index holds another type (nothing written).
 */
export const SAGA_ADVANCE_SCRIPT = `#!lua
${WRITE_RECORD}
for _, check in ipairs({ { KEYS[3], 'set' }, { KEYS[4], 'stream' } }) do
  local found = redis.call('TYPE', check[1])['ok']
  if found ~= 'none' and found ~= check[2] then
    return redis.error_reply('WRONGTYPE ' .. check[1] .. ' holds a ' .. found .. ', not a ' ..
      check[2] .. ': neither the saga nor its job was stored')
  end
end
write()
redis.call('SADD', KEYS[3], ARGV[7])
if redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[12]) then
  redis.call('XADD', KEYS[4], '*', 'id', ARGV[8], 'l', ARGV[9], 'p', ARGV[10], 't', ARGV[11])
end
return 1
`;

/*
 * The scripts of the Redis saga store. Layout: every saga key shares the hash tag
 * `{<prefix>:sagas}`.
 * - `…:r:<id>`   hash: `v` (version), `j` (the record as JSON)
 * - `…:all`      sorted set of every saga id by creation time (`list`)
 * - `…:active`   sorted set of the sagas not finished, or finished with their ending event not
 *                 out yet, by last write (the sweeper); `ended` removes a finished one
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

/**
 * The version check and record write shared by the two update scripts (KEYS 1-2, ARGV 1-5). A
 * finished saga stays active: its ending event is not out yet (the store's `ended` removes it).
 */
const WRITE_RECORD = `
local function write()
  redis.call('HSET', KEYS[1], 'v', ARGV[4], 'j', ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[3] then return 0 end
`;

/**
 * KEYS: record, active. ARGV: id, json, expected version, new version, updatedAt.
 * Returns 1 written, 0 the stored version differs (or the saga is gone).
 */
export const SAGA_UPDATE_SCRIPT = `${WRITE_RECORD}
write()
return 1
`;

/**
 * Stores a saga's next job like the transport's store script stores a deduplicated job: skipped
 * when its seen key exists, an entry `id l p t` on the queue's stream otherwise. `list` 1 also
 * lists the queue in the queue index (the store sends it once per queue per process, as the
 * transport does). Called before the record is written: it returns an error reply (WRONGTYPE ...)
 * having stored no job when the index or the stream holds another type, nil once stored. Failing
 * commands go through pcall, so that no TYPE check is needed before them.
 */
const STORE_JOB = `
local function store_job(index, stream, seen, list, queue, id, listener, payload, at, window)
  local function refused(reply, key)
    return redis.error_reply(reply.err .. ' (' .. key .. '): neither the saga nor its job was stored')
  end
  if list == '1' then
    local listed = redis.pcall('SADD', index, queue)
    if type(listed) == 'table' and listed.err then return refused(listed, index) end
  end
  if redis.call('SET', seen, '1', 'NX', 'PX', window) then
    local added = redis.pcall('XADD', stream, '*', 'id', id, 'l', listener, 'p', payload, 't', at)
    if type(added) == 'table' and added.err then
      redis.call('DEL', seen)
      return refused(added, stream)
    end
  end
  return nil
end
`;

/**
 * The update script plus the saga's next job, in one atomic write: no process can die between
 * the record and its job (a standalone Redis only: the queue's keys are in another hash tag).
 * KEYS: 1 record, 2 active, 3 queue index, 4 stream, 5 the job's seen key.
 * ARGV: 1-5 as the update script, 6 queue name, 7 job id, 8 listener, 9 payload,
 *       10 enqueued at (ms), 11 dedupe window (ms), 12 list the queue in the index (1/0).
 * Returns: 1 written, 0 the stored version differs (nothing written), or an error reply
 *          (WRONGTYPE ...) when the stream or index holds another type (nothing written).
 */
export const SAGA_ADVANCE_SCRIPT = `#!lua
${WRITE_RECORD}
${STORE_JOB}
local refused = store_job(KEYS[3], KEYS[4], KEYS[5], ARGV[12], ARGV[6], ARGV[7], ARGV[8],
  ARGV[9], ARGV[10], ARGV[11])
if refused then return refused end
write()
return 1
`;

/**
 * The create script plus the saga's first job, in one atomic write (see SAGA_ADVANCE_SCRIPT).
 * KEYS: 1 record, 2 all, 3 active, 4 queue index, 5 stream, 6 the job's seen key.
 * ARGV: 1 id, 2 json, 3 createdAt, 4 version, 5 updatedAt, 6 queue name, 7 job id, 8 listener,
 *       9 payload, 10 enqueued at (ms), 11 dedupe window (ms), 12 list the queue (1/0).
 * Returns: 1 stored, 0 the id exists (nothing written), or an error reply (WRONGTYPE ...) when
 *          the stream or index holds another type (nothing written).
 */
export const SAGA_BEGIN_SCRIPT = `#!lua
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
${STORE_JOB}
local refused = store_job(KEYS[4], KEYS[5], KEYS[6], ARGV[12], ARGV[6], ARGV[7], ARGV[8],
  ARGV[9], ARGV[10], ARGV[11])
if refused then return refused end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'j', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
return 1
`;

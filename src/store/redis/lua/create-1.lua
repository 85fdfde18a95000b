-- create: stores a new workflow with the caller as its owner, fencing token 1.
-- The hash gets a provisional TTL that the first commit removes, so a
-- coordinator that dies between storing and indexing leaves nothing behind.
-- KEYS[1]  the workflow hash
-- ARGV[1]  owner (node id)
-- ARGV[2]  provisional TTL (ms)
-- ARGV[3..] field/value pairs of the record (record-codec.ts encodeRecord)
-- Returns  1, or 0 when the id exists (nothing written).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], WF_OWNER, ARGV[1], WF_FENCE, '1', WF_SEQ, '0', WF_CURSOR, '0-0', WF_SUCCEEDED, '0', WF_FAILED, '0', WF_RUNNING, '0')
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1

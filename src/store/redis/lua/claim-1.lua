-- claim: makes the caller the owner when the current owner is the expected
-- one, and moves the fencing token on, so the old owner's commits fail.
-- KEYS[1]  the workflow hash
-- ARGV[1]  the new owner (node id)
-- ARGV[2]  the expected current owner ('' for any owner)
-- Returns  {'OK', fence, seq, state, previous owner}
--          | {'OWNED', owner} the workflow has another owner than expected
--          | {'GONE'}         the workflow does not exist
local owner = redis.call('HGET', KEYS[1], WF_OWNER)
if not owner then return {'GONE'} end
if ARGV[2] ~= '' and owner ~= ARGV[2] then return {'OWNED', owner} end
local fence = redis.call('HINCRBY', KEYS[1], WF_FENCE, 1)
redis.call('HSET', KEYS[1], WF_OWNER, ARGV[1])
return {'OK', tostring(fence), redis.call('HGET', KEYS[1], WF_SEQ), redis.call('HGET', KEYS[1], WF_STATE), owner}

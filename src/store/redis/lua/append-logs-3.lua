-- appendLogs: appends lines, at most `max` per step attempt and then one
-- marker line. Lines for a workflow that does not exist are dropped; a
-- finished workflow's logs expire with it.
-- KEYS[1]  the workflow hash
-- KEYS[2]  its log stream
-- KEYS[3]  its log line counts (field "<stepId>:<attempt>")
-- ARGV[1]  max lines per step attempt
-- ARGV[2..] 5 values per line: stepId, attempt, time, stream, line
-- Returns  the number of stream entries added.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local max = tonumber(ARGV[1])
local added = 0
for i = 2, #ARGV, 5 do
  local c = redis.call('HINCRBY', KEYS[3], ARGV[i] .. ':' .. ARGV[i + 1], 1) - 1
  if c < max then
    redis.call('XADD', KEYS[2], '*', LOG_STEP_ID, ARGV[i], LOG_ATTEMPT, ARGV[i + 1], LOG_TIME, ARGV[i + 2], LOG_STREAM, ARGV[i + 3], LOG_LINE, ARGV[i + 4])
    added = added + 1
  elseif c == max then
    redis.call('XADD', KEYS[2], '*', LOG_STEP_ID, ARGV[i], LOG_ATTEMPT, ARGV[i + 1], LOG_TIME, ARGV[i + 2], LOG_STREAM, 'system', LOG_LINE, '[log truncated: more than ' .. max .. ' lines for this attempt]')
    added = added + 1
  end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 and added > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return added

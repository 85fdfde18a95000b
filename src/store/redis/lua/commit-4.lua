-- commit: applies one delta if the caller still holds the fencing token and
-- is at the expected commit number (a commit retried after a lost reply is
-- recognised and not applied twice).
-- KEYS[1]  the workflow hash
-- KEYS[2]  its event stream
-- KEYS[3]  its log stream
-- KEYS[4]  its log line counts
-- ARGV[1]  fencing token
-- ARGV[2]  expected commit number (seq)
-- ARGV[3]  TTL (ms) of all four keys, 0 unless the workflow just finished
-- ARGV[4]  events kept, about (the stream is trimmed; 0: never trimmed)
-- ARGV[5]  the workflow's notification channel: a commit with events
--          publishes "e" there, and "t" after it when ARGV[6] is '1' (the
--          commit ends the workflow); in the script, so a hop costs Redis
--          and the coordinator one command, not two
-- ARGV[6]  '1' when the commit ends the workflow, else '0'
-- ARGV[7]  nSet, then nSet field/value pairs to write
--          nDel, then nDel fields to delete
--          nBucket, then nBucket step-index/bucket pairs (bucket: 's'
--          succeeded, 'f' failed, 'r' running, '' other; keeps the counters)
--          then one event JSON per remaining argument
-- Returns  {'OK', previous state, cursor of each event...}
--          | {'DUP'}           this commit was applied already
--          | {'FENCED', fence} another coordinator owns the workflow
--          | {'GONE'}          the workflow does not exist
--          | {'SEQ', seq}      the store is at another commit number
local h = KEYS[1]
local fence = redis.call('HGET', h, WF_FENCE)
if not fence then return {'GONE'} end
if fence ~= ARGV[1] then return {'FENCED', fence} end
local seq = tonumber(redis.call('HGET', h, WF_SEQ))
local expected = tonumber(ARGV[2])
if seq == expected + 1 then return {'DUP'} end
if seq ~= expected then return {'SEQ', tostring(seq)} end
local prev = redis.call('HGET', h, WF_STATE)
local i = 8
for k = 1, tonumber(ARGV[7]) do redis.call('HSET', h, ARGV[i], ARGV[i + 1]); i = i + 2 end
local nd = tonumber(ARGV[i]); i = i + 1
for k = 1, nd do redis.call('HDEL', h, ARGV[i]); i = i + 1 end
local nb = tonumber(ARGV[i]); i = i + 1
local n = tonumber(redis.call('HGET', h, WF_STEP_COUNT))
for k = 1, nb do
  local idx = ARGV[i]
  local b = ARGV[i + 1]
  i = i + 2
  local old = redis.call('HGET', h, WF_PREFIX_BUCKET .. idx)
  if old and old ~= '' then redis.call('HINCRBY', h, WF_PREFIX_COUNTER .. old, -1) end
  if b ~= '' then redis.call('HINCRBY', h, WF_PREFIX_COUNTER .. b, 1) end
  redis.call('HSET', h, WF_PREFIX_BUCKET .. idx, b)
  if tonumber(idx) >= n then n = tonumber(idx) + 1; redis.call('HSET', h, WF_STEP_COUNT, n) end
end
local out = {'OK', prev or ''}
for k = i, #ARGV do out[#out + 1] = redis.call('XADD', KEYS[2], '*', EVENT_JSON, ARGV[k]) end
if #out > 2 then redis.call('HSET', h, WF_CURSOR, out[#out]) end
local maxEvents = tonumber(ARGV[4])
if maxEvents > 0 and #out > 2 then redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', maxEvents) end
redis.call('HSET', h, WF_SEQ, tostring(expected + 1))
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  for k = 1, 4 do redis.call('PEXPIRE', KEYS[k], ttl) end
else
  -- Not finished (new, running, or running again after RetryWorkflow): keep everything.
  for k = 1, 4 do redis.call('PERSIST', KEYS[k]) end
end
if #out > 2 then
  redis.call('PUBLISH', ARGV[5], NOTE_EVENTS)
  if ARGV[6] == '1' then redis.call('PUBLISH', ARGV[5], NOTE_ENDED) end
end
return out

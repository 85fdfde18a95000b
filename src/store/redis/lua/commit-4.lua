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
-- Few calls, each doing much: a call from Lua costs more than the work of
-- most of these, and this script runs once a hop.
local head = redis.call('HMGET', h, WF_FENCE, WF_SEQ, WF_STATE, WF_STEP_COUNT)
local fence = head[1]
if not fence then return {'GONE'} end
if fence ~= ARGV[1] then return {'FENCED', fence} end
local seq = tonumber(head[2])
local expected = tonumber(ARGV[2])
if seq == expected + 1 then return {'DUP'} end
if seq ~= expected then return {'SEQ', tostring(seq)} end
local prev = head[3]
-- At most this many values per call: unpack has a limit of its own.
local CHUNK = 1000
local i = 8
local nSet = tonumber(ARGV[7])
local k = 0
while k < nSet do
  local m = math.min(CHUNK / 2, nSet - k)
  redis.call('HSET', h, unpack(ARGV, i + 2 * k, i + 2 * (k + m) - 1))
  k = k + m
end
i = i + 2 * nSet
local nd = tonumber(ARGV[i]); i = i + 1
if nd > 0 then redis.call('HDEL', h, unpack(ARGV, i, i + nd - 1)) end
i = i + nd
local nb = tonumber(ARGV[i]); i = i + 1
local n = tonumber(head[4])
local grew = false
-- Counter changes by bucket, and each bucket field's value as this commit leaves it (an index may come twice).
local delta = {}
local current = {}
k = 0
while k < nb do
  local m = math.min(CHUNK / 2, nb - k)
  local fields = {}
  local sets = {}
  for j = 0, m - 1 do
    local idx = ARGV[i + 2 * (k + j)]
    fields[#fields + 1] = WF_PREFIX_BUCKET .. idx
    if tonumber(idx) >= n then n = tonumber(idx) + 1; grew = true end
  end
  local olds = redis.call('HMGET', h, unpack(fields))
  for j = 0, m - 1 do
    local b = ARGV[i + 2 * (k + j) + 1]
    local field = fields[j + 1]
    local old = current[field]
    if old == nil then old = olds[j + 1] end
    if old and old ~= '' then delta[old] = (delta[old] or 0) - 1 end
    if b ~= '' then delta[b] = (delta[b] or 0) + 1 end
    current[field] = b
    sets[#sets + 1] = field
    sets[#sets + 1] = b
  end
  redis.call('HSET', h, unpack(sets))
  k = k + m
end
i = i + 2 * nb
for b, d in pairs(delta) do
  if d ~= 0 then redis.call('HINCRBY', h, WF_PREFIX_COUNTER .. b, d) end
end
local tail = {WF_SEQ, tostring(expected + 1)}
if grew then tail[#tail + 1] = WF_STEP_COUNT; tail[#tail + 1] = tostring(n) end
local out = {'OK', prev or ''}
for e = i, #ARGV do out[#out + 1] = redis.call('XADD', KEYS[2], '*', EVENT_JSON, ARGV[e]) end
if #out > 2 then tail[#tail + 1] = WF_CURSOR; tail[#tail + 1] = out[#out] end
local maxEvents = tonumber(ARGV[4])
if maxEvents > 0 and #out > 2 then redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', maxEvents) end
redis.call('HSET', h, unpack(tail))
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  for key = 1, 4 do redis.call('PEXPIRE', KEYS[key], ttl) end
elseif redis.call('PTTL', h) ~= -1 then
  -- Not finished (new, running, or running again after RetryWorkflow): keep
  -- everything. Only the hash tells: the streams have a TTL only while it
  -- does (this script and append-logs set theirs with it).
  for key = 1, 4 do redis.call('PERSIST', KEYS[key]) end
end
if #out > 2 then
  redis.call('PUBLISH', ARGV[5], NOTE_EVENTS)
  if ARGV[6] == '1' then redis.call('PUBLISH', ARGV[5], NOTE_ENDED) end
end
return out

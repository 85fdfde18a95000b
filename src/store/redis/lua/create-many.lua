-- createMany: stores new workflows and their index entries in one atomic
-- call, for a standalone Redis (on a Cluster the index keys live in other
-- slots than the workflows, see keys.ts). Each workflow is stored as by
-- create-1.lua and indexed at once; an idempotency key already set (before,
-- or by an earlier workflow of this call) stores nothing for that workflow
-- and answers the id it names. Nothing at all is written when one of the
-- ids exists. The key count varies: the call passes it (create-many.ts).
-- KEYS[1]  the index of all workflows
-- KEYS[2]  the index of active workflows
-- KEYS[3]  the set of workflows the caller owns
-- KEYS[4..] per workflow, 4 keys: its hash, its state index, its name index,
--          its idempotency key (the hash again when it has none)
-- ARGV[1]  owner (node id)
-- ARGV[2]  provisional TTL (ms)
-- ARGV[3]  idempotency key TTL (ms)
-- ARGV[4..] per workflow: id, hasKey ("1"/"0"), running ("1": not finished,
--          so active and owned), nFields, then nFields field/value pairs
-- Returns  {'OK', then per workflow 'new' or '=' .. the existing id}
--          | {'EXISTS', id} when a workflow id is taken (nothing written).
local a = 4
local k = 4
while a <= #ARGV do
  if redis.call('EXISTS', KEYS[k]) == 1 then return {'EXISTS', ARGV[a]} end
  a = a + 4 + 2 * tonumber(ARGV[a + 3])
  k = k + 4
end
local out = {'OK'}
a = 4
k = 4
while a <= #ARGV do
  local id = ARGV[a]
  local nf = tonumber(ARGV[a + 3])
  local existing = false
  if ARGV[a + 1] == '1' then
    existing = redis.call('GET', KEYS[k + 3])
    if not existing then redis.call('SET', KEYS[k + 3], id, 'PX', ARGV[3]) end
  end
  if existing then
    out[#out + 1] = '=' .. existing
  else
    redis.call('HSET', KEYS[k], WF_OWNER, ARGV[1], WF_FENCE, '1', WF_SEQ, '0', WF_CURSOR, '0-0', WF_SUCCEEDED, '0', WF_FAILED, '0', WF_RUNNING, '0')
    for i = a + 4, a + 3 + 2 * nf, 2 do redis.call('HSET', KEYS[k], ARGV[i], ARGV[i + 1]) end
    redis.call('PEXPIRE', KEYS[k], ARGV[2])
    redis.call('ZADD', KEYS[1], 0, id)
    redis.call('ZADD', KEYS[k + 1], 0, id)
    redis.call('ZADD', KEYS[k + 2], 0, id)
    if ARGV[a + 2] == '1' then
      redis.call('ZADD', KEYS[2], 0, id)
      redis.call('SADD', KEYS[3], id)
    end
    out[#out + 1] = 'new'
  end
  a = a + 4 + 2 * nf
  k = k + 4
end
return out

// Every state change of a workflow is one of these Lua scripts, run
// atomically by Redis on the workflow's own keys (one hash slot). They only
// check tokens and write what TypeScript computed; the logic stays in
// TypeScript. Each lists the keys it touches and the shape of its ARGV.
import type { Cluster, Redis } from "ioredis";

export interface ScriptDef {
  /** How many KEYS it takes; "varying" when the call says (the count goes before the keys). */
  keys: number | "varying";
  lua: string;
}

/**
 * create: stores a new workflow with this node as its owner, fencing token 1.
 * The hash gets a provisional TTL that the first commit removes, so a
 * coordinator that dies between storing and indexing leaves nothing behind.
 * KEYS: hash. ARGV: owner, provisionalTtlMs, then field/value pairs.
 * Returns 1, or 0 when the id exists.
 */
const create: ScriptDef = {
  keys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'fence', '1', 'seq', '0', 'cursor', '0-0', 'cs', '0', 'cf', '0', 'cr', '0')
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
};

/**
 * createMany: stores new workflows and their index entries in one atomic
 * call, for a standalone Redis (on a Cluster the index keys live in other
 * slots than the workflows, see keys.ts). Each workflow is stored as by
 * `create` and indexed at once; an idempotency key already set (before, or
 * by an earlier workflow of this call) stores nothing for that workflow and
 * answers the id it names. Nothing at all is written when one of the ids
 * exists. Arguments are built by create-many.ts.
 * KEYS: all, active, owned, then per workflow: hash, state index, name
 * index, idempotency key (the hash again when it has none).
 * ARGV: owner, provisionalTtlMs, idempotencyTtlMs, then per workflow: id,
 * hasKey ("1"/"0"), running ("1": not finished, so active and owned),
 * nFields, then nFields field/value pairs.
 * Returns {"OK", then per workflow "new" or the existing id's "=" .. id} | {"EXISTS", id}.
 */
const createMany: ScriptDef = {
  keys: "varying",
  lua: `
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
    redis.call('HSET', KEYS[k], 'owner', ARGV[1], 'fence', '1', 'seq', '0', 'cursor', '0-0', 'cs', '0', 'cf', '0', 'cr', '0')
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
`,
};

/**
 * commit: applies one delta if the caller still holds the fencing token and
 * is at the expected commit number (a commit retried after a lost reply is
 * recognised and not applied twice).
 * KEYS: hash, events, logs, logCounts.
 * ARGV: fence, expectedSeq, ttlMs (0 unless the workflow just finished),
 *       maxEvents (the event stream is trimmed to about this many, 0: never),
 *       nSet, then nSet field/value pairs, nDel, then nDel fields,
 *       nBucket, then nBucket index/bucket pairs (bucket: "s" succeeded,
 *       "f" failed, "r" running, "" other; keeps the list counters),
 *       then one JSON event per remaining argument.
 * Returns {"OK", previousState, cursor...} | {"DUP"} | {"FENCED", fence} | {"GONE"} | {"SEQ", seq}.
 */
const commit: ScriptDef = {
  keys: 4,
  lua: `
local h = KEYS[1]
local fence = redis.call('HGET', h, 'fence')
if not fence then return {'GONE'} end
if fence ~= ARGV[1] then return {'FENCED', fence} end
local seq = tonumber(redis.call('HGET', h, 'seq'))
local expected = tonumber(ARGV[2])
if seq == expected + 1 then return {'DUP'} end
if seq ~= expected then return {'SEQ', tostring(seq)} end
local prev = redis.call('HGET', h, 'state')
local i = 6
for k = 1, tonumber(ARGV[5]) do redis.call('HSET', h, ARGV[i], ARGV[i + 1]); i = i + 2 end
local nd = tonumber(ARGV[i]); i = i + 1
for k = 1, nd do redis.call('HDEL', h, ARGV[i]); i = i + 1 end
local nb = tonumber(ARGV[i]); i = i + 1
local n = tonumber(redis.call('HGET', h, 'n'))
for k = 1, nb do
  local idx = ARGV[i]
  local b = ARGV[i + 1]
  i = i + 2
  local old = redis.call('HGET', h, 'b:' .. idx)
  if old and old ~= '' then redis.call('HINCRBY', h, 'c' .. old, -1) end
  if b ~= '' then redis.call('HINCRBY', h, 'c' .. b, 1) end
  redis.call('HSET', h, 'b:' .. idx, b)
  if tonumber(idx) >= n then n = tonumber(idx) + 1; redis.call('HSET', h, 'n', n) end
end
local out = {'OK', prev or ''}
for k = i, #ARGV do out[#out + 1] = redis.call('XADD', KEYS[2], '*', 'e', ARGV[k]) end
if #out > 2 then redis.call('HSET', h, 'cursor', out[#out]) end
local maxEvents = tonumber(ARGV[4])
if maxEvents > 0 and #out > 2 then redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', maxEvents) end
redis.call('HSET', h, 'seq', tostring(expected + 1))
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  for k = 1, 4 do redis.call('PEXPIRE', KEYS[k], ttl) end
else
  -- Not finished (new, running, or running again after RetryWorkflow): keep everything.
  for k = 1, 4 do redis.call('PERSIST', KEYS[k]) end
end
return out
`,
};

/**
 * appendLogs: appends lines, at most `max` per step attempt and then one
 * marker line. Lines for a workflow that does not exist are dropped; a
 * finished workflow's logs expire with it.
 * KEYS: hash, logs, logCounts. ARGV: max, then 5 values per line
 * (stepId, attempt, time, stream, line). Returns the number of lines added.
 */
const appendLogs: ScriptDef = {
  keys: 3,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local max = tonumber(ARGV[1])
local added = 0
for i = 2, #ARGV, 5 do
  local c = redis.call('HINCRBY', KEYS[3], ARGV[i] .. ':' .. ARGV[i + 1], 1) - 1
  if c < max then
    redis.call('XADD', KEYS[2], '*', 's', ARGV[i], 'a', ARGV[i + 1], 't', ARGV[i + 2], 'o', ARGV[i + 3], 'l', ARGV[i + 4])
    added = added + 1
  elseif c == max then
    redis.call('XADD', KEYS[2], '*', 's', ARGV[i], 'a', ARGV[i + 1], 't', ARGV[i + 2], 'o', 'system', 'l', '[log truncated: more than ' .. max .. ' lines for this attempt]')
    added = added + 1
  end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 and added > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return added
`,
};

/**
 * claim: makes ARGV[1] the owner when the current owner is ARGV[2] ("" for
 * any owner) and moves the fencing token on, so the old owner's commits fail.
 * KEYS: hash. Returns {"OK", fence, seq, state, previousOwner} | {"OWNED", owner} | {"GONE"}.
 */
const claim: ScriptDef = {
  keys: 1,
  lua: `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return {'GONE'} end
if ARGV[2] ~= '' and owner ~= ARGV[2] then return {'OWNED', owner} end
local fence = redis.call('HINCRBY', KEYS[1], 'fence', 1)
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
return {'OK', tostring(fence), redis.call('HGET', KEYS[1], 'seq'), redis.call('HGET', KEYS[1], 'state'), owner}
`,
};

/**
 * heartbeat: renews ARGV[1]'s lease for ARGV[2] ms on Redis's own clock (so
 * coordinators' clocks need not agree) and reports the other nodes.
 * KEYS: nodes. Returns {expired nodes, live nodes}.
 */
const heartbeat: ScriptDef = {
  keys: 1,
  lua: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return {redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now), redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')}
`,
};

/**
 * putTemplate: stores a definition as the next version of a template, unless
 * the latest version has the same content key (one script, so two identical
 * registrations at once make one version).
 * KEYS: template hash. ARGV: JSON {definition, createdAt}, content key.
 * Returns {version, 1, stored JSON} for the existing version, else {version, 0}.
 */
const putTemplate: ScriptDef = {
  keys: 1,
  lua: `
local latest = tonumber(redis.call('HGET', KEYS[1], 'latest') or '0')
if latest > 0 and redis.call('HGET', KEYS[1], 'content') == ARGV[2] then
  return {latest, 1, redis.call('HGET', KEYS[1], 'v:' .. latest)}
end
local v = redis.call('HINCRBY', KEYS[1], 'latest', 1)
redis.call('HSET', KEYS[1], 'v:' .. v, ARGV[1], 'content', ARGV[2])
return {v, 0}
`,
};

export const SCRIPTS = { create, createMany, commit, appendLogs, claim, heartbeat, putTemplate } satisfies Record<string, ScriptDef>;
export type ScriptName = keyof typeof SCRIPTS;

/** Registers the scripts (EVALSHA, falling back to EVAL after a Redis restart). */
export function defineScripts(client: Redis | Cluster): void {
  for (const [name, def] of Object.entries(SCRIPTS)) {
    client.defineCommand(`horus_${name}`, { ...(def.keys === "varying" ? {} : { numberOfKeys: def.keys }), lua: def.lua });
  }
}

export function runScript(client: Redis | Cluster, name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
  const fn = (client as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[`horus_${name}`]!;
  // ioredis flattens array arguments: a batch's hundreds of thousands of
  // arguments go as arrays, never spread into one call's argument list.
  if (SCRIPTS[name].keys === "varying") return fn.call(client, keys.length, keys as never, args as never);
  return fn.call(client, ...keys, ...args);
}

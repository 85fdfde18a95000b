// Registered supervisors in Redis: a hash of registrations and a sorted set
// of lease expiries, both under one hash tag ({sup}) so the pruning script
// touches one Redis Cluster slot.
//
//   <p>:{sup}      hash  name -> registration JSON
//   <p>:{sup}:exp  zset  name scored by lease expiry (ms)
import type { SupervisorRegistration, SupervisorRegistry } from "../supervisors.js";
import type { RedisClient } from "./connection.js";

/** Expired registrations are kept this long (harmless, filtered out) before being deleted. */
const KEEP_EXPIRED_MS = 60_000;

// Deletes registrations that expired before ARGV[1], unless renewed meanwhile
// (the score is read in the same script, so a renewal is never lost).
const PRUNE = `
local names = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, n in ipairs(names) do
  redis.call('ZREM', KEYS[2], n)
  redis.call('HDEL', KEYS[1], n)
end
return #names
`;

export function createRedisSupervisorRegistry(client: RedisClient, prefix: string, unavailable: (err: unknown) => never): SupervisorRegistry {
  const hash = `${prefix}:{sup}`;
  const expiries = `${prefix}:{sup}:exp`;
  return {
    async register(r) {
      await client.multi().hset(hash, r.name, JSON.stringify(r)).zadd(expiries, r.expiresAt, r.name).exec().catch(unavailable);
    },
    async list(now) {
      const names = await client.zrangebyscore(expiries, `(${now}`, "+inf").catch(unavailable);
      client.eval(PRUNE, 2, hash, expiries, now - KEEP_EXPIRED_MS).catch(() => {});
      if (names.length === 0) return [];
      const rows = await client.hmget(hash, ...names).catch(unavailable);
      const out: SupervisorRegistration[] = [];
      for (const row of rows) {
        if (row === null) continue;
        const r = JSON.parse(row) as SupervisorRegistration;
        if (r.expiresAt > now) out.push(r);
      }
      return out.sort((a, b) => a.name.localeCompare(b.name));
    },
    async remove(name) {
      await client.multi().hdel(hash, name).zrem(expiries, name).exec().catch(unavailable);
    },
  };
}

// Registered supervisors in Redis: a hash of registrations and a sorted set
// of lease expiries, both under one hash tag ({sup}) so the pruning script
// touches one Redis Cluster slot.
//
//   <p>:{sup}      hash  name -> registration JSON
//   <p>:{sup}:exp  zset  name scored by lease expiry (ms)
import type { SupervisorRegistration, SupervisorRegistry } from "../supervisors.js";
import { supervisorsPruneCall } from "./calls.js";
import type { RedisClient } from "./connection.js";
import type { Keys } from "./keys.js";
import { evalScript } from "./scripts.js";

/** Expired registrations are kept this long (harmless, filtered out) before being deleted. */
const KEEP_EXPIRED_MS = 60_000;

export function createRedisSupervisorRegistry(client: RedisClient, k: Keys, unavailable: (err: unknown) => never): SupervisorRegistry {
  const hash = k.supervisors;
  const expiries = k.supervisorExpiries;
  return {
    async register(r) {
      await client.multi().hset(hash, r.name, JSON.stringify(r)).zadd(expiries, r.expiresAt, r.name).exec().catch(unavailable);
    },
    async list(now) {
      const names = await client.zrangebyscore(expiries, `(${now}`, "+inf").catch(unavailable);
      // Deletes what expired a while ago (lua/supervisors-prune-2.lua); nobody waits for it.
      evalScript(client, supervisorsPruneCall({ keys: k, before: now - KEEP_EXPIRED_MS })).catch(() => {});
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

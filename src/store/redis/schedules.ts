// Schedules in Redis: one hash per schedule and an index of names.
//
//   <p>:sched:{<name>}   hash  spec (JSON), created, paused ("0"/"1"), last (tick ms),
//                              wf and runAt (the run last started)
//   <p>:idx:schedules    zset  schedule names (score 0)
//
// Every change of a schedule's hash is one script on that one key (one
// Redis Cluster slot); the index is written with single-key commands. The
// scripts compare `created`, so progress of a deleted schedule never lands
// on a new one of the same name.
import type { ScheduleAdvance, ScheduleRecord, ScheduleSpec, ScheduleStore } from "../schedules.js";
import type { RedisClient } from "./connection.js";
import type { Keys } from "./keys.js";

// KEYS[1] the hash. ARGV: spec JSON, created, paused, last. 1 when created, 0 when the name is taken.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'spec', ARGV[1], 'created', ARGV[2], 'paused', ARGV[3], 'last', ARGV[4])
return 1
`;

// KEYS[1] the hash. ARGV: paused ("0"/"1"), now. Resuming moves last to now at least. 1, or 0 when absent.
const SET_PAUSED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'paused', ARGV[1])
if ARGV[1] == '0' and tonumber(redis.call('HGET', KEYS[1], 'last')) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'last', ARGV[2])
end
return 1
`;

// KEYS[1] the hash. ARGV: created, tick ("" none), workflow id ("" none), run time.
// Only forward: a tick not newer than the stored one changes nothing (0).
const ADVANCE = `
if redis.call('HGET', KEYS[1], 'created') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then
  if tonumber(ARGV[2]) <= tonumber(redis.call('HGET', KEYS[1], 'last')) then return 0 end
  redis.call('HSET', KEYS[1], 'last', ARGV[2])
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'wf', ARGV[3], 'runAt', ARGV[4]) end
return 1
`;

const FIELDS = ["spec", "created", "paused", "last", "wf", "runAt"] as const;

function fromRow(row: Array<string | null>): ScheduleRecord | undefined {
  const [spec, created, paused, last, wf, runAt] = row;
  if (spec == null || created == null) return undefined;
  return {
    ...(JSON.parse(spec) as ScheduleSpec),
    createdAt: Number(created),
    paused: paused === "1",
    lastTick: Number(last),
    ...(wf ? { lastWorkflowId: wf } : {}),
    ...(runAt ? { lastRunAt: Number(runAt) } : {}),
  };
}

export function createRedisScheduleStore(client: RedisClient, k: Keys, unavailable: (err: unknown) => never): ScheduleStore {
  const get = async (name: string) => fromRow(await client.hmget(k.schedule(name), ...FIELDS).catch(unavailable));
  return {
    async create(r) {
      const spec: ScheduleSpec = { name: r.name, cron: r.cron, timeZone: r.timeZone, overlap: r.overlap, catchUpMs: r.catchUpMs, target: r.target, inputs: r.inputs };
      const created = await client.eval(CREATE, 1, k.schedule(r.name), JSON.stringify(spec), r.createdAt, r.paused ? "1" : "0", r.lastTick).catch(unavailable);
      if (created !== 1) return false;
      await client.zadd(k.schedules, 0, r.name).catch(unavailable);
      return true;
    },
    get,
    async list() {
      const names = await client.zrange(k.schedules, "0", "-1").catch(unavailable);
      // Sent together (one key each, so a Redis Cluster takes them too): every coordinator reads them about once a second.
      const rows = await Promise.all(names.map((name) => client.hmget(k.schedule(name), ...FIELDS))).catch(unavailable);
      const out: ScheduleRecord[] = [];
      for (const row of rows) {
        const r = fromRow(row);
        if (r) out.push(r);
      }
      return out;
    },
    async delete(name) {
      // Two commands: the hash and the index are in different Cluster slots.
      const deleted = await client.del(k.schedule(name)).catch(unavailable);
      await client.zrem(k.schedules, name).catch(unavailable);
      return deleted === 1;
    },
    async setPaused(name, paused, now) {
      const done = await client.eval(SET_PAUSED, 1, k.schedule(name), paused ? "1" : "0", now).catch(unavailable);
      return done === 1 ? get(name) : undefined;
    },
    async advance(name, a: ScheduleAdvance) {
      const args = [a.createdAt, a.tick ?? "", a.run?.workflowId ?? "", a.run?.at ?? ""];
      return (await client.eval(ADVANCE, 1, k.schedule(name), ...args).catch(unavailable)) === 1;
    },
  };
}

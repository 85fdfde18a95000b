// Schedules in Redis: one hash per schedule and an index of names.
//
//   <p>:sched:{<name>}   hash  spec (JSON), created, paused ("0"/"1"), last (tick ms),
//                              wf and runAt (the run last started)
//   <p>:idx:schedules    zset  schedule names (score 0)
//
// Every change of a schedule's hash is one script on that one key (one
// Redis Cluster slot; lua/schedule-*.lua); the index is written with
// single-key commands. The scripts compare `created`, so progress of a
// deleted schedule never lands on a new one of the same name.
import type { ScheduleAdvance, ScheduleRecord, ScheduleSpec, ScheduleStore } from "../schedules.js";
import type { RedisClient } from "./connection.js";
import { scheduleAdvanceCall, scheduleCreateCall, scheduleSetPausedCall } from "./calls.js";
import type { Keys } from "./keys.js";
import { SCHED } from "./record-codec.js";
import { evalScript } from "./scripts.js";

const FIELDS = [SCHED.spec, SCHED.created, SCHED.paused, SCHED.last, SCHED.workflow, SCHED.runAt] as const;

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
      const call = scheduleCreateCall({ keys: k, name: r.name, specJson: JSON.stringify(spec), createdAt: r.createdAt, paused: r.paused, lastTick: r.lastTick });
      if (!(await evalScript(client, call).catch(unavailable))) return false;
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
      const done = await evalScript(client, scheduleSetPausedCall({ keys: k, name, paused, now })).catch(unavailable);
      return done ? get(name) : undefined;
    },
    async advance(name, a: ScheduleAdvance) {
      return evalScript(client, scheduleAdvanceCall({ keys: k, name, advance: a })).catch(unavailable);
    },
  };
}

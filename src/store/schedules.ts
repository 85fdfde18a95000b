// Cron schedules, kept in the store so that every coordinator sharing it
// (Redis mode) sees the same ones and fires each tick once between them.
// The store only keeps them and moves their progress forward atomically;
// what a tick does is decided in src/schedule/.
import type { JsonMap } from "../common/json.js";

/** What a tick does while the schedule's previous run is still going. */
export type OverlapPolicy = "skip" | "allow" | "cancel_previous";

/** What a schedule starts: a registered template (version 0: the latest at each tick) or a YAML definition. */
export type ScheduleTarget = { template: string; version: number } | { yaml: string };

/** A schedule's settings: set when it is created, never changed (delete and create again). */
export interface ScheduleSpec {
  /** Unique name; also the schedule's id. */
  name: string;
  /** Cron expression, 5 fields (minute precision) or 6 (seconds first). */
  cron: string;
  /** IANA time zone the expression is read in ("UTC", "Europe/Paris"). */
  timeZone: string;
  overlap: OverlapPolicy;
  /** Ticks missed by at most this long (downtime, a slow store) still fire, each once (ms). */
  catchUpMs: number;
  target: ScheduleTarget;
  /** Inputs of every run. */
  inputs: JsonMap;
}

export interface ScheduleRecord extends ScheduleSpec {
  /** When it was created (ms); with the name, tells this schedule from an earlier one of the same name. */
  createdAt: number;
  paused: boolean;
  /** The newest tick handled, fired or skipped (ms); createdAt until the first. */
  lastTick: number;
  /** The run last started (by a tick or TriggerSchedule), and when. */
  lastWorkflowId?: string;
  lastRunAt?: number;
}

/** Progress to record: the tick handled (absent for TriggerSchedule) and the run it started, if any. */
export interface ScheduleAdvance {
  /** Must be the schedule's createdAt: progress of a deleted schedule never lands on a new one of the same name. */
  createdAt: number;
  /** Recorded only when newer than the stored lastTick; nothing else is then either. */
  tick?: number;
  run?: { workflowId: string; at: number };
}

export interface ScheduleStore {
  /** Stores a new schedule; false (nothing changed) when the name is taken. */
  create(record: ScheduleRecord): Promise<boolean>;
  get(name: string): Promise<ScheduleRecord | undefined>;
  /** Every schedule, by name. */
  list(): Promise<ScheduleRecord[]>;
  /** False when there was no such schedule. */
  delete(name: string): Promise<boolean>;
  /**
   * Pauses or resumes. Resuming moves lastTick to `now` at least: ticks that
   * fell while paused are not caught up. The record after, or undefined.
   */
  setPaused(name: string, paused: boolean, now: number): Promise<ScheduleRecord | undefined>;
  /**
   * Records progress, atomically and only forward: when `tick` is not newer
   * than the stored lastTick (another coordinator got there first), nothing
   * changes and the answer is false.
   */
  advance(name: string, advance: ScheduleAdvance): Promise<boolean>;
}

export function createMemoryScheduleStore(): ScheduleStore {
  const entries = new Map<string, ScheduleRecord>();
  return {
    async create(record) {
      if (entries.has(record.name)) return false;
      entries.set(record.name, structuredClone(record));
      return true;
    },
    async get(name) {
      const r = entries.get(name);
      return r && structuredClone(r);
    },
    async list() {
      return [...entries.values()].map((r) => structuredClone(r)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async delete(name) {
      return entries.delete(name);
    },
    async setPaused(name, paused, now) {
      const r = entries.get(name);
      if (!r) return undefined;
      r.paused = paused;
      if (!paused) r.lastTick = Math.max(r.lastTick, now);
      return structuredClone(r);
    },
    async advance(name, a) {
      const r = entries.get(name);
      if (!r || r.createdAt !== a.createdAt) return false;
      if (a.tick !== undefined) {
        if (a.tick <= r.lastTick) return false;
        r.lastTick = a.tick;
      }
      if (a.run) {
        r.lastWorkflowId = a.run.workflowId;
        r.lastRunAt = a.run.at;
      }
      return true;
    },
  };
}

// The embedded store: everything in this process, nothing survives a
// restart. It keeps the same contract as the Redis store (copies in and out,
// ordered cursors, atomic commits) so the engine cannot tell them apart.
// Copies are copyStep/copyRecord: records and attempts are copied, JSON
// values shared, as nothing changes those in place.
import { getHeapStatistics } from "node:v8";
import { copyRecord, copyStep, type StoredEvent, type WorkflowRecord } from "../../engine/model.js";
import { isTerminalWorkflow } from "../../engine/states.js";
import { InvalidCursorError, templateContentKey, type ListQuery, type LogQuery, type LogRecord, type Store, type StoredLog, type TemplateRecord, type WorkflowCommit, type WorkflowSummaryRecord } from "../store.js";
import { summarize } from "../summary.js";
import { createMemorySupervisorRegistry } from "../supervisors.js";
import { createMemoryScheduleStore } from "../schedules.js";
import { eventBytes, logBytes, recordBytes, stepBytes } from "./size.js";

export interface MemoryStoreOptions {
  /** Log lines kept per step; later lines are dropped after one marker line (default 10,000). */
  maxLogLinesPerStep?: number;
  /** Finished workflows kept; the oldest finished ones are forgotten beyond it (default 10,000). */
  maxFinishedWorkflows?: number;
  /** Events kept per workflow (default 100,000); older ones are dropped, as in the Redis store. */
  maxEventsPerWorkflow?: number;
  /**
   * Bytes of workflow state kept, by the estimate of size.ts (records,
   * outputs, events, log lines). Beyond it the oldest finished workflows are
   * forgotten; running ones never are, so they may exceed it on their own.
   * Default: a third of the V8 heap limit (`node --max-old-space-size`),
   * leaving the rest for the estimate's error and the rest of the process.
   */
  maxMemoryBytes?: number;
}

/** The default of maxMemoryBytes: a share of this process's heap limit. */
export function defaultMaxMemoryBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 3);
}

interface Entry {
  record: WorkflowRecord;
  events: StoredEvent[];
  /** Events dropped from the front by the cap; cursors stay absolute. */
  dropped: number;
  logs: StoredLog[];
  logCounts: Map<string, number>;
  /** Estimated bytes of this entry (size.ts), counted in `used`. */
  bytes: number;
  /** Estimated bytes of each step record, so a replaced record is taken off. */
  stepBytes: number[];
  /** Estimated bytes of each kept event, so dropped ones are taken off. */
  eventBytes: number[];
}

export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const maxLogLines = options.maxLogLinesPerStep ?? 10_000;
  const maxFinished = options.maxFinishedWorkflows ?? 10_000;
  const maxEvents = options.maxEventsPerWorkflow ?? 100_000;
  const maxBytes = options.maxMemoryBytes ?? defaultMaxMemoryBytes();
  /** Estimated bytes of every entry kept. */
  let used = 0;
  const entries = new Map<string, Entry>();
  /** Ids in creation order; newest last. */
  const order: string[] = [];
  const finished: string[] = [];
  const byKey = new Map<string, string>();
  const templates = new Map<string, TemplateRecord[]>();
  const listeners = { events: new Map<string, Set<() => void>>(), logs: new Map<string, Set<() => void>>() };
  const changeListeners = new Set<(id: string, terminal: boolean) => void>();

  function changed(id: string, terminal: boolean): void {
    for (const l of [...changeListeners]) l(id, terminal);
  }

  function notify(kind: "events" | "logs", id: string): void {
    const set = listeners[kind].get(id);
    if (set) for (const l of [...set]) l();
  }

  function entry(id: string): Entry {
    const e = entries.get(id);
    if (!e) throw new Error(`workflow ${id} not found`);
    return e;
  }

  function parseCursor(cursor: string): number {
    if (cursor === "") return 0;
    const n = Number(cursor);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidCursorError(cursor);
    return n;
  }

  function grow(e: Entry, bytes: number): void {
    e.bytes += bytes;
    used += bytes;
  }

  /** Forgets the oldest finished workflows while over the count or the byte budget; never a running one. */
  function forgetOldFinished(): void {
    while (finished.length > maxFinished || (used > maxBytes && finished.length > 0)) {
      const id = finished.shift()!;
      const e = entries.get(id);
      entries.delete(id);
      if (e) used -= e.bytes;
      if (e?.record.idempotencyKey) byKey.delete(e.record.idempotencyKey);
    }
    // Forgotten ids are skipped when listing; compact once they dominate.
    if (order.length > 2 * entries.size + 1024) {
      const kept = order.filter((id) => entries.has(id));
      order.length = 0;
      order.push(...kept);
    }
  }

  function create(record: WorkflowRecord): { id: string; existing: boolean } {
    if (record.idempotencyKey) {
      const existing = byKey.get(record.idempotencyKey);
      if (existing !== undefined) return { id: existing, existing: true };
      byKey.set(record.idempotencyKey, record.id);
    }
    const steps = record.steps.map(stepBytes);
    const e: Entry = { record: copyRecord(record), events: [], dropped: 0, logs: [], logCounts: new Map(), bytes: 0, stepBytes: steps, eventBytes: [] };
    entries.set(record.id, e);
    grow(e, recordBytes(record));
    order.push(record.id);
    forgetOldFinished();
    changed(record.id, isTerminalWorkflow(record.state));
    return { id: record.id, existing: false };
  }

  return {
    kind: "memory",
    durable: false,
    supervisors: createMemorySupervisorRegistry(),
    schedules: createMemoryScheduleStore(),

    async ping() {
      // In process: reachable whenever this code runs.
    },

    async createWorkflow(record) {
      return create(record);
    },

    async createWorkflows(records) {
      // All in one synchronous step: nothing else runs between the records.
      return records.map(create);
    },

    async getWorkflow(id) {
      const e = entries.get(id);
      if (!e) return undefined;
      return { record: copyRecord(e.record), cursor: String(e.dropped + e.events.length) };
    },

    async listWorkflows(query: ListQuery) {
      const states = new Set(query.states);
      // Page tokens are positions in creation order, so new submissions
      // never shift a page that is being read.
      let end = order.length;
      if (query.pageToken) {
        const at = order.lastIndexOf(query.pageToken);
        if (at < 0) throw new InvalidCursorError(query.pageToken);
        end = at;
      }
      const items: WorkflowSummaryRecord[] = [];
      let next = "";
      for (let i = end - 1; i >= 0; i--) {
        const e = entries.get(order[i]!);
        if (!e) continue;
        if (states.size > 0 && !states.has(e.record.state)) continue;
        if (query.name && e.record.name !== query.name) continue;
        if (items.length === query.pageSize) {
          next = items[items.length - 1]!.id;
          break;
        }
        items.push(summarize(e.record));
      }
      return { items, nextPageToken: next };
    },

    async commit(id, commit: WorkflowCommit) {
      const e = entry(id);
      let ended = false;
      if (commit.header) {
        const wasTerminal = isTerminalWorkflow(e.record.state);
        ended = !wasTerminal && isTerminalWorkflow(commit.header.state);
        delete e.record.startedAt;
        delete e.record.finishedAt;
        delete e.record.error;
        Object.assign(e.record, commit.header);
        if (!wasTerminal && isTerminalWorkflow(e.record.state)) {
          // Forgotten (if it must be) once the whole commit is counted, below.
          finished.push(id);
        } else if (wasTerminal && !isTerminalWorkflow(e.record.state)) {
          // Running again (RetryWorkflow): not a candidate for forgetting until it ends.
          const at = finished.indexOf(id);
          if (at >= 0) finished.splice(at, 1);
        }
      }
      // Outputs held by a step record and by the event announcing them are one object: counted once.
      const outputs = new Set<unknown>();
      for (const { index, record } of commit.steps) {
        e.record.steps[index] = copyStep(record);
        const bytes = stepBytes(record);
        grow(e, bytes - (e.stepBytes[index] ?? 0));
        e.stepBytes[index] = bytes;
        if (record.output !== undefined && record.output !== null && typeof record.output === "object") outputs.add(record.output);
        else if (typeof record.output === "string") outputs.add(record.output);
      }
      const cursors: string[] = [];
      for (const ev of commit.events) {
        const cursor = String(e.dropped + e.events.length + 1);
        // Events are built fresh per transition and their JSON values are never
        // changed in place, so they are kept as given (see copyStep).
        e.events.push({ ...ev, cursor });
        const bytes = eventBytes(ev, ev.kind === "step" && outputs.has(ev.output));
        e.eventBytes.push(bytes);
        grow(e, bytes);
        cursors.push(cursor);
      }
      if (maxEvents > 0 && e.events.length > maxEvents + maxEvents / 10) {
        const drop = e.events.length - maxEvents;
        e.events.splice(0, drop);
        let bytes = 0;
        for (const b of e.eventBytes.splice(0, drop)) bytes += b;
        grow(e, -bytes);
        e.dropped += drop;
      }
      if (cursors.length > 0) {
        notify("events", id);
        changed(id, ended);
      }
      forgetOldFinished();
      return cursors;
    },

    async readEvents(id, after, limit) {
      const from = parseCursor(after);
      const e = entries.get(id);
      if (!e) return [];
      const at = Math.max(0, from - e.dropped);
      return e.events.slice(at, at + limit);
    },

    async appendLogs(id, lines: LogRecord[]) {
      const e = entries.get(id);
      if (!e) return;
      for (const line of lines) {
        const key = `${line.stepId}\u0000${line.attempt}`;
        const count = e.logCounts.get(key) ?? 0;
        if (count > maxLogLines) continue;
        e.logCounts.set(key, count + 1);
        const record: LogRecord =
          count === maxLogLines
            ? { ...line, stream: "system", line: `[log truncated: more than ${maxLogLines} lines for this attempt]` }
            : line;
        e.logs.push({ ...record, cursor: String(e.logs.length + 1) });
        grow(e, logBytes(record));
      }
      notify("logs", id);
      forgetOldFinished();
    },

    async readLogs(id, query: LogQuery) {
      const from = parseCursor(query.after);
      const e = entries.get(id);
      if (!e) return [];
      const out: StoredLog[] = [];
      for (let i = from; i < e.logs.length && out.length < query.limit; i++) {
        const l = e.logs[i]!;
        if (!query.stepId || l.stepId === query.stepId) out.push(l);
      }
      return out;
    },

    async putTemplate(name, definition, createdAt) {
      const versions = templates.get(name) ?? [];
      const latest = versions.at(-1);
      if (latest && templateContentKey(latest.definition) === templateContentKey(definition)) return { ...structuredClone(latest), existing: true };
      const t: TemplateRecord = { name, version: versions.length + 1, definition: structuredClone(definition), createdAt };
      versions.push(t);
      templates.set(name, versions);
      return { ...structuredClone(t), existing: false };
    },

    async getTemplate(name, version) {
      const versions = templates.get(name);
      const t = version ? versions?.[version - 1] : versions?.[versions.length - 1];
      return t ? structuredClone(t) : undefined;
    },

    async listTemplates() {
      return [...templates.keys()].sort().map((name) => structuredClone(templates.get(name)!.at(-1)!));
    },

    subscribe(kind, id, listener) {
      let set = listeners[kind].get(id);
      if (!set) listeners[kind].set(id, (set = new Set()));
      set.add(listener);
      return () => {
        set!.delete(listener);
        if (set!.size === 0) listeners[kind].delete(id);
      };
    },

    subscribeChanges(listener) {
      changeListeners.add(listener);
      return () => void changeListeners.delete(listener);
    },

    async summaries(ids) {
      const out: WorkflowSummaryRecord[] = [];
      for (const id of ids) {
        const e = entries.get(id);
        if (e) out.push(summarize(e.record));
      }
      return out;
    },

    async close() {
      changeListeners.clear();
      for (const map of Object.values(listeners)) {
        for (const set of map.values()) for (const l of [...set]) l();
      }
    },
  };
}

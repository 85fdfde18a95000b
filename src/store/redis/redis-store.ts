// The Redis store: Redis is the single source of truth, so coordinators can
// restart, die or run side by side. Each workflow lives in keys that share
// one hash tag (see keys.ts); every change to it is one Lua script that
// checks the owner's fencing token (see scripts.ts). Indexes for listing are
// sorted sets. A new workflow is written with its index entries in one
// script (createMany) on a standalone Redis; later changes, and creation on
// a Cluster, write indexes after the workflow itself: a crash in between
// leaves a stale index entry, which readers verify against the workflow and
// drop.
import { randomBytes } from "node:crypto";
import { ReplyError } from "ioredis";
import type { DomainEvent, StepRecord, StoredEvent, WorkflowRecord } from "../../engine/model.js";
import { StepState as S, WorkflowState as W, isTerminalWorkflow, type StepState } from "../../engine/states.js";
import {
  InvalidCursorError,
  LeaseLostError,
  StoreUnavailableError,
  type ListQuery,
  type LogQuery,
  type LogRecord,
  type LogStreamName,
  type Ownership,
  type OwnershipNotice,
  type Store,
  type StoredLog,
  type TemplateRecord,
  type WorkflowCommit,
  type WorkflowSummaryRecord,
  templateContentKey,
} from "../store.js";
import { connect, openRedis } from "./connection.js";
import { createManyCall, parseCreateManyReply } from "./create-many.js";
import { keysFor } from "./keys.js";
import { defineScripts, runScript } from "./scripts.js";
import { createRedisSupervisorRegistry } from "./supervisors.js";
import { createRedisScheduleStore } from "./schedules.js";

export interface RedisStoreOptions {
  /** redis://host:port (or comma-separated seed URLs with `cluster`). */
  url: string;
  /** Connect to a Redis Cluster. */
  cluster?: boolean;
  /** Prefix of every key, so several deployments can share one Redis (default "horus"). */
  prefix?: string;
  /** This coordinator's node id for leases (default: random per process). */
  nodeId?: string;
  /** Finished workflows, their events and logs expire after this long (default 7 days). */
  retentionMs?: number;
  /** Log lines kept per step attempt; one marker line follows (default 10,000). */
  maxLogLinesPerStep?: number;
  /**
   * Events kept per workflow, about (default 100,000; 0: all): older ones are
   * trimmed. A watcher resuming from a trimmed cursor continues at the oldest
   * kept event; GetWorkflow always has the current state.
   */
  maxEventsPerWorkflow?: number;
  /** A Redis command not answered within this time fails UNAVAILABLE (default 5,000 ms). */
  commandTimeoutMs?: number;
  /** How long startup waits for Redis (default 10,000 ms). */
  connectTimeoutMs?: number;
  /** Problems worth a log line (Redis unreachable, a retried write). */
  onWarning?(message: string, error?: unknown): void;
}

/** A created workflow that never got its first commit disappears after this. */
const PROVISIONAL_TTL_MS = 10 * 60_000;
/** Idempotency keys are remembered at least this long, or the retention when longer. */
const MIN_IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
const CURSOR = /^\d+-\d+$/;
const PAGE_TOKEN = /^[A-Za-z0-9_-]{1,200}$/;
const STREAMS: ReadonlySet<string> = new Set<LogStreamName>(["stdout", "stderr", "system"]);
const TERMINAL_STATES = [W.SUCCEEDED, W.FAILED, W.CANCELLED];

interface Owned {
  fence: string;
  seq: number;
  name: string;
}

/** Which list counter a step state counts toward (see the commit script). */
function bucket(state: StepState): string {
  if (state === S.SUCCEEDED) return "s";
  if (state === S.FAILED) return "f";
  if (state === S.RUNNING || state === S.DISPATCHED) return "r";
  return "";
}

/** Errors that mean "Redis cannot answer now" rather than a bug. */
function isTransient(err: unknown): boolean {
  if (err instanceof ReplyError) return /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|BUSY)/.test((err as Error).message);
  return err instanceof Error;
}

function unavailable(err: unknown): never {
  if (err instanceof LeaseLostError || err instanceof InvalidCursorError || err instanceof StoreUnavailableError) throw err;
  if (isTransient(err)) throw new StoreUnavailableError(`redis unavailable: ${String((err as Error).message)}`, { cause: err });
  throw err;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function createRedisStore(options: RedisStoreOptions): Promise<Store & { ownership: Ownership }> {
  const prefix = options.prefix ?? "horus";
  const k = keysFor(prefix);
  const nodeId = options.nodeId ?? `node-${randomBytes(6).toString("hex")}`;
  const retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  const maxLogLines = options.maxLogLinesPerStep ?? 10_000;
  const maxEvents = options.maxEventsPerWorkflow ?? 100_000;
  const idempotencyTtl = Math.max(retentionMs, MIN_IDEMPOTENCY_TTL_MS);
  const warn = options.onWarning ?? (() => {});
  const connection = { url: options.url, ...(options.cluster ? { cluster: true } : {}), ...(options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {}) };
  const client = openRedis(connection);
  const subscriber = openRedis(connection);
  let lastWarning = 0;
  let lastError: Error | undefined;
  let started = false;
  for (const c of [client, subscriber]) {
    // Without a listener ioredis reports connection errors as unhandled.
    // Before the first connection the error goes into the startup failure
    // instead; afterwards one line per 5 s is enough during an outage.
    c.on("error", (err: Error) => {
      lastError = err;
      if (started && Date.now() - lastWarning > 5_000) {
        lastWarning = Date.now();
        warn(`redis unreachable, reconnecting: ${err.message}`);
      }
    });
  }
  defineScripts(client);
  try {
    await connect(client, options.connectTimeoutMs ?? 10_000);
    await connect(subscriber, options.connectTimeoutMs ?? 10_000);
  } catch (err) {
    client.disconnect();
    subscriber.disconnect();
    const cause = lastError ?? (err as Error);
    throw new StoreUnavailableError(`cannot connect to Redis at ${options.url}: ${cause.message}`, { cause });
  }
  started = true;

  const owned = new Map<string, Owned>();
  const listeners = { events: new Map<string, Set<() => void>>(), logs: new Map<string, Set<() => void>>() };
  let closed = false;
  let heartbeats = 0;

  function notifyLocal(kind: "events" | "logs", id: string): void {
    const set = listeners[kind].get(id);
    if (set) for (const l of [...set]) l();
  }

  /**
   * Tells watchers here and on every coordinator: "e" new events, "l" new
   * log lines. A commit that ended the workflow also sends "t" after its
   * "e", so live lists send the end at once (see subscribeChanges); a
   * coordinator that knows only "e" still sees the change through it.
   */
  function publish(kind: "events" | "logs", id: string, ended = false): void {
    notifyLocal(kind, id);
    const lost = () => {
      /* watchers elsewhere catch up on their next wake or reconnect */
    };
    client.publish(k.channel(id), kind === "events" ? "e" : "l").catch(lost);
    if (ended) client.publish(k.channel(id), "t").catch(lost);
  }

  /** The hash fields a WorkflowSummaryRecord is made of (see summaryRow). */
  const summaryFields = (id: string) => client.hmget(k.workflow(id), "name", "createdAt", "state", "finishedAt", "error", "n", "cs", "cf", "cr", "labels", "parent");

  const changeListeners = new Set<(id: string, terminal: boolean) => void>();
  const changePattern = `${k.channelPrefix}*`;

  const noticeListeners: Array<(id: string, notice: OwnershipNotice) => void> = [];
  const myChannel = k.nodeChannel(nodeId);
  await subscriber.subscribe(myChannel).catch(unavailable);

  subscriber.on("message", (channel: string, message: string) => {
    if (channel === myChannel) {
      const [notice, id] = message.split(" ");
      if (notice === "cancel" && id) for (const l of noticeListeners) l(id, notice);
      return;
    }
    if (!channel.startsWith(k.channelPrefix)) return;
    // "t" follows an "e" for the same commit: no new events of its own.
    if (message === "t") return;
    notifyLocal(message === "l" ? "logs" : "events", channel.slice(k.channelPrefix.length));
  });
  // Live lists: every commit with events already publishes "e" on its
  // workflow's channel, so a pattern subscription sees every change without
  // an extra write per commit.
  subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => {
    if ((message !== "e" && message !== "t") || !channel.startsWith(k.channelPrefix)) return;
    const id = channel.slice(k.channelPrefix.length);
    for (const l of [...changeListeners]) l(id, message === "t");
  });
  subscriber.on("ready", () => {
    if (changeListeners.size > 0) subscriber.psubscribe(changePattern).catch(() => {});
    // Back after an outage: messages may have been missed, so wake every
    // watcher to re-read, and make sure every channel is subscribed.
    const ids = new Set([...listeners.events.keys(), ...listeners.logs.keys()]);
    if (ids.size > 0) subscriber.subscribe(...[...ids].map(k.channel)).catch(() => {});
    for (const id of ids) {
      notifyLocal("events", id);
      notifyLocal("logs", id);
    }
  });

  /** Runs a write until it succeeds, retrying while Redis is unreachable; gives up only when closed. */
  async function persistently<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let delay = 100;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (closed || !isTransient(err) || err instanceof LeaseLostError) unavailable(err);
        warn(`${what}: redis unavailable, retrying: ${(err as Error).message}`, err);
        await sleep(delay);
        delay = Math.min(delay * 2, 2_000);
      }
    }
  }

  function recordFields(r: WorkflowRecord): string[] {
    const fixed = {
      id: r.id,
      name: r.name,
      definition: r.definition,
      levels: r.levels,
      inputs: r.inputs,
      labels: r.labels,
      createdAt: r.createdAt,
      ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey } : {}),
      // A child's place in its chain of sub-workflows, which bounds the chain (W4).
      ...(r.depth ? { depth: r.depth } : {}),
      ...(r.parent ? { parent: r.parent } : {}),
      ...(r.template ? { template: r.template } : {}),
    };
    const f: string[] = ["rec", JSON.stringify(fixed), "name", r.name, "createdAt", String(r.createdAt), "state", String(r.state), "n", String(r.steps.length)];
    // Read with the summary (summaryFields) without parsing the record.
    if (Object.keys(r.labels).length > 0) f.push("labels", JSON.stringify(r.labels));
    if (r.parent) f.push("parent", r.parent.workflowId);
    if (r.startedAt !== undefined) f.push("startedAt", String(r.startedAt));
    if (r.finishedAt !== undefined) f.push("finishedAt", String(r.finishedAt));
    if (r.error !== undefined) f.push("error", r.error);
    const counts: Record<string, number> = { s: 0, f: 0, r: 0 };
    r.steps.forEach((s, i) => {
      const b = bucket(s.state);
      if (b) counts[b]!++;
      f.push(`s:${i}`, JSON.stringify(s), `b:${i}`, b);
    });
    f.push("cs", String(counts.s), "cf", String(counts.f), "cr", String(counts.r));
    return f;
  }

  function parseRecord(h: Record<string, string>): WorkflowRecord {
    const fixed = JSON.parse(h.rec!) as Omit<WorkflowRecord, "state" | "steps">;
    const n = Number(h.n);
    const steps: StepRecord[] = new Array(n);
    for (let i = 0; i < n; i++) steps[i] = JSON.parse(h[`s:${i}`]!) as StepRecord;
    return {
      ...fixed,
      state: Number(h.state) as WorkflowRecord["state"],
      steps,
      ...(h.startedAt !== undefined ? { startedAt: Number(h.startedAt) } : {}),
      ...(h.finishedAt !== undefined ? { finishedAt: Number(h.finishedAt) } : {}),
      ...(h.error !== undefined ? { error: h.error } : {}),
    };
  }

  /** Moves a workflow between state indexes after its state changed. */
  async function reindex(id: string, name: string, from: string | undefined, to: number, finishedAt: number | undefined): Promise<void> {
    const ops: Array<Promise<unknown>> = [client.zadd(k.state(to), 0, id)];
    const olds = from === undefined ? Object.values(W).filter((s) => typeof s === "number" && s !== to) : from === String(to) ? [] : [Number(from)];
    for (const s of olds) ops.push(client.zrem(k.state(s as number), id));
    if (isTerminalWorkflow(to as WorkflowRecord["state"])) {
      ops.push(client.zrem(k.active, id), client.srem(k.owned(nodeId), id), client.zadd(k.finished, finishedAt ?? Date.now(), `${id}\n${name}`));
    } else {
      // Also what brings a workflow run again by RetryWorkflow back among the running.
      ops.push(client.zadd(k.active, 0, id), client.sadd(k.owned(nodeId), id), client.zrem(k.finished, `${id}\n${name}`));
    }
    await Promise.all(ops);
  }

  function checkCursor(cursor: string): string {
    if (cursor === "") return "-";
    if (!CURSOR.test(cursor)) throw new InvalidCursorError(cursor);
    return `(${cursor}`;
  }

  /** Forgets index entries of workflows whose retention ran out. */
  async function trimIndexes(): Promise<void> {
    const cutoff = Date.now() - retentionMs;
    const gone = await client.zrangebyscore(k.finished, "-inf", cutoff, "LIMIT", 0, 1000);
    if (gone.length === 0) return;
    const ops: Array<Promise<unknown>> = [client.zrem(k.finished, ...gone)];
    for (const entry of gone) {
      const [id, name] = [entry.slice(0, entry.indexOf("\n")), entry.slice(entry.indexOf("\n") + 1)];
      ops.push(client.zrem(k.all, id), client.zrem(k.name(name), id));
      for (const s of TERMINAL_STATES) ops.push(client.zrem(k.state(s), id));
    }
    await Promise.all(ops);
  }

  async function getTemplate(name: string, version?: number): Promise<TemplateRecord | undefined> {
    const v = version || Number(await client.hget(k.template(name), "latest").catch(unavailable));
    if (!v) return undefined;
    const json = await client.hget(k.template(name), `v:${v}`).catch(unavailable);
    if (json === null) return undefined;
    const { definition, createdAt } = JSON.parse(json) as { definition: TemplateRecord["definition"]; createdAt: number };
    return { name, version: v, definition, createdAt };
  }

  /**
   * Standalone Redis: one createMany call stores the workflows, their
   * idempotency keys and their index entries together. A Cluster keeps
   * indexes in other slots than workflows, so no one script can write both:
   * there each workflow takes createOne's three steps, all workflows at once.
   */
  async function createWorkflows(records: readonly WorkflowRecord[]): Promise<Array<{ id: string; existing: boolean }>> {
    if (records.length === 0) return [];
    if (options.cluster) return createEach(records);
    const { keys, args } = createManyCall({
      keys: k,
      nodeId,
      provisionalTtlMs: PROVISIONAL_TTL_MS,
      idempotencyTtlMs: idempotencyTtl,
      records: records.map((record) => ({ record, fields: recordFields(record) })),
    });
    const reply = parseCreateManyReply(records, await runScript(client, "createMany", keys, args).catch(unavailable));
    if (!reply.ok) throw new Error(`workflow ${reply.existingId} already exists`);
    reply.results.forEach((r, i) => {
      if (!r.existing) owned.set(r.id, { fence: "1", seq: 0, name: records[i]!.name });
    });
    return reply.results;
  }

  /** createWorkflows on a Cluster: every record at once; a key repeated in the batch goes to its first record's result. */
  async function createEach(records: readonly WorkflowRecord[]): Promise<Array<{ id: string; existing: boolean }>> {
    const first = new Map<string, number>();
    const results = await Promise.all(
      records.map((r, i) => {
        if (r.idempotencyKey === undefined) return createOne(r);
        const earlier = first.get(r.idempotencyKey);
        if (earlier !== undefined) return undefined;
        first.set(r.idempotencyKey, i);
        return createOne(r);
      }),
    );
    return results.map((r, i) => r ?? { id: results[first.get(records[i]!.idempotencyKey!)!]!.id, existing: true });
  }

  /** One workflow: the hash (with a provisional TTL), then its idempotency key, then its index entries. */
  async function createOne(record: WorkflowRecord): Promise<{ id: string; existing: boolean }> {
    const id = record.id;
    const created = await runScript(client, "create", [k.workflow(id)], [nodeId, PROVISIONAL_TTL_MS, ...recordFields(record)]).catch(unavailable);
    if (created !== 1) throw new Error(`workflow ${id} already exists`);
    if (record.idempotencyKey !== undefined) {
      const key = k.idempotency(record.idempotencyKey);
      const set = await client.set(key, id, "PX", idempotencyTtl, "NX").catch(unavailable);
      if (set === null) {
        const existing = await client.get(key).catch(unavailable);
        await client.del(k.workflow(id)).catch(() => {});
        if (existing !== null) return { id: existing, existing: true };
        await client.set(key, id, "PX", idempotencyTtl).catch(unavailable);
      }
    }
    owned.set(id, { fence: "1", seq: 0, name: record.name });
    const ops: Array<Promise<unknown>> = [client.zadd(k.all, 0, id), client.zadd(k.state(record.state), 0, id), client.zadd(k.name(record.name), 0, id)];
    if (!isTerminalWorkflow(record.state)) ops.push(client.zadd(k.active, 0, id), client.sadd(k.owned(nodeId), id));
    await Promise.all(ops).catch(unavailable);
    return { id, existing: false };
  }

  const ownership: Ownership = {
    nodeId,

    async heartbeat(leaseMs) {
      const [expired, live] = (await runScript(client, "heartbeat", [k.nodes], [nodeId, leaseMs]).catch(unavailable)) as [string[], string[]];
      if (heartbeats++ % 20 === 0) await trimIndexes().catch((err) => warn("could not trim expired index entries", err));
      return { expired: expired.filter((n) => n !== nodeId), live };
    },

    async ownedBy(node) {
      return client.smembers(k.owned(node)).catch(unavailable);
    },

    async active() {
      const ids = await client.zrange(k.active, "0", "-1").catch(unavailable);
      const owners = await Promise.all(ids.map((id) => client.hget(k.workflow(id), "owner"))).catch(unavailable);
      const out: Array<{ id: string; owner: string }> = [];
      const vanished: string[] = [];
      ids.forEach((id, i) => (owners[i] === null ? vanished.push(id) : out.push({ id, owner: owners[i]! })));
      if (vanished.length > 0) await client.zrem(k.active, ...vanished).catch(() => {});
      return out;
    },

    onNotice(listener) {
      noticeListeners.push(listener);
    },

    async claim(id, from, notice) {
      const res = (await runScript(client, "claim", [k.workflow(id)], [nodeId, from ?? ""]).catch(unavailable)) as string[];
      if (res[0] === "GONE") {
        owned.delete(id);
        await Promise.all([client.zrem(k.active, id), from ? client.srem(k.owned(from), id) : 0]).catch(() => {});
        return undefined;
      }
      if (res[0] !== "OK") {
        if (from) await client.srem(k.owned(from), id).catch(() => {});
        return undefined;
      }
      const got = await client.hgetall(k.workflow(id)).catch(unavailable);
      if (!got.rec) return undefined;
      const record = parseRecord(got);
      const previous = from ?? (res[4] !== nodeId ? res[4] : undefined);
      if (isTerminalWorkflow(record.state)) {
        await reindex(id, record.name, undefined, record.state, record.finishedAt).catch(() => {});
        if (previous) await client.srem(k.owned(previous), id).catch(() => {});
        return undefined;
      }
      owned.set(id, { fence: res[1]!, seq: Number(res[2]), name: record.name });
      if (notice && previous) client.publish(k.nodeChannel(previous), `${notice} ${id}`).catch(() => {});
      await Promise.all([client.sadd(k.owned(nodeId), id), previous ? client.srem(k.owned(previous), id) : 0]).catch(unavailable);
      return record;
    },

    async reopen(id) {
      const res = (await runScript(client, "claim", [k.workflow(id)], [nodeId, ""]).catch(unavailable)) as string[];
      if (res[0] !== "OK") return undefined;
      const got = await client.hgetall(k.workflow(id)).catch(unavailable);
      if (!got.rec) return undefined;
      const record = parseRecord(got);
      owned.set(id, { fence: res[1]!, seq: Number(res[2]), name: record.name });
      if (res[4] && res[4] !== nodeId) await client.srem(k.owned(res[4]), id).catch(() => {});
      return record;
    },

    async forgetNode(node) {
      await Promise.all([client.zrem(k.nodes, node), client.del(k.owned(node))]).catch(unavailable);
    },

    async release() {
      // Score 0: expired for everyone, so the next heartbeat anywhere takes our workflows over.
      await client.zadd(k.nodes, "XX", "0", nodeId).catch(unavailable);
    },
  };

  return {
    kind: "redis",
    durable: true,
    ownership,
    supervisors: createRedisSupervisorRegistry(client, prefix, unavailable),
    schedules: createRedisScheduleStore(client, k, unavailable),

    async ping() {
      // No offline queue: while Redis is down this fails at once.
      await client.ping().catch(unavailable);
    },

    async createWorkflow(record) {
      return (await createWorkflows([record]))[0]!;
    },

    createWorkflows,

    async getWorkflow(id) {
      const h = await client.hgetall(k.workflow(id)).catch(unavailable);
      if (!h.rec) return undefined;
      return { record: parseRecord(h), cursor: h.cursor ?? "0-0" };
    },

    async listWorkflows(query: ListQuery) {
      if (query.pageToken && !PAGE_TOKEN.test(query.pageToken)) throw new InvalidCursorError(query.pageToken);
      const states = new Set<number>(query.states);
      const index = query.name ? k.name(query.name) : states.size === 1 ? k.state([...states][0]!) : k.all;
      const items: WorkflowSummaryRecord[] = [];
      let bound = query.pageToken ? `(${query.pageToken}` : "+";
      const batch = Math.max(query.pageSize + 1, 50);
      for (;;) {
        const ids = await client.zrevrangebylex(index, bound, "-", "LIMIT", 0, batch).catch(unavailable);
        if (ids.length === 0) break;
        const rows = await Promise.all(ids.map(summaryFields)).catch(unavailable);
        const stale: string[] = [];
        for (let i = 0; i < ids.length; i++) {
          const summary = summaryRow(ids[i]!, rows[i]!);
          if (!summary) {
            stale.push(ids[i]!);
            continue;
          }
          if (states.size > 0 && !states.has(summary.state)) continue;
          if (query.name && summary.name !== query.name) continue;
          if (items.length === query.pageSize) {
            return { items, nextPageToken: items[items.length - 1]!.id };
          }
          items.push(summary);
        }
        // Entries of expired workflows: drop them so later lists skip less.
        if (stale.length > 0) client.zrem(index, ...stale).catch(() => {});
        if (ids.length < batch) break;
        bound = `(${ids[ids.length - 1]}`;
      }
      return { items, nextPageToken: "" };
    },

    async commit(id, commit: WorkflowCommit) {
      const own = owned.get(id);
      if (!own) throw new LeaseLostError(`workflow ${id} is not owned by this coordinator`);
      const set: string[] = [];
      const del: string[] = [];
      const header = commit.header;
      if (header) {
        set.push("state", String(header.state));
        for (const f of ["startedAt", "finishedAt", "error"] as const) {
          if (header[f] !== undefined) set.push(f, String(header[f]));
          else del.push(f);
        }
      }
      const buckets: string[] = [];
      for (const { index, record } of commit.steps) {
        set.push(`s:${index}`, JSON.stringify(record));
        buckets.push(String(index), bucket(record.state));
      }
      const terminal = header !== undefined && isTerminalWorkflow(header.state);
      const args = [
        own.fence,
        own.seq,
        terminal ? retentionMs : 0,
        maxEvents,
        set.length / 2,
        ...set,
        del.length,
        ...del,
        buckets.length / 2,
        ...buckets,
        ...commit.events.map((e) => JSON.stringify(e)),
      ];
      const keys = [k.workflow(id), k.events(id), k.logs(id), k.logCounts(id)];
      const res = (await persistently(`commit of ${id}`, () => runScript(client, "commit", keys, args))) as string[];
      if (res[0] === "SEQ") {
        owned.delete(id);
        throw new LeaseLostError(`workflow ${id}: the store is at commit ${res[1]}, this coordinator at ${own.seq}; reloading`, true);
      }
      if (res[0] === "GONE") {
        owned.delete(id);
        throw new LeaseLostError(`workflow ${id} is gone from Redis (deleted, expired, or Redis restarted without its data)`, false, true);
      }
      if (res[0] !== "OK" && res[0] !== "DUP") {
        owned.delete(id);
        throw new LeaseLostError(`workflow ${id} was taken over by another coordinator (${res.join(" ")})`);
      }
      own.seq++;
      if (terminal) owned.delete(id);
      if (header) {
        const from = res[0] === "OK" ? res[1] : undefined;
        await persistently(`indexes of ${id}`, () => reindex(id, own.name, from, header.state, header.finishedAt));
      }
      const cursors = res[0] === "OK" ? res.slice(2) : [];
      if (commit.events.length > 0) publish("events", id, terminal);
      return cursors;
    },

    async readEvents(id, after, limit) {
      const from = checkCursor(after);
      const entries = await client.xrange(k.events(id), from, "+", "COUNT", limit).catch(unavailable);
      return entries.map(([cursor, fields]) => ({ ...(JSON.parse(fields[1]!) as DomainEvent), cursor }) as StoredEvent);
    },

    async appendLogs(id, lines: LogRecord[]) {
      if (lines.length === 0) return;
      for (let at = 0; at < lines.length; at += 1000) {
        const args: Array<string | number> = [maxLogLines];
        for (const l of lines.slice(at, at + 1000)) args.push(l.stepId, l.attempt, l.time, l.stream, l.line);
        await persistently(`logs of ${id}`, () => runScript(client, "appendLogs", [k.workflow(id), k.logs(id), k.logCounts(id)], args));
      }
      publish("logs", id);
    },

    async readLogs(id, query: LogQuery) {
      let from = checkCursor(query.after);
      const out: StoredLog[] = [];
      const count = Math.max(query.limit, 100);
      for (;;) {
        const entries = await client.xrange(k.logs(id), from, "+", "COUNT", count).catch(unavailable);
        for (const [cursor, f] of entries) {
          // Fields are written in a fixed order: s, a, t, o, l.
          const stepId = f[1]!;
          if (query.stepId && stepId !== query.stepId) continue;
          const stream = STREAMS.has(f[7]!) ? (f[7] as LogStreamName) : "stdout";
          out.push({ stepId, attempt: Number(f[3]), time: Number(f[5]), stream, line: f[9] ?? "", cursor });
          if (out.length === query.limit) return out;
        }
        if (entries.length < count) return out;
        from = `(${entries[entries.length - 1]![0]}`;
      }
    },

    async putTemplate(name, definition, createdAt) {
      const reply = (await runScript(client, "putTemplate", [k.template(name)], [JSON.stringify({ definition, createdAt }), templateContentKey(definition)]).catch(unavailable)) as [number, number, string?];
      const [version, existing, stored] = reply;
      await client.zadd(k.templates, 0, name).catch(unavailable);
      if (existing === 1 && stored) {
        const was = JSON.parse(stored) as { definition: TemplateRecord["definition"]; createdAt: number };
        return { name, version, definition: was.definition, createdAt: was.createdAt, existing: true };
      }
      return { name, version, definition, createdAt, existing: false };
    },

    getTemplate,

    async listTemplates() {
      const names = await client.zrange(k.templates, "0", "-1").catch(unavailable);
      const all = await Promise.all(names.map((n) => getTemplate(n)));
      return all.filter((t): t is TemplateRecord => t !== undefined);
    },

    subscribe(kind, id, listener) {
      const first = !listeners.events.has(id) && !listeners.logs.has(id);
      let set = listeners[kind].get(id);
      if (!set) listeners[kind].set(id, (set = new Set()));
      set.add(listener);
      if (first) subscriber.subscribe(k.channel(id)).catch(() => {});
      return () => {
        set!.delete(listener);
        if (set!.size === 0) listeners[kind].delete(id);
        if (!listeners.events.has(id) && !listeners.logs.has(id)) subscriber.unsubscribe(k.channel(id)).catch(() => {});
      };
    },

    subscribeChanges(listener) {
      if (changeListeners.size === 0) subscriber.psubscribe(changePattern).catch(() => {});
      changeListeners.add(listener);
      return () => {
        if (!changeListeners.delete(listener) || changeListeners.size > 0) return;
        subscriber.punsubscribe(changePattern).catch(() => {});
      };
    },

    async summaries(ids) {
      const rows = await Promise.all(ids.map(summaryFields)).catch(unavailable);
      return ids.flatMap((id, i) => summaryRow(id, rows[i]!) ?? []);
    },

    async close() {
      if (closed) return;
      closed = true;
      changeListeners.clear();
      for (const map of Object.values(listeners)) {
        for (const set of map.values()) for (const l of [...set]) l();
      }
      await Promise.all([client.quit().catch(() => client.disconnect()), subscriber.quit().catch(() => subscriber.disconnect())]);
    },
  };
}

/** A summary from the hash fields read by summaryFields; undefined for an expired workflow. */
function summaryRow(id: string, row: Array<string | null>): WorkflowSummaryRecord | undefined {
  const [name, createdAt, state, finishedAt, error, n, cs, cf, cr, labels, parent] = row;
  if (name == null || state == null) return undefined;
  return {
    id,
    name,
    state: Number(state) as WorkflowRecord["state"],
    createdAt: Number(createdAt),
    ...(finishedAt != null ? { finishedAt: Number(finishedAt) } : {}),
    ...(error != null ? { error } : {}),
    stepsTotal: Number(n),
    stepsSucceeded: Number(cs),
    stepsFailed: Number(cf),
    stepsRunning: Number(cr),
    ...(labels != null ? { labels: JSON.parse(labels) as Record<string, string> } : {}),
    ...(parent != null ? { parentWorkflowId: parent } : {}),
  };
}

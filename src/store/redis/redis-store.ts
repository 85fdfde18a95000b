// The Redis store: Redis is the single source of truth, so coordinators can
// restart, die or run side by side. Each workflow lives in keys that share
// one hash tag (keys.ts), laid out by record-codec.ts; every change to it is
// one Lua script (lua/, run through scripts.ts with calls.ts's typed
// arguments) that checks the owner's fencing token. Indexes for listing are
// sorted sets. This file opens the connections and puts the parts together:
//
//   workflows.ts      create, read, commit
//   ownership.ts      leases, claims, fencing
//   indexes.ts        the cross-workflow indexes and listings
//   streams.ts        event and log streams
//   templates.ts      workflow templates
//   notifications.ts  pub/sub between coordinators
//   schedules.ts, supervisors.ts   the shared schedule and supervisor registries
import { randomBytes } from "node:crypto";
import { StoreUnavailableError, type Ownership, type Store } from "../store.js";
import { connect, openRedis } from "./connection.js";
import { unavailable, type Owned, type StoreContext } from "./context.js";
import { createIndexes } from "./indexes.js";
import { keysFor } from "./keys.js";
import { createNotifications } from "./notifications.js";
import { createOwnership } from "./ownership.js";
import { createRedisScheduleStore } from "./schedules.js";
import { defineScripts } from "./scripts.js";
import { createStreams } from "./streams.js";
import { createRedisSupervisorRegistry } from "./supervisors.js";
import { createTemplates } from "./templates.js";
import { createWorkflowStore } from "./workflows.js";

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

/** Idempotency keys are remembered at least this long, or the retention when longer. */
const MIN_IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

export async function createRedisStore(options: RedisStoreOptions): Promise<Store & { ownership: Ownership }> {
  const prefix = options.prefix ?? "horus";
  const k = keysFor(prefix);
  const nodeId = options.nodeId ?? `node-${randomBytes(6).toString("hex")}`;
  const retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  const warn = options.onWarning ?? (() => {});
  const connection = { url: options.url, ...(options.cluster ? { cluster: true } : {}), ...(options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {}) };
  const client = openRedis(connection);
  const subscriber = openRedis({ ...connection, subscriber: true });
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

  let closed = false;
  const ctx: StoreContext = { client, keys: k, nodeId, owned: new Map<string, Owned>(), retentionMs, warn, isClosed: () => closed };
  const notifications = await createNotifications(ctx, subscriber);
  const indexes = createIndexes(ctx);
  const workflows = createWorkflowStore(ctx, indexes, notifications, {
    cluster: options.cluster ?? false,
    idempotencyTtlMs: Math.max(retentionMs, MIN_IDEMPOTENCY_TTL_MS),
    maxEvents: options.maxEventsPerWorkflow ?? 100_000,
  });

  return {
    kind: "redis",
    durable: true,
    ownership: createOwnership(ctx, indexes, notifications),
    supervisors: createRedisSupervisorRegistry(client, k, unavailable),
    schedules: createRedisScheduleStore(client, k, unavailable),

    async ping() {
      // No offline queue: while Redis is down this fails at once.
      await client.ping().catch(unavailable);
    },

    ...workflows,
    listWorkflows: (query) => indexes.list(query),
    summaries: (ids) => indexes.summaries(ids),
    ...createStreams(ctx, notifications, { maxLogLines: options.maxLogLinesPerStep ?? 10_000 }),
    ...createTemplates(ctx),
    subscribe: notifications.subscribe,
    subscribeChanges: notifications.subscribeChanges,

    async close() {
      if (closed) return;
      closed = true;
      notifications.close();
      await Promise.all([client.quit().catch(() => client.disconnect()), subscriber.quit().catch(() => subscriber.disconnect())]);
    },
  };
}

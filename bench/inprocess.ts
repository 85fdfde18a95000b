// In-process figures, for profiling only: a coordinator started in this
// process (embedded: memory store and the reference supervisor in this
// process too; Redis: Redis store, supervisor in a process of its own).
// Workflows are submitted through the public API (Connect, binary over
// h2c, to its port), but their end is noticed by wrapping the store's
// commit, which no user can do: the headline figures come from
// bench/client.ts instead. Profiling one process (`node --cpu-prof`) that
// holds the coordinator and the client is the use of this.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../gen/horus/coordinator/v1/coordinator_pb.js";
import { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from "../src/coordinator/app.js";
import { toValueMap } from "../src/common/json.js";
import type { WorkflowRecord } from "../src/engine/model.js";
import { isTerminalWorkflow } from "../src/engine/states.js";
import { createMemoryStore } from "../src/store/memory/memory-store.js";
import { createRedisStore } from "../src/store/redis/redis-store.js";
import type { Store } from "../src/store/store.js";
import { specOf } from "./client.js";
import type { EndWatch, Target } from "./target.js";

export interface InProcessTarget extends Target {
  readonly coordinator: RunningCoordinator;
}

/** Wraps a store so the bench learns of workflow ends from the commits themselves. */
function watched(inner: Store): { store: Store; ended(id: string): Promise<void> } {
  const done = new Set<string>();
  const waiters = new Map<string, () => void>();
  const store: Store = {
    ...inner,
    async commit(id, commit) {
      const cursors = await inner.commit(id, commit);
      if (commit.header && isTerminalWorkflow(commit.header.state)) {
        done.add(id);
        waiters.get(id)?.();
      }
      return cursors;
    },
  };
  return {
    store,
    ended(id) {
      if (done.has(id)) return Promise.resolve();
      return new Promise((resolve) => waiters.set(id, () => { waiters.delete(id); resolve(); }));
    },
  };
}

export async function startInProcess(mode: "embedded" | "redis", opts: { redisUrl?: string; supervisorUrl?: string; coordinator?: CoordinatorOptions } = {}): Promise<InProcessTarget> {
  const inner = mode === "embedded"
    ? createMemoryStore()
    : await createRedisStore({ url: opts.redisUrl!, prefix: `benchin${Date.now()}` });
  const w = watched(inner);
  const coordinator = await startCoordinator({
    port: 0,
    store: w.store,
    limits: { maxSteps: 1_000_000 },
    // "many" submits 500 workflows at once: the per-token submit rate limit
    // (default 200/s) would refuse most of them, and BullMQ has none.
    security: { clientLimits: { submitsPerSecond: 0 } },
    ...(mode === "redis" ? { supervisors: [opts.supervisorUrl!] } : {}),
    ...opts.coordinator,
  });
  const client: Client<typeof CoordinatorService> = createClient(
    CoordinatorService,
    createConnectTransport({ baseUrl: coordinator.url, httpVersion: "2", useBinaryFormat: true }),
  );
  const submit = async (yaml: string, inputs = {}) =>
    (await client.submitWorkflow({ definition: { case: "spec", value: specOf(yaml) }, inputs: toValueMap(inputs) })).workflowId;
  const record = async (id: string): Promise<WorkflowRecord> => {
    const got = await w.store.getWorkflow(id);
    if (!got) throw new Error(`workflow ${id} not found`);
    return got.record;
  };
  const all: EndWatch = { ended: w.ended, close: async () => {} };
  return {
    coordinator,
    submit,
    submitMany: (yaml, count) => (specOf(yaml), Promise.all(Array.from({ length: count }, () => submit(yaml)))),
    ended: w.ended,
    watchAll: async () => all,
    dispatchLatencies: async (id) => dispatchLatencies(await record(id)),
    finishedAt: async (id) => (await record(id)).finishedAt ?? NaN,
    ranMs: async (id) => {
      const r = await record(id);
      return (r.finishedAt ?? NaN) - r.createdAt;
    },
    close: () => coordinator.close(),
  };
}

/** Dispatch latencies of a stored workflow (see Target.dispatchLatencies). */
export function dispatchLatencies(record: WorkflowRecord): number[] {
  const deps = new Map(record.definition.steps.map((s) => [s.id, s.dependsOn.length]));
  const out: number[] = [];
  for (const step of record.steps) {
    if (!deps.get(step.id)) continue;
    const last = step.attempts[step.attempts.length - 1];
    if (step.readyAt === undefined || last?.dispatchedAt === undefined) continue;
    out.push(last.dispatchedAt - step.readyAt);
  }
  return out;
}

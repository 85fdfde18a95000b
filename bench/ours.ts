// Runs the shapes on a Horus coordinator: embedded (memory store and the
// reference supervisor in this process) or Redis (Redis store, supervisor in
// a process of its own). Workflows are submitted through the public API
// (Connect, binary over h2c); their end is noticed by watching the store's
// commits, which costs the coordinator nothing, as BullMQ's end is noticed
// from a worker's "completed" event.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../gen/horus/coordinator/v1/coordinator_pb.js";
import { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from "../src/coordinator/app.js";
import type { WorkflowRecord } from "../src/engine/model.js";
import { isTerminalWorkflow } from "../src/engine/states.js";
import { createMemoryStore } from "../src/store/memory/memory-store.js";
import { createRedisStore } from "../src/store/redis/redis-store.js";
import { definitionToSpec } from "../src/coordinator/convert.js";
import { parseWorkflowYaml } from "../src/workflow/parse.js";
import type { Store } from "../src/store/store.js";

export interface Target {
  submit(yaml: string): Promise<string>;
  /** Resolves when the workflow has ended (its final commit is stored). */
  ended(id: string): Promise<void>;
  record(id: string): Promise<WorkflowRecord>;
  readonly coordinator: RunningCoordinator;
  close(): Promise<void>;
}

const specs = new Map<string, ReturnType<typeof definitionToSpec>>();

/**
 * Workflows are submitted in the structured form (a WorkflowSpec message),
 * as BullMQ flows are plain objects: parsing YAML is measured apart from
 * running (YAML of 2,001 steps takes the yaml package ~100-200 ms).
 * Parsed once per text, outside the timed part.
 */
export function specOf(yaml: string): ReturnType<typeof definitionToSpec> {
  let spec = specs.get(yaml);
  if (!spec) {
    const parsed = parseWorkflowYaml(yaml);
    if (!parsed.definition) throw new Error(`bench workflow does not parse: ${parsed.problems[0]?.message}`);
    spec = definitionToSpec(parsed.definition);
    specs.set(yaml, spec);
  }
  return spec;
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

export async function startTarget(mode: "embedded" | "redis", opts: { redisUrl?: string; supervisorUrl?: string; coordinator?: CoordinatorOptions } = {}): Promise<Target> {
  const inner = mode === "embedded"
    ? createMemoryStore()
    : await createRedisStore({ url: opts.redisUrl!, prefix: `bench${Date.now()}` });
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
  return {
    coordinator,
    async submit(yaml) {
      const res = await client.submitWorkflow({ definition: { case: "spec", value: specOf(yaml) } });
      return res.workflowId;
    },
    ended: w.ended,
    async record(id) {
      const got = await w.store.getWorkflow(id);
      if (!got) throw new Error(`workflow ${id} not found`);
      return got.record;
    },
    close: () => coordinator.close(),
  };
}

/** Submits one workflow and waits for its end; milliseconds from submit to end. */
export async function runOne(t: Target, yaml: string): Promise<{ ms: number; id: string }> {
  specOf(yaml);
  const start = performance.now();
  const id = await t.submit(yaml);
  await t.ended(id);
  return { ms: performance.now() - start, id };
}

/** Submits `count` workflows at once and waits for all; milliseconds from the first submit to the last end. */
export async function runMany(t: Target, yaml: string, count: number): Promise<{ ms: number; ids: string[] }> {
  specOf(yaml);
  const start = performance.now();
  const ids = await Promise.all(Array.from({ length: count }, () => t.submit(yaml).then(async (id) => (await t.ended(id), id))));
  return { ms: performance.now() - start, ids };
}

/**
 * Dispatch latencies of a finished workflow, in ms: from the moment a step
 * became READY (its last dependency succeeded, in the same transition) to
 * the moment a supervisor's acceptance was applied (the attempt's
 * dispatchedAt). Steps without dependencies are left out.
 */
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

// Big definitions and everyone else: while one client validates or submits a
// large definition, another client's small requests (ListWorkflows, one
// after the other) should still be answered within ~100 ms. Large YAML is
// read in worker threads (src/coordinator/definition-pool.ts); a spec
// (protobuf) is decoded by Connect on the main thread.
//
// The coordinator runs with the default limits (10,000 steps), so the
// 100,000-step document is refused, as it would be in production; the
// 10,000-step one is accepted.
import { toBinary } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowSpecSchema } from "../gen/horus/coordinator/v1/workflow_pb.js";
import { startCoordinator } from "../src/coordinator/app.js";
import { createMemoryStore } from "../src/store/memory/memory-store.js";
import { specOf } from "./client.js";
import { latency, type Latency } from "./stats.js";

export interface BigDocCase {
  /** What the big client sent, e.g. "validate yaml 100000 steps". */
  label: string;
  /** Size of the definition as sent (YAML characters, or binary spec bytes). */
  bytes: number;
  /** How long the big request took. */
  requestMs: number;
  /** What it answered: "valid", "INVALID_ARGUMENT: ..." */
  outcome: string;
  /** The other client's request latency while the big request ran. */
  probe: Latency;
}

/** `n` independent noop steps: ~33 bytes a step, the shape of the 3.2 MB report. */
export function flatYaml(n: number): string {
  const lines = ["workflow:", "  name: big", "  steps:"];
  for (let i = 0; i < n; i++) lines.push(`    - {id: s${i}, runner: noop}`);
  return lines.join("\n") + "\n";
}

type CoordinatorClient = Client<typeof CoordinatorService>;

/** Runs `big` while a second client sends ListWorkflows one after the other; its latencies meanwhile. */
async function probed(probe: CoordinatorClient, big: () => Promise<string>): Promise<{ requestMs: number; outcome: string; samples: number[] }> {
  const samples: number[] = [];
  let done = false;
  const loop = (async () => {
    while (!done) {
      const t = performance.now();
      await probe.listWorkflows({ pageSize: 10 });
      samples.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const start = performance.now();
  let outcome: string;
  try {
    outcome = await big();
  } catch (err) {
    outcome = err instanceof Error ? err.message.slice(0, 80) : String(err);
  }
  const requestMs = performance.now() - start;
  done = true;
  await loop;
  return { requestMs, outcome, samples };
}

/**
 * `big` steps are over the coordinator's step limit (`maxSteps`, the default
 * 10,000 unless given: --quick lowers it to keep the run short), `within`
 * steps are under it.
 */
export async function bigDocuments(sizes: { big: number; within: number; maxSteps?: number }, log: (msg: string) => void): Promise<{ idle: Latency; cases: BigDocCase[] }> {
  const coordinator = await startCoordinator({
    port: 0,
    store: createMemoryStore(),
    security: { clientLimits: { submitsPerSecond: 0 } },
    ...(sizes.maxSteps ? { limits: { maxSteps: sizes.maxSteps } } : {}),
  });
  // Two connections: the probe must not queue behind the big request's bytes on one HTTP/2 connection.
  const connect = () => createClient(CoordinatorService, createConnectTransport({ baseUrl: coordinator.url, httpVersion: "2", useBinaryFormat: true }));
  const big = connect();
  const probe = connect();
  try {
    // Warm-up: connections, and the JIT of the paths the probe takes.
    for (let i = 0; i < 50; i++) await probe.listWorkflows({ pageSize: 10 });
    const idle = await probed(probe, () => new Promise((r) => setTimeout(() => r("idle"), 500)));
    const cases: BigDocCase[] = [];
    const run = async (label: string, bytes: number, call: () => Promise<string>) => {
      const r = await probed(probe, call);
      const c = { label, bytes, requestMs: r.requestMs, outcome: r.outcome, probe: latency(r.samples) };
      log(`bigdoc ${label}: ${c.requestMs.toFixed(0)} ms (${c.outcome}); other client p50 ${c.probe.p50.toFixed(1)} ms, p99 ${c.probe.p99.toFixed(1)} ms, max ${c.probe.max.toFixed(1)} ms`);
      cases.push(c);
    };
    const validate = (definition: Parameters<CoordinatorClient["validateWorkflow"]>[0]["definition"]) => async () => {
      const res = await big.validateWorkflow({ definition });
      return res.valid ? "valid" : `invalid: ${res.problems[0]?.message ?? ""}`;
    };
    const submit = (definition: Parameters<CoordinatorClient["submitWorkflow"]>[0]["definition"]) => async () => {
      const { workflowId } = await big.submitWorkflow({ definition });
      accepted.push(workflowId);
      return "accepted";
    };
    // Accepted workflows are cancelled before the next case, so their steps do not load it.
    const accepted: string[] = [];
    const settle = async () => {
      for (const id of accepted.splice(0)) await big.cancelWorkflow({ workflowId: id });
    };
    for (const n of [sizes.big, sizes.within]) {
      const text = flatYaml(n);
      await run(`validate yaml, ${n} steps`, text.length, validate({ case: "yaml", value: text }));
      await run(`submit yaml, ${n} steps`, text.length, submit({ case: "yaml", value: text }));
      await settle();
      const spec = specOf(text);
      const bytes = toBinary(WorkflowSpecSchema, spec).length;
      await run(`validate spec, ${n} steps`, bytes, validate({ case: "spec", value: spec }));
      await run(`submit spec, ${n} steps`, bytes, submit({ case: "spec", value: spec }));
      await settle();
    }
    return { idle: latency(idle.samples), cases };
  } finally {
    await coordinator.close();
  }
}

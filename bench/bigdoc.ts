// Big definitions and everyone else: while one client validates or submits a
// large definition, another client's small requests (ListWorkflows, one
// after the other) should still be answered within ~100 ms. Large YAML, and
// large request messages (a spec in protobuf binary or Connect JSON), are
// read in worker threads (src/coordinator/definition-pool.ts,
// src/server/large-requests.ts).
//
// The big client shares this process with the coordinator, so a spec is
// encoded before the clock starts and sent as raw bytes (Connect protocol,
// HTTP/2), and its answer decoded after the clock stops: otherwise the
// client's own encoding (about a second for 100,000 steps) would be counted
// as the coordinator holding up the other client.
//
// The coordinator runs with the default limits (10,000 steps), so the
// 100,000-step document is refused, as it would be in production; the
// 10,000-step one is accepted. An accepted workflow starts running at once
// (10,000 noop steps on the in-process supervisor), which the other client
// feels in the submit rows: that is running a workflow, not reading it.
import { connect as http2Connect } from "node:http2";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { create, fromBinary, fromJsonString, toBinary, toJsonString, type DescMessage } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService, SubmitWorkflowRequestSchema, SubmitWorkflowResponseSchema, ValidateWorkflowRequestSchema, ValidateWorkflowResponseSchema } from "../gen/horus/coordinator/v1/coordinator_pb.js";
import { startCoordinator } from "../src/coordinator/app.js";
import { createMemoryStore } from "../src/store/memory/memory-store.js";
import { specOf } from "./ours.js";
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
  /** Longest the event loop (coordinator and clients alike) was held while the big request ran, ms. */
  loopMaxMs: number;
}

/** `n` independent noop steps: ~33 bytes a step, the shape of the 3.2 MB report. */
export function flatYaml(n: number): string {
  const lines = ["workflow:", "  name: big", "  steps:"];
  for (let i = 0; i < n; i++) lines.push(`    - {id: s${i}, runner: noop}`);
  return lines.join("\n") + "\n";
}

type CoordinatorClient = Client<typeof CoordinatorService>;

/** A request sent as bytes already encoded: the HTTP status and the body, unread. */
interface RawAnswer {
  status: number;
  body: Buffer;
}

/** POSTs `body` to a Connect unary method, on a connection of its own (an idle one would be closed by the coordinator between cases). */
function rawCall(url: string, method: string, contentType: string, body: Uint8Array): Promise<RawAnswer> {
  const session = http2Connect(url);
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": `/${CoordinatorService.typeName}/${method}`, "content-type": contentType, "connect-protocol-version": "1" });
    const chunks: Buffer[] = [];
    let status = 0;
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve({ status, body: Buffer.concat(chunks) }));
    req.on("error", reject);
    req.end(body);
  }).finally(() => session.close());
}

/** What a raw answer says, decoded (after the clock stopped). */
function rawOutcome(answer: RawAnswer, json: boolean, schema: DescMessage, describe: (m: never) => string): string {
  if (answer.status !== 200) {
    const err = JSON.parse(answer.body.toString("utf8")) as { code: string; message: string };
    return `[${err.code}] ${err.message}`;
  }
  return describe((json ? fromJsonString(schema, answer.body.toString("utf8")) : fromBinary(schema, answer.body)) as never);
}

/** Runs `big` while a second client sends ListWorkflows one after the other; its latencies meanwhile. `big` resolves to a way to tell what it answered, called once the clock stopped. */
async function probed(probe: CoordinatorClient, big: () => Promise<string | (() => string)>): Promise<{ requestMs: number; outcome: string; samples: number[]; loopMaxMs: number }> {
  const samples: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  let done = false;
  const asking = (async () => {
    while (!done) {
      const t = performance.now();
      await probe.listWorkflows({ pageSize: 10 });
      samples.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const start = performance.now();
  let outcome: string | (() => string);
  try {
    outcome = await big();
  } catch (err) {
    outcome = err instanceof Error ? err.message.slice(0, 80) : String(err);
  }
  const requestMs = performance.now() - start;
  loop.disable();
  done = true;
  await asking;
  return { requestMs, outcome: typeof outcome === "function" ? outcome() : outcome, samples, loopMaxMs: loop.max / 1e6 };
}

/** `sizes.yaml: false` leaves out the YAML cases (they take a minute on a loaded machine). */
export async function bigDocuments(sizes: { big: number; within: number; yaml?: boolean }, log: (msg: string) => void): Promise<{ idle: Latency; cases: BigDocCase[] }> {
  const coordinator = await startCoordinator({ port: 0, store: createMemoryStore(), security: { clientLimits: { submitsPerSecond: 0 } } });
  // Two connections: the probe must not queue behind the big request's bytes on one HTTP/2 connection.
  const connect = () => createClient(CoordinatorService, createConnectTransport({ baseUrl: coordinator.url, httpVersion: "2", useBinaryFormat: true }));
  const big = connect();
  const probe = connect();
  try {
    // Warm-up: connections, and the JIT of the paths the probe takes.
    for (let i = 0; i < 50; i++) await probe.listWorkflows({ pageSize: 10 });
    const idle = await probed(probe, () => new Promise((r) => setTimeout(() => r("idle"), 500)));
    log(`bigdoc idle: other client p50 ${latency(idle.samples).p50.toFixed(1)} ms, max ${latency(idle.samples).max.toFixed(1)} ms; event loop held at most ${idle.loopMaxMs.toFixed(0)} ms`);
    const cases: BigDocCase[] = [];
    const run = async (label: string, bytes: number, call: () => Promise<string | (() => string)>) => {
      const r = await probed(probe, call);
      const c = { label, bytes, requestMs: r.requestMs, outcome: r.outcome, probe: latency(r.samples), loopMaxMs: r.loopMaxMs };
      log(`bigdoc ${label}: ${c.requestMs.toFixed(0)} ms (${c.outcome}); other client p50 ${c.probe.p50.toFixed(1)} ms, p99 ${c.probe.p99.toFixed(1)} ms, max ${c.probe.max.toFixed(1)} ms; event loop held at most ${c.loopMaxMs.toFixed(0)} ms`);
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
    const validated = (r: { valid: boolean; problems: Array<{ message: string }> }) => (r.valid ? "valid" : `invalid: ${r.problems[0]?.message ?? ""}`);
    const raw = (method: "ValidateWorkflow" | "SubmitWorkflow", json: boolean, body: Uint8Array) => async () => {
      const answer = await rawCall(coordinator.url, method, json ? "application/json" : "application/proto", body);
      return () => method === "ValidateWorkflow"
        ? rawOutcome(answer, json, ValidateWorkflowResponseSchema, validated)
        : rawOutcome(answer, json, SubmitWorkflowResponseSchema, (r: { workflowId: string }) => (accepted.push(r.workflowId), "accepted"));
    };
    for (const n of [sizes.big, sizes.within]) {
      const text = flatYaml(n);
      if (sizes.yaml !== false) {
        await run(`validate yaml, ${n} steps`, text.length, validate({ case: "yaml", value: text }));
        await run(`submit yaml, ${n} steps`, text.length, submit({ case: "yaml", value: text }));
        await settle();
      }
      const spec = specOf(text);
      const definition = { case: "spec" as const, value: spec };
      const binary = (schema: DescMessage) => toBinary(schema, create(schema, { definition } as never));
      const json = (schema: DescMessage) => new TextEncoder().encode(toJsonString(schema, create(schema, { definition } as never)));
      const validateBin = binary(ValidateWorkflowRequestSchema);
      const submitBin = binary(SubmitWorkflowRequestSchema);
      await run(`validate spec (binary), ${n} steps`, validateBin.length, raw("ValidateWorkflow", false, validateBin));
      await run(`submit spec (binary), ${n} steps`, submitBin.length, raw("SubmitWorkflow", false, submitBin));
      await settle();
      const validateJson = json(ValidateWorkflowRequestSchema);
      await run(`validate spec (JSON), ${n} steps`, validateJson.length, raw("ValidateWorkflow", true, validateJson));
    }
    return { idle: latency(idle.samples), cases };
  } finally {
    await coordinator.close();
  }
}

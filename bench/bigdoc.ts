// Big definitions and everyone else: while one client validates or submits a
// large definition, another client's small requests (ListWorkflows, one
// after the other) should still be answered within ~100 ms. Large YAML, and
// large request messages (a spec in protobuf binary or Connect JSON), are
// read in worker threads (src/coordinator/definition-pool.ts,
// src/server/large-requests.ts).
//
// A spec is encoded before the clock starts, sent by a child process
// (Connect protocol, HTTP/2; its start is in the request time), and its
// answer decoded after the clock stops: in this process, the client's own
// encoding (about a second for 100,000 steps) and writing would be counted
// as the coordinator holding up the other client. "loop held" is the
// longest event-loop stall meanwhile (perf_hooks).
//
// The coordinator runs with the default limits (10,000 steps), so the
// 100,000-step document is refused, as it would be in production; the
// 10,000-step one is accepted. An accepted workflow starts running at once
// (10,000 noop steps on the in-process supervisor), which the other client
// feels in the submit rows: that is running a workflow, not reading it.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { deserialize, serialize } from "node:v8";
import { create, fromBinary, fromJsonString, toBinary, toJsonString, type DescMessage } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService, SubmitWorkflowRequestSchema, SubmitWorkflowResponseSchema, ValidateWorkflowRequestSchema, ValidateWorkflowResponseSchema } from "../gen/horus/coordinator/v1/coordinator_pb.js";
import { startCoordinator } from "../src/coordinator/app.js";
import { createMemoryStore } from "../src/store/memory/memory-store.js";
import { stubRequest } from "../src/coordinator/definition-worker.js";
import { parseWorkflowYaml } from "../src/workflow/parse.js";
import { definitionToSpec } from "../src/coordinator/convert.js";
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

/**
 * The big client: a child process that POSTs a file to a Connect unary
 * method over HTTP/2 and prints the status and body. In this process,
 * writing 1.6 MB into an HTTP/2 stream held the event loop ~100 ms, which
 * the other client would have felt as the coordinator's doing.
 */
const SENDER = `
const [url, path, type, file] = process.argv.slice(1);
const session = require("node:http2").connect(url);
const req = session.request({ ":method": "POST", ":path": path, "content-type": type, "connect-protocol-version": "1" });
const chunks = [];
let status = 0;
req.on("response", (h) => (status = h[":status"]));
req.on("data", (c) => chunks.push(c));
req.on("end", () => { process.stdout.write(JSON.stringify({ status, body: Buffer.concat(chunks).toString("base64") })); session.close(); });
req.end(require("node:fs").readFileSync(file));
`;

/** POSTs the file `bodyFile` to a Connect unary method from a child process (SENDER). */
async function rawCall(url: string, method: string, contentType: string, bodyFile: string): Promise<RawAnswer> {
  const { stdout } = await execFileP(process.execPath, ["-e", SENDER, url, `/${CoordinatorService.typeName}/${method}`, contentType, bodyFile], { maxBuffer: 64 * 1024 * 1024 });
  const out = JSON.parse(stdout) as { status: number; body: string };
  return { status: out.status, body: Buffer.from(out.body, "base64") };
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

const execFileP = promisify(execFile);

const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** What receiving a worker's answer costs the main thread: a valid definition of `steps` steps comes back whole (structured clone). */
export interface ReplyCost {
  steps: number;
  /** The answer as the structured clone carries it. */
  bytes: number;
  /** Median time to deserialize it, ms (what the main thread spends on the message). */
  receiveMs: number;
}

export function replyCost(steps: number): ReplyCost {
  const definition = parseWorkflowYaml(flatYaml(steps)).definition!;
  const reply = { id: 1, problems: [], definition, message: stubRequest(ValidateWorkflowRequestSchema, "binary") };
  const wire = serialize(reply);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    deserialize(wire);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { steps, bytes: wire.length, receiveMs: times[3]! };
}

/**
 * `big` steps are over the coordinator's step limit (`maxSteps`, the default
 * 10,000 unless given: --quick lowers it to keep the run short), `within`
 * steps are under it. `yaml: false` leaves out the YAML cases (they take a
 * minute on a loaded machine).
 */
export async function bigDocuments(sizes: { big: number; within: number; yaml?: boolean; maxSteps?: number }, log: (msg: string) => void): Promise<{ idle: Latency; cases: BigDocCase[]; reply: ReplyCost }> {
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
  let cleanup = () => {};
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
    const dir = mkdtempSync(join(tmpdir(), "horus-bigdoc-"));
    cleanup = () => rmSync(dir, { recursive: true, force: true });
    let files = 0;
    const raw = (method: "ValidateWorkflow" | "SubmitWorkflow", json: boolean, body: Uint8Array) => {
      const file = join(dir, `body-${files++}`);
      writeFileSync(file, body);
      return async () => {
        const answer = await rawCall(coordinator.url, method, json ? "application/json" : "application/proto", file);
        return () => method === "ValidateWorkflow"
          ? rawOutcome(answer, json, ValidateWorkflowResponseSchema, validated)
          : rawOutcome(answer, json, SubmitWorkflowResponseSchema, (r: { workflowId: string }) => (accepted.push(r.workflowId), "accepted"));
      };
    };
    for (const n of [sizes.big, sizes.within]) {
      const text = flatYaml(n);
      if (sizes.yaml !== false) {
        await run(`validate yaml, ${n} steps`, text.length, validate({ case: "yaml", value: text }));
        await run(`submit yaml, ${n} steps`, text.length, submit({ case: "yaml", value: text }));
        await settle();
      }
      // Encoded before the clock starts, and the spec objects let go (and collected): the
      // bench client's 100,000-step objects in this heap would make the coordinator's GC pauses theirs.
      const bodies = (() => {
        const definition = { case: "spec" as const, value: definitionToSpec(parseWorkflowYaml(text).definition!) };
        const binary = (schema: DescMessage) => toBinary(schema, create(schema, { definition } as never));
        const json = (schema: DescMessage) => new TextEncoder().encode(toJsonString(schema, create(schema, { definition } as never)));
        return { validateBin: binary(ValidateWorkflowRequestSchema), submitBin: binary(SubmitWorkflowRequestSchema), validateJson: json(ValidateWorkflowRequestSchema) };
      })();
      gc();
      await run(`validate spec (binary), ${n} steps`, bodies.validateBin.length, raw("ValidateWorkflow", false, bodies.validateBin));
      await run(`submit spec (binary), ${n} steps`, bodies.submitBin.length, raw("SubmitWorkflow", false, bodies.submitBin));
      await settle();
      gc();
      await run(`validate spec (JSON), ${n} steps`, bodies.validateJson.length, raw("ValidateWorkflow", true, bodies.validateJson));
    }
    const reply = replyCost(sizes.within);
    log(`bigdoc worker answer for a valid ${reply.steps}-step definition: ${reply.bytes} bytes, received in ${reply.receiveMs.toFixed(1)} ms`);
    return { idle: latency(idle.samples), cases, reply };
  } finally {
    cleanup();
    await coordinator.close();
  }
}

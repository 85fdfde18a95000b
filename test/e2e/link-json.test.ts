// Job inputs and step outputs as JSON bytes on the supervisor Link, end to
// end: a `horus coordinator` process and real HTTP/2 supervisor servers.
// Each supervisor server runs the reference supervisor behind a thin
// recording layer, which can also play an older peer by dropping a
// json_values flag from the hello (the supervisor's answer: an older
// supervisor; the coordinator's hello: an older coordinator), or break the
// outputs it sends. Workflows are pinned to one supervisor each, so one
// coordinator serves every case, and the outputs read back through the
// public API must be the same whichever way they travelled.
import http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { JobFinishedSchema, SupervisorService, type Job, type LinkRequest } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { SUPERVISOR_BINARY_OPTIONS } from "../../src/common/depth.js";
import { decodeJson } from "../../src/common/json-bytes.js";
import type { JsonValue } from "../../src/common/json.js";
import { createSupervisor, type Supervisor } from "../../src/supervisor/index.js";
import type { LinkResponseInit } from "../../src/supervisor/link.js";
import { kill9 } from "../helpers/cli.js";
import { coordinatorProcess, outputs, runYaml, stepStates, WorkflowState, type CoordinatorProcess } from "../helpers/coordinator.js";

interface Recorded {
  /** Jobs as they arrived on Links. */
  jobs: Job[];
  /** Per finished event sent on Links: how its output travelled. */
  outputs: Array<{ stepId: string; as: "json" | "value" | "none" }>;
  /** Per job status answered on Links: how its output travelled. */
  statuses: Array<{ attemptId: string; as: "json" | "value" | "none" }>;
}

interface Peer {
  /** Plays a supervisor before json_values: its hello answer does not say it reads input_json. */
  oldSupervisor?: boolean;
  /** Plays a coordinator before json_values: the hello it forwards does not say the coordinator reads output_json. */
  oldCoordinator?: boolean;
  /** Replaces the output_json of the finished events of these steps (a faulty supervisor). */
  breakOutputs?: Record<string, Uint8Array>;
  /**
   * Keeps the finished events of these steps from the coordinator and says
   * `gap` instead, as a supervisor whose event buffer lost them: the
   * coordinator learns their outputs from GetJobs.
   */
  hideFinished?: string[];
}

const servers: Array<{ close(): Promise<void> }> = [];
let coordinator: CoordinatorProcess;
const supervisors = new Map<string, { url: string; recorded: Recorded }>();

/** A real supervisor behind a Connect HTTP/2 server whose Link records (and, per `peer`, alters) what passes. */
async function supervisorServer(name: string, peer: Peer): Promise<{ url: string; recorded: Recorded }> {
  const supervisor: Supervisor = createSupervisor({ name, shutdownGraceMs: 50 });
  const recorded: Recorded = { jobs: [], outputs: [], statuses: [] };
  const inner = supervisor.service;
  const impl: ServiceImpl<typeof SupervisorService> = {
    ...inner,
    link(requests: AsyncIterable<LinkRequest>, ctx: HandlerContext) {
      async function* incoming(): AsyncGenerator<LinkRequest> {
        for await (const req of requests) {
          if (req.kind.case === "dispatch") recorded.jobs.push(...req.kind.value.jobs);
          if (req.kind.case === "hello" && peer.oldCoordinator) req.kind.value.jsonValues = false;
          yield req;
        }
      }
      async function* outgoing(): AsyncGenerator<LinkResponseInit> {
        for await (const res of inner.link(incoming(), ctx) as AsyncIterable<LinkResponseInit>) {
          const kind = res.kind;
          if (kind?.case === "hello" && peer.oldSupervisor) yield { id: res.id ?? 0n, kind: { case: "hello", value: { ...withoutType(kind.value), jsonValues: false } } };
          else if (kind?.case === "events") {
            const events = kind.value.events ?? [];
            const shown = events.filter((e) => !(e.kind?.case === "finished" && peer.hideFinished?.includes(e.stepId ?? "")));
            const gap = kind.value.gap || shown.length < events.length;
            yield { id: res.id ?? 0n, kind: { case: "events", value: { ...withoutType(kind.value), gap, events: shown.map(record) } } };
          } else if (kind?.case === "getJobs") {
            for (const j of kind.value.jobs ?? []) recorded.statuses.push({ attemptId: j.attemptId ?? "", as: (j.outputJson?.length ?? 0) > 0 ? "json" : j.output ? "value" : "none" });
            yield res;
          }
          else yield res;
        }
      }
      return outgoing();
    },
  };
  type EventInit = NonNullable<NonNullable<Extract<LinkResponseInit["kind"], { case: "events" }>>["value"]["events"]>[number];
  function record(ev: EventInit): EventInit {
    if (ev.kind?.case !== "finished") return ev;
    const f = ev.kind.value;
    const broken = peer.breakOutputs?.[ev.stepId ?? ""];
    recorded.outputs.push({ stepId: ev.stepId ?? "", as: (f.outputJson?.length ?? 0) > 0 ? "json" : f.output ? "value" : "none" });
    if (!broken || !f.succeeded) return ev;
    return { ...ev, kind: { case: "finished", value: create(JobFinishedSchema, { succeeded: true, outputJson: broken }) } };
  }
  const server = http2.createServer(connectNodeAdapter({ routes: (r: ConnectRouter) => r.service(SupervisorService, impl), binaryOptions: SUPERVISOR_BINARY_OPTIONS }));
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (s) => sessions.add(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  servers.push({
    async close() {
      await supervisor.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sessions) s.destroy();
      });
    },
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, recorded };
}

/** A message's fields without its type name, to build a changed copy of it as an init shape. */
function withoutType<T extends object>(m: T): Omit<T, "$typeName"> {
  const { $typeName: _type, ...rest } = m as T & { $typeName?: string };
  return rest;
}

const PEERS: Record<string, Peer> = {
  "sup-json": {},
  "sup-old": { oldSupervisor: true },
  "sup-oldcoord": { oldCoordinator: true },
  "sup-broken": {
    breakOutputs: {
      garbled: Buffer.from('{"half": ', "utf8"),
      latin1: new Uint8Array([0x22, 0xe9, 0x22]),
      deep: Buffer.from("[".repeat(501) + "]".repeat(501), "utf8"),
    },
  },
  "sup-quiet": { hideFinished: ["quiet"] },
};

beforeAll(async () => {
  for (const [name, peer] of Object.entries(PEERS)) supervisors.set(name, await supervisorServer(name, peer));
  coordinator = await coordinatorProcess(["coordinator", "--port", "0", "--log-level", "warn", "--no-embedded", ...[...supervisors.values()].flatMap((s) => ["--supervisor", s.url])]);
}, 60_000);

afterAll(async () => {
  if (coordinator) await kill9(coordinator);
  for (const s of servers) await s.close();
});

/** What JSON and Value conversions could get wrong when they differ: non-ASCII, numbers, null, nested arrays and objects, empty keys. */
const DATA = { text: "héllo wörld 日本語 🚀", n: [0, -2.5, 1e21, 0.1, 9007199254740991, 1.7976931348623157e308], none: null, nested: [[1, [2, [[], {}]]], { "": { "ü": [null] } }], ok: false };

/** A chain whose outputs nest: js makes DATA, each noop answers with its input (one level more), js reads through all of it. */
function chain(supervisor: string): string {
  const pin = `supervisor: ${supervisor}`;
  return `workflow:
  name: json-chain
  inputs:
    who: { type: string }
    list: { type: array }
  steps:
    - id: make
      runner: js
      ${pin}
      payload: '({ data: ${JSON.stringify(DATA).replace(/'/g, "''")}, who: inputs.who, list: inputs.list })'
    - { id: n1, runner: noop, depends_on: [make], ${pin} }
    - { id: n2, runner: noop, depends_on: [n1], ${pin} }
    - { id: n3, runner: noop, depends_on: [n2], ${pin} }
    - id: read
      runner: js
      depends_on: [n3]
      ${pin}
      payload: '({ text: input.n3.n2.n1.make.data.text, who: inputs.who, same: JSON.stringify(input.n3.n2.n1.make.data) === JSON.stringify(${JSON.stringify(DATA).replace(/'/g, "''")}) })'
`;
}

const INPUTS: Record<string, JsonValue> = { who: "Zoë 🐍 \u2028", list: [1, "два", null, [[]], { k: -0.5 }] };

const EXPECTED = {
  make: { data: DATA, who: INPUTS.who, list: INPUTS.list },
  n1: { make: { data: DATA, who: INPUTS.who, list: INPUTS.list } },
  n2: { n1: { make: { data: DATA, who: INPUTS.who, list: INPUTS.list } } },
  n3: { n2: { n1: { make: { data: DATA, who: INPUTS.who, list: INPUTS.list } } } },
  read: { text: DATA.text, who: INPUTS.who, same: true },
};

describe("JSON values on the supervisor link (a coordinator process)", () => {
  it("runs a chain whose outputs nest with JSON inputs and outputs, and reads back exactly the outputs the Value path gives", async () => {
    const viaJson = await runYaml(coordinator.client, chain("sup-json"), INPUTS, 60_000);
    const viaValues = await runYaml(coordinator.client, chain("sup-old"), INPUTS, 60_000);
    expect(viaJson.state).toBe(WorkflowState.SUCCEEDED);
    expect(outputs(viaJson)).toEqual(EXPECTED);
    expect(outputs(viaJson)).toEqual(outputs(viaValues));
    // Every job went with JSON, none with Values; the first one carried the workflow's inputs.
    const jobs = supervisors.get("sup-json")!.recorded.jobs;
    expect(jobs.map((j) => j.stepId)).toEqual(["make", "n1", "n2", "n3", "read"]);
    for (const j of jobs) expect([Object.keys(j.input).length, Object.keys(j.inputs).length]).toEqual([0, 0]);
    expect(jobs.filter((j) => j.inputJson.length > 0).map((j) => j.stepId)).toEqual(["n1", "n2", "n3", "read"]);
    expect(decodeJson(jobs[0]!.inputsJson)).toEqual(INPUTS);
    expect(decodeJson(jobs[4]!.inputJson)).toEqual({ n3: EXPECTED.n3 });
    expect(supervisors.get("sup-json")!.recorded.outputs.map((o) => o.as)).toEqual(["json", "json", "json", "json", "json"]);
  });

  it("sends Values to a supervisor that does not say it reads JSON", async () => {
    const wf = await runYaml(coordinator.client, chain("sup-old"), INPUTS, 60_000);
    expect(outputs(wf)).toEqual(EXPECTED);
    const jobs = supervisors.get("sup-old")!.recorded.jobs;
    expect(jobs.length).toBeGreaterThanOrEqual(5);
    for (const j of jobs) expect([j.inputJson.length, j.inputsJson.length]).toEqual([0, 0]);
    expect(jobs.filter((j) => j.stepId === "n1").every((j) => Object.keys(j.input).length === 1)).toBe(true);
    expect(jobs.filter((j) => j.stepId === "make").some((j) => Object.keys(j.inputs).length === 2)).toBe(true);
  });

  it("gets Values from the supervisor when the coordinator's hello does not say it reads output_json", async () => {
    const wf = await runYaml(coordinator.client, chain("sup-oldcoord"), INPUTS, 60_000);
    expect(outputs(wf)).toEqual(EXPECTED);
    const sent = supervisors.get("sup-oldcoord")!.recorded.outputs;
    expect(sent.length).toBeGreaterThanOrEqual(5);
    expect(new Set(sent.map((o) => o.as))).toEqual(new Set(["value"]));
    // The jobs still went as JSON: that is the supervisor's capability, not the coordinator's.
    expect(supervisors.get("sup-oldcoord")!.recorded.jobs.some((j) => j.inputJson.length > 0)).toBe(true);
  });

  it("reads output_json from GetJobs when it reconciles (events lost)", async () => {
    const yaml = `workflow:
  name: reconciled
  steps:
    - id: quiet
      runner: js
      supervisor: sup-quiet
      payload: '(${JSON.stringify(DATA).replace(/'/g, "''")})'
    - { id: after, runner: noop, depends_on: [quiet], supervisor: sup-quiet }
`;
    const wf = await runYaml(coordinator.client, yaml, {}, 60_000);
    expect(outputs(wf)).toEqual({ quiet: DATA, after: { quiet: DATA } });
    const statuses = supervisors.get("sup-quiet")!.recorded.statuses.filter((s) => s.attemptId.includes(".quiet."));
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.some((s) => s.as === "json")).toBe(true);
    expect(statuses.some((s) => s.as === "value")).toBe(false);
  });

  it("fails a step whose output_json cannot be read, with a clear reason, and goes on running workflows", async () => {
    const yaml = `workflow:
  name: broken-outputs
  steps:
    - { id: garbled, runner: noop, supervisor: sup-broken, retry: { max_attempts: 1 } }
    - { id: latin1, runner: noop, supervisor: sup-broken, retry: { max_attempts: 1 } }
    - { id: deep, runner: noop, supervisor: sup-broken, retry: { max_attempts: 1 } }
    - { id: fine, runner: noop, supervisor: sup-broken }
`;
    const wf = await runYaml(coordinator.client, yaml, {}, 60_000);
    expect(stepStates(wf)).toMatchObject({ garbled: "FAILED", latin1: "FAILED", deep: "FAILED", fine: "SUCCEEDED" });
    const failure = (id: string) => wf.steps.find((s) => s.id === id)!.error!;
    expect(failure("garbled").code).toBe("RUNNER_ERROR");
    expect(failure("garbled").message).toMatch(/^the supervisor sent an output_json that cannot be read: not JSON/);
    expect(failure("latin1")).toMatchObject({ code: "RUNNER_ERROR", message: "the supervisor sent an output_json that cannot be read: not UTF-8" });
    expect(failure("deep")).toMatchObject({ code: "OUTPUT_TOO_DEEP", message: "output nests deeper than 500 arrays/objects" });
    // The coordinator is still there and runs the next workflow.
    const next = await runYaml(coordinator.client, chain("sup-json"), INPUTS, 60_000);
    expect(outputs(next)).toEqual(EXPECTED);
  });
});

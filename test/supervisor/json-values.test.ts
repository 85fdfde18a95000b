// Job inputs and step outputs as JSON bytes (Job.input_json / inputs_json,
// JobFinished/JobStatus.output_json) at a real HTTP/2 supervisor server: it
// says it reads them, runs jobs with exactly the values sent, fails a job
// whose JSON cannot be read without running it (and goes on serving), masks
// secrets in output_json as in Values, and sends output_json only on a link
// whose coordinator said in its hello that it reads it.
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { JobState, SupervisorService } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { SUPERVISOR_BINARY_OPTIONS } from "../../src/common/depth.js";
import { decodeJson, encodeJson } from "../../src/common/json-bytes.js";
import { fromValue, toValueMap, type JsonValue } from "../../src/common/json.js";
import type { Runner } from "../../src/runners/types.js";
import { startSupervisorServer, type RunningSupervisor } from "../../src/server/supervisor-server.js";
import { staticSecrets } from "../../src/supervisor/secrets.js";
import type { SupervisorOptions } from "../../src/supervisor/supervisor.js";
import { rawLink as openLink } from "../helpers/raw-link.js";
import { until } from "../helpers/wait.js";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Answers with what it was given, and records it. */
function echoRunner() {
  const seen = new Map<string, { input: JsonValue; inputs: JsonValue }>();
  const runner: Runner = {
    name: "echo",
    async run({ job }) {
      seen.set(job.attemptId, { input: job.input, inputs: job.inputs });
      return { ok: true, output: { input: job.input, inputs: job.inputs } };
    },
  };
  return { runner, seen };
}

async function server(options: SupervisorOptions = {}): Promise<RunningSupervisor> {
  const sup = await startSupervisorServer({ port: 0, supervisor: { name: "json-sup", shutdownGraceMs: 50, ...options } });
  cleanup.push(() => sup.close());
  return sup;
}

function client(sup: RunningSupervisor) {
  return createClient(SupervisorService, createConnectTransport({ baseUrl: sup.url, httpVersion: "2", useBinaryFormat: true, binaryOptions: SUPERVISOR_BINARY_OPTIONS }));
}

async function settled(sup: RunningSupervisor, ids: string[]) {
  const c = client(sup);
  const end = Date.now() + 10_000;
  for (;;) {
    const r = await c.getJobs({ attemptIds: ids });
    if (r.jobs.every((j) => j.state === JobState.SUCCEEDED || j.state === JobState.FAILED)) return r.jobs;
    if (Date.now() > end) throw new Error(`jobs ${ids.join(", ")} did not finish`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Values with what JSON and Value conversions get wrong when they differ: non-ASCII, numbers, null, nesting. */
const VALUE = { text: "héllo wörld 日本語 🚀 \u2028", n: [0, -2.5, 1e21, 0.1, 9007199254740991], none: null, nested: [[1, [2, [[]]]], { "": {} }], ok: true };

const bytes = (text: string) => Buffer.from(text, "utf8");

describe("supervisor: JSON job inputs and outputs", () => {
  it("says it reads input_json (DescribeSupervisor and the Link hello), and runs jobs with exactly the JSON sent", async () => {
    const echo = echoRunner();
    const sup = await server({ runners: new Map([["echo", echo.runner]]) });
    const c = client(sup);
    expect((await c.describeSupervisor({})).jsonValues).toBe(true);
    const res = await c.dispatchJobs({
      jobs: [
        { attemptId: "j.1", workflowId: "wf", stepId: "a", runner: "echo", inputJson: encodeJson({ dep: VALUE }), inputsJson: encodeJson({ who: "zoë" }) },
        // Inputs left out: the copy kept from j.1's inputs_json.
        { attemptId: "j.2", workflowId: "wf", stepId: "b", runner: "echo", inputJson: encodeJson({ a: [VALUE] }), inputsOmitted: true },
        // Values still read, from a coordinator that sends them.
        { attemptId: "j.3", workflowId: "wf2", stepId: "c", runner: "echo", input: toValueMap({ dep: VALUE }), inputs: toValueMap({ who: "zoë" }) },
      ],
    });
    expect(res.acks.map((a) => a.accepted)).toEqual([true, true, true]);
    const jobs = await settled(sup, ["j.1", "j.2", "j.3"]);
    expect(jobs.map((j) => j.state)).toEqual([JobState.SUCCEEDED, JobState.SUCCEEDED, JobState.SUCCEEDED]);
    expect(echo.seen.get("j.1")).toEqual({ input: { dep: VALUE }, inputs: { who: "zoë" } });
    expect(echo.seen.get("j.2")).toEqual({ input: { a: [VALUE] }, inputs: { who: "zoë" } });
    expect(echo.seen.get("j.3")).toEqual(echo.seen.get("j.1"));
    // Unary GetJobs callers did not say they read output_json: Values.
    expect(jobs[0]!.outputJson.length).toBe(0);
    expect(fromValue(jobs[0]!.output)).toEqual({ input: { dep: VALUE }, inputs: { who: "zoë" } });
  });

  const unreadable: Array<{ what: string; field: "inputJson" | "inputsJson"; value: Uint8Array; message: RegExp }> = [
    { what: "input_json that is not JSON", field: "inputJson", value: bytes('{"a": '), message: /^job input_json of step s cannot be read: not JSON \(/ },
    { what: "input_json that is not an object", field: "inputJson", value: bytes("[1, 2]"), message: /^job input_json of step s cannot be read: not a JSON object \(an array\)$/ },
    { what: "input_json that is not UTF-8", field: "inputJson", value: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), message: /^job input_json of step s cannot be read: not UTF-8$/ },
    { what: "inputs_json that is not JSON", field: "inputsJson", value: bytes("{]"), message: /^job inputs_json of step s cannot be read: not JSON \(/ },
  ];
  for (const t of unreadable) {
    it(`fails a job whose ${t.what} with RUNNER_ERROR, without running it, and goes on serving`, async () => {
      const echo = echoRunner();
      const sup = await server({ runners: new Map([["echo", echo.runner]]) });
      const c = client(sup);
      const res = await c.dispatchJobs({ jobs: [{ attemptId: "bad", workflowId: "wf", stepId: "s", runner: "echo", [t.field]: t.value }] });
      expect(res.acks[0]).toMatchObject({ accepted: true, duplicate: false });
      const [bad] = await settled(sup, ["bad"]);
      expect(bad!.state).toBe(JobState.FAILED);
      expect(bad!.error?.code).toBe("RUNNER_ERROR");
      expect(bad!.error?.message).toMatch(t.message);
      expect(echo.seen.has("bad")).toBe(false);
      // The supervisor still serves: a good job runs.
      await c.dispatchJobs({ jobs: [{ attemptId: "good", workflowId: "wf-good", stepId: "g", runner: "echo", inputJson: encodeJson({ x: 1 }) }] });
      const [good] = await settled(sup, ["good"]);
      expect(good!.state).toBe(JobState.SUCCEEDED);
      expect(echo.seen.get("good")).toEqual({ input: { x: 1 }, inputs: {} });
    });
  }

  it("masks a secret in output_json as in a Value", async () => {
    const secret = "s3cr3t-välue";
    const leaky: Runner = { name: "leaky", run: async ({ job }) => ({ ok: true, output: { leaked: job.secrets?.TOKEN ?? "", [`key-${job.secrets?.TOKEN}`]: 1 } }) };
    const sup = await server({ runners: new Map([["leaky", leaky]]), secrets: staticSecrets({ TOKEN: secret }) });
    const link = rawLink(sup);
    link.send({ id: 1n, kind: { case: "hello", value: { jsonValues: true } } });
    link.send({ id: 2n, kind: { case: "dispatch", value: { jobs: [{ attemptId: "m.1", workflowId: "wf", stepId: "m", runner: "leaky", secrets: ["TOKEN"] }] } } });
    link.send({ id: 3n, kind: { case: "watch", value: { afterSeq: 0n } } });
    const done = await until(() => link.finished().find((e) => e.attemptId === "m.1"));
    const f = done.kind.value as { outputJson: Uint8Array };
    expect(new TextDecoder().decode(f.outputJson)).not.toContain(secret);
    expect(decodeJson(f.outputJson)).toEqual({ leaked: "***", "key-***": 1 });
  });

  for (const reads of [true, false]) {
    it(`sends outputs on a Link ${reads ? "as output_json to a coordinator that said it reads it" : "as Values to a coordinator that did not say it reads output_json"}`, async () => {
      const echo = echoRunner();
      const sup = await server({ runners: new Map([["echo", echo.runner]]) });
      const link = rawLink(sup);
      link.send({ id: 1n, kind: { case: "hello", value: reads ? { jsonValues: true } : {} } });
      link.send({ id: 2n, kind: { case: "dispatch", value: { jobs: [{ attemptId: "o.1", workflowId: "wf", stepId: "o", runner: "echo", inputJson: encodeJson({ v: VALUE }) }] } } });
      link.send({ id: 3n, kind: { case: "watch", value: { afterSeq: 0n } } });
      const hello = await until(() => link.got.find((m) => m.id === 1n));
      expect(hello.kind.case === "hello" && hello.kind.value.jsonValues).toBe(true);
      const ev = await until(() => link.finished().find((e) => e.attemptId === "o.1"));
      link.send({ id: 4n, kind: { case: "getJobs", value: { attemptIds: ["o.1"] } } });
      const status = await until(() => link.got.find((m) => m.id === 4n));
      const f = ev.kind.value as { outputJson: Uint8Array; output?: Parameters<typeof fromValue>[0] };
      const st = status.kind.case === "getJobs" ? status.kind.value.jobs[0]! : undefined;
      const expected = { input: { v: VALUE }, inputs: {} };
      if (reads) {
        expect(f.output).toBeUndefined();
        expect(decodeJson(f.outputJson)).toEqual(expected);
        expect(st?.output).toBeUndefined();
        expect(decodeJson(st!.outputJson)).toEqual(expected);
      } else {
        expect(f.outputJson.length).toBe(0);
        expect(fromValue(f.output)).toEqual(expected);
        expect(st?.outputJson.length).toBe(0);
        expect(fromValue(st!.output)).toEqual(expected);
      }
    });
  }
});

/** A raw Link stream to `sup`, ended after the test. */
const rawLink = (sup: RunningSupervisor) => openLink(sup.url, (end) => cleanup.push(end));

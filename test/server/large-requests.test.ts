// Large SubmitWorkflow / ValidateWorkflow messages (a spec in protobuf
// binary or JSON) are decoded and checked in the definition pool's workers
// instead of by Connect on the event loop (src/server/large-requests.ts,
// src/coordinator/request-offload.ts). The answers are the same on every
// protocol: a valid spec is accepted and runs, a bad one is INVALID_ARGUMENT
// naming the step and field, malformed bytes and broken constraints are
// refused as Connect refuses them, and a caller without a token is refused
// before anything is decoded. How long the event loop is held is measured in
// bench/bigdoc.ts (not asserted here).
import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoordinatorService, ValidateWorkflowRequestSchema, ValidateWorkflowResponseSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { StepState, WorkflowSpecSchema, type WorkflowSpec } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { definitionToSpec } from "../../src/coordinator/convert.js";
import { parseTokens } from "../../src/server/auth.js";
import { frame, framingOf, unframe } from "../../src/server/large-requests.js";
import { parseWorkflowYaml } from "../../src/workflow/parse.js";
import { coordinator, PROTOCOLS, waitForEnd, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";

/** `n` independent noop steps; step `bad` (if given) depends on a step that does not exist. */
function spec(n: number, bad?: number): WorkflowSpec {
  const lines = ["workflow:", "  name: wide", "  steps:"];
  for (let i = 0; i < n; i++) lines.push(`    - {id: s${i}, runner: noop${i === bad ? ", depends_on: [ghost]" : ""}}`);
  return definitionToSpec(parseWorkflowYaml(lines.join("\n")).definition!);
}

const STEPS = 6_000;
const good = spec(STEPS);
const bad = spec(STEPS, 4_321);
/** As `good`, but every step waits for a first one that sleeps: submitted, it runs one job until cancelled. */
const gated = (() => {
  const lines = ["workflow:", "  name: gated", "  steps:", '    - {id: gate, runner: shell, payload: "sleep 600"}'];
  for (let i = 1; i < STEPS; i++) lines.push(`    - {id: s${i}, runner: noop, depends_on: [gate]}`);
  return definitionToSpec(parseWorkflowYaml(lines.join("\n")).definition!);
})();

describe("framing", () => {
  it.each([
    ["application/proto", {}, { format: "binary", enveloped: false }],
    ["application/json; charset=utf-8", {}, { format: "json", enveloped: false }],
    ["application/json", { "content-encoding": "gzip" }, undefined],
    ["application/proto", { "content-encoding": "identity" }, { format: "binary", enveloped: false }],
    ["application/grpc", {}, { format: "binary", enveloped: true }],
    ["application/grpc+proto", { "grpc-encoding": "gzip" }, { format: "binary", enveloped: true }],
    ["application/grpc-web+json", {}, { format: "json", enveloped: true }],
    ["application/connect+proto", {}, undefined],
    ["text/plain", {}, undefined],
  ])("%s %j", (type, extra, expected) => {
    expect(framingOf(new Headers({ "content-type": type, ...extra }))).toEqual(expected);
  });

  it("an envelope is taken off only when it holds exactly one uncompressed message", () => {
    const enveloped = { format: "binary", enveloped: true } as const;
    const message = new Uint8Array([1, 2, 3]);
    const framed = frame(message, enveloped);
    expect([...framed]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
    expect([...unframe(framed, enveloped)!]).toEqual([1, 2, 3]);
    expect(unframe(new Uint8Array([1, 0, 0, 0, 3, 1, 2, 3]), enveloped)).toBeUndefined();
    expect(unframe(new Uint8Array([0, 0, 0, 0, 9, 1, 2, 3]), enveloped)).toBeUndefined();
    expect(unframe(new Uint8Array([0, 0]), enveloped)).toBeUndefined();
    expect(unframe(message, { format: "json", enveloped: false })).toBe(message);
  });
});

describe("large specs on every protocol", { timeout: 180_000 }, () => {
  let running: RunningCoordinator;
  beforeAll(async () => {
    ({ running } = await coordinator());
    // Large enough to be read in a worker (64 KiB), in either format.
    expect(toBinary(ValidateWorkflowRequestSchema, create(ValidateWorkflowRequestSchema, { definition: { case: "spec", value: good } })).length).toBeGreaterThan(64 * 1024);
  });
  afterAll(() => running.close());

  const clients = () => Object.entries(PROTOCOLS).map(([name, transport]) => [name, createClient(CoordinatorService, transport(running.url))] as const);

  it("ValidateWorkflow: a valid spec gets its plan and normalised spec; a bad one names the step and field", async () => {
    for (const [name, client] of clients()) {
      const ok = await client.validateWorkflow({ definition: { case: "spec", value: good } });
      expect(ok.valid, name).toBe(true);
      expect(ok.plan?.levels, name).toHaveLength(1);
      expect(ok.plan?.levels[0]?.stepIds, name).toHaveLength(STEPS);
      expect(ok.spec?.steps, name).toHaveLength(STEPS);

      const no = await client.validateWorkflow({ definition: { case: "spec", value: bad } });
      expect(no.valid, name).toBe(false);
      expect(no.problems.map((p) => ({ stepId: p.stepId, field: p.field, message: p.message })), name).toEqual([
        { stepId: "s4321", field: "workflow.steps[4321].depends_on[0]", message: 'step "s4321" depends on unknown step "ghost"' },
      ]);
    }
  });

  it("SubmitWorkflow: a valid spec is accepted (and runs to the end); a bad one is INVALID_ARGUMENT naming the step and field", async () => {
    for (const [name, client] of clients()) {
      const { workflowId, plan } = await client.submitWorkflow({ definition: { case: "spec", value: gated }, idempotencyKey: `large-${name}` });
      expect(plan?.levels.map((l) => l.stepIds.length), name).toEqual([1, STEPS - 1]);
      const err = await client.submitWorkflow({ definition: { case: "spec", value: bad } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code, name).toBe(Code.InvalidArgument);
      expect(err?.rawMessage, name).toBe('invalid workflow: step "s4321" depends on unknown step "ghost"');
      const [detail] = err!.findDetails(ValidateWorkflowResponseSchema);
      expect(detail?.problems.map((p) => [p.stepId, p.field]), name).toEqual([["s4321", "workflow.steps[4321].depends_on[0]"]]);
      // The rest of the request arrives as sent: the idempotency key finds the first workflow.
      const again = await client.submitWorkflow({ definition: { case: "spec", value: gated }, idempotencyKey: `large-${name}` });
      expect(again, name).toMatchObject({ workflowId, existing: true });
      await client.cancelWorkflow({ workflowId });
    }
    const client = createClient(CoordinatorService, PROTOCOLS["connect+binary over h2c"](running.url));
    const { workflowId } = await client.submitWorkflow({ definition: { case: "spec", value: good } });
    const wf = await waitForEnd(client, workflowId, 150_000);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(wf.steps.filter((s) => s.state === StepState.SUCCEEDED)).toHaveLength(STEPS);
  });

  it("a request breaking its constraints, or bytes that do not decode, are refused as Connect refuses them", async () => {
    for (const [name, client] of clients()) {
      const err = await client.submitWorkflow({ definition: { case: "spec", value: good }, idempotencyKey: "k".repeat(300) }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code, name).toBe(Code.InvalidArgument);
      expect(err?.rawMessage, name).toBe("invalid request: idempotency_key: must be at most 256 characters");
    }
    // The same mistakes, large (read in a worker) and small (read by Connect): the same answers.
    const path = `${running.url}/${CoordinatorService.typeName}/ValidateWorkflow`;
    const post = async (type: string, body: Uint8Array | string) => {
      const res = await fetch(path, { method: "POST", headers: { "content-type": type }, body });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    };
    const garbage = (n: number) => new Uint8Array(n).fill(0xff);
    const binary = await post("application/proto", garbage(100_000));
    expect(binary).toEqual(await post("application/proto", garbage(100)));
    expect(binary).toMatchObject({ status: 400, body: { code: "invalid_argument", message: expect.stringMatching(/^parse binary: /) } });
    const badJson = (n: number) => `{"spec": {"name": "x", "steps": [${'{"id": "a"},'.repeat(n)} 1]}}`;
    const json = await post("application/json", badJson(10_000));
    expect(json).toEqual(await post("application/json", badJson(1)));
    expect(json).toMatchObject({ status: 400, body: { code: "invalid_argument", message: "cannot decode message horus.coordinator.v1.StepSpec from JSON: 1" } });
  });
});

describe("large specs are read in a worker", () => {
  it("the worker's time limit applies to them: past it the spec is refused with that problem", async () => {
    // 1 ms: no worker reads 6,000 steps (or even starts) that fast. On the main thread the spec would be valid.
    const { running } = await coordinator({ definitions: { maxMs: 1 } });
    try {
      const client: CoordinatorClient = createClient(CoordinatorService, PROTOCOLS["connect+binary over h2c"](running.url));
      const res = await client.validateWorkflow({ definition: { case: "spec", value: good } });
      expect(res.valid).toBe(false);
      expect(res.problems.map((p) => p.message)).toEqual(["the request took longer than 0.001s to read; make it smaller"]);
      // A small spec is read on the main thread, as before.
      expect((await client.validateWorkflow({ definition: { case: "spec", value: spec(10) } })).valid).toBe(true);
    } finally {
      await running.close();
    }
  });

  it("RunWorkflow too: its submission's spec is read there, and a bad one is refused naming the step and field", async () => {
    const { running } = await coordinator({ definitions: { maxMs: 1 } });
    try {
      const client: CoordinatorClient = createClient(CoordinatorService, PROTOCOLS["grpc over h2c"](running.url));
      const first = async (value: WorkflowSpec) => {
        for await (const m of client.runWorkflow({ submit: { definition: { case: "spec", value } } })) return m;
      };
      const err = await first(good).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.InvalidArgument);
      expect(err?.rawMessage).toBe("invalid workflow: the request took longer than 0.001s to read; make it smaller");
      expect((await first(spec(10)))?.kind.case).toBe("submitted");
    } finally {
      await running.close();
    }
    const { running: roomy } = await coordinator();
    try {
      const client: CoordinatorClient = createClient(CoordinatorService, PROTOCOLS["connect+json over HTTP/1.1"](roomy.url));
      const err = await (async () => {
        for await (const _ of client.runWorkflow({ submit: { definition: { case: "spec", value: bad } } })) break;
      })().then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.InvalidArgument);
      expect(err?.rawMessage).toBe('invalid workflow: step "s4321" depends on unknown step "ghost"');
    } finally {
      await roomy.close();
    }
  });

  it("JSON-RPC too: large submit_workflow / validate_workflow params are read in a worker; small ones and the answers are as before", async () => {
    const { running } = await coordinator({ definitions: { maxMs: 1 } });
    const rpc = async (method: string, params: unknown) =>
      (await (await fetch(`${running.url}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) })).json()) as {
        result?: { valid: boolean; problems: Array<{ message: string }> };
        error?: { code: number; message: string };
      };
    try {
      const big = toJson(WorkflowSpecSchema, good);
      const validated = await rpc("validate_workflow", { spec: big });
      expect(validated.result?.valid).toBe(false);
      expect(validated.result?.problems.map((p) => p.message)).toEqual(["the request took longer than 0.001s to read; make it smaller"]);
      const submitted = await rpc("submit_workflow", { spec: big });
      expect(submitted.error?.message).toMatch(/the request took longer than 0.001s to read/);
      expect((await rpc("validate_workflow", { spec: toJson(WorkflowSpecSchema, spec(10)) })).result?.valid).toBe(true);
    } finally {
      await running.close();
    }
  });

  it("a caller without a token (or the role) is refused for a large request as for a small one", async () => {
    const OPERATOR = "operator-token-0123456789";
    const VIEWER = "viewer-token-0123456789";
    const { running } = await coordinator({ security: { tokens: parseTokens(`${OPERATOR} operator\n${VIEWER} viewer\n`, "test") }, definitions: { maxMs: 1 } });
    try {
      for (const token of [undefined, "wrong-token-0123456789", VIEWER]) {
        const client = createClient(CoordinatorService, PROTOCOLS["grpc over h2c"](running.url));
        const headers = token ? { authorization: `Bearer ${token}` } : undefined;
        const err = await client.submitWorkflow({ definition: { case: "spec", value: good } }, headers ? { headers } : {}).then(() => undefined, (e: unknown) => ConnectError.from(e));
        expect(err?.code, token).toBe(token === VIEWER ? Code.PermissionDenied : Code.Unauthenticated);
      }
      // The operator's request is read (in a worker with a 1 ms limit: refused for the time it took, which shows where it was read).
      const client = createClient(CoordinatorService, PROTOCOLS["grpc over h2c"](running.url));
      const err = await client.submitWorkflow({ definition: { case: "spec", value: good } }, { headers: { authorization: `Bearer ${OPERATOR}` } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.InvalidArgument);
      expect(err?.rawMessage).toMatch(/the request took longer than 0.001s to read/);
    } finally {
      await running.close();
    }
  });
});

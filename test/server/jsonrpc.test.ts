// The JSON-RPC 2.0 bridge against a real coordinator on port 0: each seed
// method, batches, notifications, every error code, the OpenRPC document,
// and subscriptions over WebSocket.
import { createRequire } from "node:module";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator } from "../helpers/coordinator.js";

let running: RunningCoordinator;

beforeAll(async () => {
  ({ running } = await coordinator());
});
afterAll(async () => {
  await running.close();
});

async function post(body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${running.url}/rpc`, { method: "POST", body, headers: { "content-type": "application/json" } });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function rpc(method: string, params?: unknown): Promise<any> {
  const { json } = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params !== undefined ? { params } : {}) }));
  return json;
}

const yaml = (name: string, steps: string) => `workflow:\n  name: ${name}\n  steps:\n${steps}`;
const QUICK = yaml("quick", `    - { id: a, runner: js, payload: "console.log('hello from a'); 40 + 2" }\n    - { id: b, runner: js, depends_on: [a], payload: "input.a + 1" }\n`);
const SLOW = yaml("slow", `    - { id: wait, runner: shell, payload: "sleep 30" }\n`);

async function untilEnded(workflowId: string): Promise<any> {
  // watch_workflow over HTTP returns once the workflow has ended.
  const watched = await rpc("watch_workflow", { workflowId });
  expect(Array.isArray(watched.result)).toBe(true);
  return (await rpc("get_workflow_status", { workflowId })).result.workflow;
}

describe("seed methods", () => {
  it("submit_workflow, get_workflow_status, list_workflows, get_workflow_logs", async () => {
    const submitted = await rpc("submit_workflow", { yaml: QUICK, inputs: { n: 1 } });
    expect(submitted.jsonrpc).toBe("2.0");
    expect(submitted.id).toBe(1);
    expect(submitted.result.workflowId).toMatch(/^wf_/);
    expect(submitted.result.existing).toBe(false);
    expect(submitted.result.plan.levels).toEqual([{ stepIds: ["a"] }, { stepIds: ["b"] }]);
    const id = submitted.result.workflowId as string;

    const wf = await untilEnded(id);
    expect(wf.state).toBe("WORKFLOW_STATE_SUCCEEDED");
    expect(wf.steps.map((s: any) => [s.id, s.state, s.output])).toEqual([
      ["a", "STEP_STATE_SUCCEEDED", 42],
      ["b", "STEP_STATE_SUCCEEDED", 43],
    ]);

    const listed = await rpc("list_workflows", { name: "quick", pageSize: 10 });
    expect(listed.result.workflows.map((w: any) => w.id)).toContain(id);

    const logs = await rpc("get_workflow_logs", { workflowId: id });
    expect(logs.result.lines.map((l: any) => [l.stepId, l.line])).toContainEqual(["a", "hello from a"]);
  });

  it("cancel_workflow cancels a running workflow", async () => {
    const id = (await rpc("submit_workflow", { yaml: SLOW })).result.workflowId;
    const cancelled = await rpc("cancel_workflow", { workflowId: id, reason: "test" });
    expect(cancelled.result.state).toBe("WORKFLOW_STATE_CANCELLED");
    expect((await rpc("get_workflow_status", { workflowId: id })).result.workflow.state).toBe("WORKFLOW_STATE_CANCELLED");
  });

  it("every other method is reachable in snake_case (validate_workflow)", async () => {
    const res = await rpc("validate_workflow", { yaml: QUICK });
    expect(res.result.valid).toBe(true);
    expect(res.result.spec.steps.map((s: any) => s.id)).toEqual(["a", "b"]);
  });
});

describe("batches and notifications", () => {
  it("answers a batch with one response per request that has an id, notifications and invalid entries included", async () => {
    const { status, json } = await post(
      JSON.stringify([
        { jsonrpc: "2.0", id: "v", method: "validate_workflow", params: { yaml: QUICK } },
        { jsonrpc: "2.0", method: "list_workflows" }, // notification: no answer
        { jsonrpc: "2.0", id: 7, method: "no_such_method" },
        42,
      ]),
    );
    expect(status).toBe(200);
    expect(json).toHaveLength(3);
    const byId = new Map(json.map((r: any) => [r.id, r]));
    expect((byId.get("v") as any).result.valid).toBe(true);
    expect((byId.get(7) as any).error.code).toBe(-32601);
    expect((byId.get(null) as any).error.code).toBe(-32600);
  });

  it("runs a notification without answering it: 204 and no body", async () => {
    const id = (await rpc("submit_workflow", { yaml: SLOW })).result.workflowId;
    const res = await post(JSON.stringify({ jsonrpc: "2.0", method: "cancel_workflow", params: { workflowId: id } }));
    expect(res.status).toBe(204);
    expect(res.json).toBeUndefined();
    expect((await rpc("get_workflow_status", { workflowId: id })).result.workflow.state).toBe("WORKFLOW_STATE_CANCELLED");
  });

  it("a batch of only notifications is answered 204 too", async () => {
    const res = await post(JSON.stringify([{ jsonrpc: "2.0", method: "list_workflows" }, { jsonrpc: "2.0", method: "nope" }]));
    expect(res.status).toBe(204);
  });
});

describe("errors", () => {
  const noStack = (json: unknown) => expect(JSON.stringify(json)).not.toMatch(/\n\s+at |\.ts:\d+/);

  it("-32700 for bad JSON, with the parser's reason", async () => {
    const { status, json } = await post('{"jsonrpc": "2.0", "method": ');
    expect(status).toBe(200);
    expect(json.id).toBeNull();
    expect(json.error.code).toBe(-32700);
    expect(json.error.data.detail).toBeTruthy();
  });

  it("-32600 for requests that are not JSON-RPC 2.0, naming what is wrong", async () => {
    for (const body of ['"hello"', "[]", '{"id": 1, "method": "list_workflows"}', '{"jsonrpc": "2.0", "id": 1, "method": 5}', '{"jsonrpc": "2.0", "id": {}, "method": "x"}', '{"jsonrpc":"2.0","id":1,"method":"list_workflows","params":"x"}']) {
      const { json } = await post(body);
      expect(json.error.code, body).toBe(-32600);
      noStack(json);
    }
    const { json } = await post('{"id": 3, "method": "list_workflows"}');
    expect(json.id).toBe(3);
    expect(json.error.data.problems).toEqual(['"jsonrpc" must be "2.0"']);
  });

  it("-32601 for an unknown method, listing the methods there are", async () => {
    const res = await rpc("get_workflow"); // the seed calls it get_workflow_status
    expect(res.error.code).toBe(-32601);
    expect(res.error.data.available).toEqual(
      expect.arrayContaining(["rpc.discover", "submit_workflow", "get_workflow_status", "list_workflows", "cancel_workflow", "get_workflow_logs"]),
    );
  });

  it("-32602 for wrong param types, unknown fields and positional params, naming the field", async () => {
    const wrongType = await rpc("list_workflows", { pageSize: "ten" });
    expect(wrongType.error.code).toBe(-32602);
    expect(wrongType.error.data.field).toBe("page_size");
    const badEnum = await rpc("list_workflows", { states: ["WORKFLOW_STATE_BORED"] });
    expect(badEnum.error.code).toBe(-32602);
    expect(badEnum.error.data.field).toBe("states");
    const unknown = await rpc("get_workflow_status", { workflow: "x" });
    expect(unknown.error.code).toBe(-32602);
    expect(unknown.error.data.field).toBe("workflow");
    const positional = await rpc("get_workflow_status", ["wf_x"]);
    expect(positional.error.code).toBe(-32602);
    expect(positional.error.message).toContain("by name");
    for (const r of [wrongType, badEnum, unknown, positional]) noStack(r);
  });

  it("-32602 with the violated constraints when params break the proto's rules", async () => {
    const res = await rpc("list_workflows", { pageSize: 5000 });
    expect(res.error.code).toBe(-32602);
    expect(res.error.data.violations).toEqual([{ field: "page_size", rule: "int32.gte_lte", message: expect.stringContaining("less than or equal to 1000") }]);
    const missing = await rpc("get_workflow_status", {});
    expect(missing.error.data.violations[0].field).toBe("workflow_id");
    const noDefinition = await rpc("submit_workflow", {});
    expect(noDefinition.error.data.violations[0].field).toBe("definition");
  });

  it("Connect codes become application codes: not_found is -32005, an invalid definition -32003 with its problems", async () => {
    const nf = await rpc("get_workflow_status", { workflowId: "wf_nope" });
    expect(nf.error).toEqual({ code: -32005, message: "workflow wf_nope not found", data: { connect_code: "not_found" } });
    const invalid = await rpc("submit_workflow", { yaml: yaml("bad", "    - { id: a, runner: js, depends_on: [ghost] }\n") });
    expect(invalid.error.code).toBe(-32003);
    expect(invalid.error.data.connect_code).toBe("invalid_argument");
    expect(invalid.error.data.problems).toContainEqual(expect.objectContaining({ stepId: "a", field: "workflow.steps[0].depends_on[0]" }));
    noStack(invalid);
  });

  it("run_workflow over HTTP: the submission's answer, then the workflow's messages to its end, in one array", async () => {
    const res = await rpc("run_workflow", { submit: { yaml: QUICK, inputs: { n: 1 } } });
    const messages = res.result as any[];
    expect(messages[0].submitted.workflowId).toMatch(/^wf_/);
    expect(messages[0].submitted.plan.levels).toEqual([{ stepIds: ["a"] }, { stepIds: ["b"] }]);
    expect(messages[1].snapshot.id).toBe(messages[0].submitted.workflowId);
    expect(messages[messages.length - 1].event.workflow.state).toBe("WORKFLOW_STATE_SUCCEEDED");
    const bad = await rpc("run_workflow", { submit: { yaml: yaml("rpc-run-bad", "    - { id: a, runner: js, depends_on: [ghost] }\n") } });
    expect(bad.error.message).toContain('step "a" depends on unknown step "ghost"');
  });

  it("submit_workflows: one result per definition in order; an invalid one refuses the batch with its index in the problems", async () => {
    const ok = await rpc("submit_workflows", { workflows: [{ yaml: QUICK, inputs: { n: 1 } }, { yaml: SLOW, idempotencyKey: "rpc-batch-slow" }, { yaml: SLOW, idempotencyKey: "rpc-batch-slow" }] });
    const [quick, slow, repeat] = ok.result.workflows;
    expect(quick).toMatchObject({ workflowId: expect.stringMatching(/^wf_/), plan: { levels: [{ stepIds: ["a"] }, { stepIds: ["b"] }] } });
    expect(slow.workflowId).not.toBe(quick.workflowId);
    expect(repeat).toMatchObject({ workflowId: slow.workflowId, existing: true });
    expect((await untilEnded(quick.workflowId)).state).toBe("WORKFLOW_STATE_SUCCEEDED");
    expect((await rpc("cancel_workflow", { workflowId: slow.workflowId })).result.state).toBe("WORKFLOW_STATE_CANCELLED");

    const bad = await rpc("submit_workflows", { workflows: [{ yaml: yaml("rpc-batch-bad", "    - { id: a, runner: noop }\n") }, { yaml: yaml("rpc-batch-bad", "    - { id: a, runner: js, depends_on: [ghost] }\n") }] });
    expect(bad.error.code).toBe(-32003);
    expect(bad.error.message).toMatch(/^invalid workflows \(nothing was submitted\): workflows\[1\]: /);
    expect(bad.error.data.problems).toEqual([expect.objectContaining({ stepId: "a", field: "workflows[1].workflow.steps[0].depends_on[0]" })]);
    noStack(bad);
    expect((await rpc("list_workflows", { name: "rpc-batch-bad" })).result.workflows).toEqual([]);
    const empty = await rpc("submit_workflows", { workflows: [] });
    expect(empty.error.code).toBe(-32602);
    expect(empty.error.data.violations[0].field).toBe("workflows");
  });

  it("only POST is served", async () => {
    const res = await fetch(`${running.url}/rpc`);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });
});

/**
 * The OpenRPC meta-schema compiled by ajv. It refers to the JSON Schema
 * meta-schema of json-schema.tools by URL, which cannot be fetched offline:
 * that schema comes from its npm package and is added under its id. Both name
 * it as their "$schema", which ajv does not bundle; they are draft-07, so
 * that line is dropped.
 */
// The packages' type declarations omit the schema objects they export.
const require = createRequire(import.meta.url);
const { openrpcDocument } = require("@open-rpc/meta-schema") as { openrpcDocument: object };
const { jsonSchema } = require("@json-schema-tools/meta-schema") as { jsonSchema: object };

function metaSchemaValidator() {
  const strip = (s: object) => {
    const { $schema: _ignored, ...rest } = s as Record<string, unknown>;
    return rest;
  };
  const ajv = new Ajv({ strict: false, validateFormats: false });
  ajv.addSchema(strip(jsonSchema));
  // Also referred to without the trailing slash.
  const { $id: _id, ...anonymous } = strip(jsonSchema);
  ajv.addSchema(anonymous, "https://meta.json-schema.tools");
  return ajv.compile(strip(openrpcDocument));
}

describe("rpc.discover", () => {
  it("returns an OpenRPC 1.3.2 document that validates against the meta-schema and lists the seed's methods", async () => {
    const res = await rpc("rpc.discover");
    const doc = res.result;
    expect(doc.openrpc).toBe("1.3.2");
    const validate = metaSchemaValidator();
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    const names = doc.methods.map((m: any) => m.name);
    expect(names).toEqual(expect.arrayContaining(["submit_workflow", "get_workflow_status", "list_workflows", "cancel_workflow", "get_workflow_logs"]));
    const submit = doc.methods.find((m: any) => m.name === "submit_workflow");
    expect(submit.params.map((p: any) => p.name)).toEqual(["yaml", "spec", "inputs", "idempotencyKey"]);
    expect(submit.result.schema).toEqual({ $ref: "#/components/schemas/horus.coordinator.v1.SubmitWorkflowResponse" });
    // Every $ref resolves inside the document.
    for (const r of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(schemas|errors)\/([^"]+)"/g)) {
      expect(doc.components[r[1]!][r[2]!], r[0]).toBeDefined();
    }
    expect(doc.components.schemas["horus.coordinator.v1.WorkflowState"].enum).toContain("WORKFLOW_STATE_RUNNING");
    expect(doc.components.errors.not_found.code).toBe(-32005);
  });

  it("a document with a broken method fails the same validation (the check can fail)", async () => {
    const doc = (await rpc("rpc.discover")).result;
    doc.methods[0].params = "not a list";
    expect(metaSchemaValidator()(doc)).toBe(false);
  });
});

describe("WebSocket /rpc/ws", () => {
  function connect(): Promise<{ ws: WebSocket; next: () => Promise<any>; send: (m: unknown) => void }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${running.url.replace("http", "ws")}/rpc/ws`);
      const queue: any[] = [];
      const waiting: Array<(m: any) => void> = [];
      ws.on("message", (d) => {
        const m = JSON.parse(String(d));
        const w = waiting.shift();
        if (w) w(m);
        else queue.push(m);
      });
      ws.once("error", reject);
      ws.once("open", () =>
        resolve({
          ws,
          next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r))),
          send: (m) => ws.send(JSON.stringify(m)),
        }),
      );
    });
  }

  it("answers unary calls, and streams watch_workflow as a subscription until the workflow ends", async () => {
    const c = await connect();
    c.send({ jsonrpc: "2.0", id: 1, method: "submit_workflow", params: { yaml: QUICK } });
    const submitted = await c.next();
    const workflowId = submitted.result.workflowId;
    c.send({ jsonrpc: "2.0", id: 2, method: "watch_workflow", params: { workflowId } });
    const sub = await c.next();
    expect(sub).toEqual({ jsonrpc: "2.0", id: 2, result: { subscription: expect.any(String) } });
    const messages: any[] = [];
    for (;;) {
      const n = await c.next();
      expect(n.method).toBe("subscription");
      expect(n.params.subscription).toBe(sub.result.subscription);
      if (n.params.done) break;
      messages.push(n.params.result);
    }
    expect(messages[0].snapshot.id).toBe(workflowId);
    const last = messages[messages.length - 1];
    expect(last.event.workflow.state).toBe("WORKFLOW_STATE_SUCCEEDED");
    // Cursors only move forward.
    const cursors = messages.map((m) => m.cursor);
    expect(new Set(cursors).size).toBe(cursors.length);
    c.ws.close();
  });

  it("unsubscribe stops a subscription; errors arrive as JSON-RPC errors", async () => {
    const c = await connect();
    c.send({ jsonrpc: "2.0", id: 1, method: "submit_workflow", params: { yaml: SLOW } });
    const workflowId = (await c.next()).result.workflowId;
    c.send({ jsonrpc: "2.0", id: 2, method: "watch_workflow", params: { workflowId } });
    const subscription = (await c.next()).result.subscription;
    const snapshot = await c.next();
    expect(snapshot.params.result.snapshot.id).toBe(workflowId);
    // Events of the running step may still arrive before the answer.
    const response = async () => {
      for (;;) {
        const m = await c.next();
        if (m.method !== "subscription") return m;
      }
    };
    c.send({ jsonrpc: "2.0", id: 3, method: "unsubscribe", params: { subscription } });
    expect(await response()).toEqual({ jsonrpc: "2.0", id: 3, result: true });
    c.send({ jsonrpc: "2.0", id: 3, method: "unsubscribe", params: { subscription } });
    expect(await response()).toEqual({ jsonrpc: "2.0", id: 3, result: false }); // already gone
    c.send({ jsonrpc: "2.0", id: 4, method: "watch_workflow", params: { workflowId: "" } });
    expect((await response()).error.code).toBe(-32602);
    c.ws.send("{nope");
    expect((await response()).error.code).toBe(-32700);
    c.send({ jsonrpc: "2.0", id: 5, method: "cancel_workflow", params: { workflowId } });
    expect((await response()).result.state).toBe("WORKFLOW_STATE_CANCELLED");
    c.ws.close();
  });

  it("refuses upgrades on other paths", async () => {
    const ws = new WebSocket(`${running.url.replace("http", "ws")}/elsewhere`);
    const err = await new Promise<Error>((resolve) => ws.once("error", resolve));
    expect(err.message).toContain("404");
  });
});

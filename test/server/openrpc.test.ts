// The OpenRPC document as tools take it: @open-rpc/schema-utils-js accepts
// it, its servers are absolute URLs of the server that answered, and every
// listed method called for real answers a result that its declared schema
// accepts (ajv with ajv-formats), with params the declared params accept.
// The protovalidate rules show as JSON Schema, and agree with the server.
import http from "node:http";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { GetWorkflowRequestSchema, ListWorkflowsRequestSchema, SubmitWorkflowRequestSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { requiredOf } from "../../src/server/jsonrpc/rule-schema.js";
import { isPlainHost } from "../../src/server/request-origin.js";
import { coordinator } from "../helpers/coordinator.js";

// ajv-formats is CommonJS with a default export the ESM typings do not see.
const require = createRequire(import.meta.url);
const addFormats = require("ajv-formats") as (ajv: Ajv) => Ajv;
// Loaded the same way so that tsc does not type-check the .ts sources its dependencies ship.
const { validateOpenRPCDocument } = require("@open-rpc/schema-utils-js") as { validateOpenRPCDocument: (doc: unknown) => true | Error };

let running: RunningCoordinator;
beforeAll(async () => {
  // Any Host is answered ("*"), so that the document's server URLs can be checked for names the Host policy would refuse.
  ({ running } = await coordinator({ security: { allowedHosts: ["*"] } }));
});
afterAll(async () => {
  await running.close();
});

async function rpc(method: string, params?: unknown): Promise<any> {
  const res = await fetch(`${running.url}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params !== undefined ? { params } : {}) }) });
  return res.json();
}

/** POST rpc.discover with a chosen Host header (fetch may not set it). */
function discoverWithHost(host: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "rpc.discover" });
    const req = http.request(`${running.url}/rpc`, { method: "POST", headers: { host, "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve(JSON.parse(text).result));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Validators for each method's result and params, from the document itself. */
function validators(doc: any): Map<string, { result: ValidateFunction; params: ValidateFunction }> {
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  // Every "#/components/..." reference resolves against the document.
  ajv.addSchema({ components: doc.components }, "doc");
  const local = (schema: unknown) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/'));
  const out = new Map();
  for (const m of doc.methods) {
    const params = {
      type: "object",
      additionalProperties: false,
      properties: Object.fromEntries(m.params.map((p: any) => [p.name, local(p.schema)])),
      required: m.params.filter((p: any) => p.required).map((p: any) => p.name),
    };
    out.set(m.name, { result: ajv.compile(local(m.result.schema)), params: ajv.compile(params) });
  }
  return out;
}

const QUICK = "workflow:\n  name: openrpc\n  steps:\n    - { id: a, runner: js, payload: \"console.log('hi'); 40 + 2\" }\n";

describe("the OpenRPC document", () => {
  it("is accepted by @open-rpc/schema-utils-js, with absolute server URLs of the server asked", async () => {
    const doc = (await rpc("rpc.discover")).result;
    expect(validateOpenRPCDocument(doc)).toBe(true);
    expect(doc.servers).toEqual([
      { name: "http", url: `${running.url}/rpc` },
      { name: "websocket (subscriptions)", url: `${running.url.replace("http", "ws")}/rpc/ws` },
    ]);
  });

  it("names the Host the client used, and falls back to the bound address for one that is not a plain host", async () => {
    expect((await discoverWithHost("horus.example.com:9443")).servers[0].url).toBe("http://horus.example.com:9443/rpc");
    expect((await discoverWithHost("[::1]:9090")).servers[1].url).toBe("ws://[::1]:9090/rpc/ws");
    const bound = new URL(running.url);
    expect((await discoverWithHost("evil.example/path?x")).servers[0].url).toBe(`http://${bound.hostname}:${bound.port}/rpc`);
    expect(["a.b", "a.b:1", "[::1]", "127.0.0.1:80"].every(isPlainHost)).toBe(true);
    expect(["", "a b", "u@h", "h/p", "h:port", "[zz]"].some(isPlainHost)).toBe(false);
  });

  it("carries the protovalidate rules: a required workflowId of 1 to 128 characters, pageSize at most 1000, a definition", async () => {
    const doc = (await rpc("rpc.discover")).result;
    const method = (name: string) => doc.methods.find((m: any) => m.name === name);
    const workflowId = method("get_workflow_status").params.find((p: any) => p.name === "workflowId");
    expect(workflowId).toMatchObject({ required: true, schema: { type: "string", minLength: 1, maxLength: 128 } });
    const pageSize = method("list_workflows").params.find((p: any) => p.name === "pageSize");
    expect(pageSize).toMatchObject({ required: false, schema: { type: "integer", minimum: 0, maximum: 1000 } });
    expect(method("register_supervisor").params.find((p: any) => p.name === "url").schema).toMatchObject({ format: "uri" });
    // Params are listed one by one, so "one of yaml or spec" is said in words.
    expect(method("submit_workflow").description).toContain("exactly one of yaml, spec");
    // The same derivation marks fields and oneofs inside message schemas.
    expect(requiredOf(GetWorkflowRequestSchema)).toEqual({ fields: ["workflowId"], oneofs: [] });
    expect(requiredOf(SubmitWorkflowRequestSchema).oneofs.map((o) => o.name)).toEqual(["definition"]);
    expect(requiredOf(ListWorkflowsRequestSchema)).toEqual({ fields: [], oneofs: [] });
  });

  it("rejects the params the server rejects", async () => {
    const v = validators((await rpc("rpc.discover")).result);
    const bad: Array<[string, unknown]> = [
      ["get_workflow_status", {}],
      ["get_workflow_status", { workflowId: "" }],
      ["get_workflow_status", { workflowId: "x".repeat(129) }],
      ["list_workflows", { pageSize: 1001 }],
      ["submit_workflow", { yaml: QUICK, idempotencyKey: "k".repeat(257) }],
      ["submit_workflows", { workflows: [] }],
      ["submit_workflows", { workflows: [{ yaml: QUICK, idempotencyKey: "k".repeat(257) }] }],
      ["register_supervisor", { name: "s", url: "not a url" }],
    ];
    for (const [name, params] of bad) {
      expect([name, params, v.get(name)!.params(params)]).toEqual([name, params, false]);
      expect([name, params, (await rpc(name, params)).error?.code]).toEqual([name, params, -32602]);
    }
  });

  it("declares a result schema that every method's real answer matches", async () => {
    const doc = (await rpc("rpc.discover")).result;
    const v = validators(doc);
    const submitted = await rpc("submit_workflow", { yaml: QUICK, inputs: { n: 41 }, idempotencyKey: "openrpc-1" });
    const workflowId: string = submitted.result.workflowId;
    const slow = (await rpc("submit_workflow", { yaml: "workflow:\n  name: openrpc-slow\n  steps:\n    - { id: w, runner: shell, payload: \"sleep 30\" }\n" })).result.workflowId;
    // Params for every method; a method added later without a case here fails below.
    const calls: Record<string, unknown> = {
      "rpc.discover": undefined,
      submit_workflow: { yaml: QUICK, inputs: { n: 1 } },
      submit_workflows: { workflows: [{ yaml: QUICK, inputs: { n: 2 } }, { yaml: QUICK, idempotencyKey: "openrpc-1" }] },
      validate_workflow: { yaml: QUICK },
      watch_workflow: { workflowId },
      run_workflow: { submit: { yaml: QUICK, inputs: { n: 4 } } },
      get_workflow_status: { workflowId },
      list_workflows: { pageSize: 10, name: "openrpc" },
      watch_workflows: { pageSize: 5 },
      get_workflow_logs: { workflowId },
      cancel_workflow: { workflowId: slow, reason: "openrpc test" },
      retry_workflow: { workflowId: slow },
      register_workflow_template: { name: "openrpc-template", yaml: QUICK },
      get_workflow_template: { name: "openrpc-template" },
      list_workflow_templates: {},
      create_schedule: { schedule: { name: "openrpc-schedule", cron: "0 3 * * *", timeZone: "Europe/Paris", overlap: "OVERLAP_POLICY_ALLOW", catchUpWindow: "30s", yaml: QUICK, inputs: { n: 3 } } },
      list_schedules: {},
      pause_schedule: { name: "openrpc-schedule" },
      resume_schedule: { name: "openrpc-schedule" },
      trigger_schedule: { name: "openrpc-schedule" },
      delete_schedule: { name: "openrpc-schedule" },
      list_supervisors: {},
      // Last: the coordinator may try to dispatch to it (nothing listens there).
      register_supervisor: { name: "openrpc-sup", url: "http://127.0.0.1:9/", runners: [{ name: "noop", capacity: 1 }], labels: { zone: "a" } },
    };
    expect(doc.methods.map((m: any) => m.name).sort()).toEqual(Object.keys(calls).filter((n) => n !== "rpc.discover").sort());
    for (const [name, params] of Object.entries(calls)) {
      const answer = await rpc(name, params);
      expect([name, answer.error]).toEqual([name, undefined]);
      if (name === "rpc.discover") {
        expect(validateOpenRPCDocument(answer.result)).toBe(true);
        continue;
      }
      const { result, params: paramsOk } = v.get(name)!;
      expect([name, paramsOk(params), paramsOk.errors]).toEqual([name, true, null]);
      expect([name, result(answer.result), result.errors]).toEqual([name, true, null]);
    }
    // The answers were real ones, not empty shells.
    const logs = await rpc("get_workflow_logs", { workflowId });
    expect(logs.result.lines.map((l: any) => l.line)).toContain("hi");
    const status = await rpc("get_workflow_status", { workflowId });
    expect(status.result.workflow.steps[0].output).toBe(42);
  });

  it("a result that breaks its schema fails the same check (the check can fail)", async () => {
    const v = validators((await rpc("rpc.discover")).result);
    expect(v.get("get_workflow_logs")!.result({ lines: [{ line: 5 }] })).toBe(false);
    expect(v.get("get_workflow_logs")!.result({ subscription: "s1", lines: [] })).toBe(false);
    expect(v.get("watch_workflow")!.result({ snapshot: {} })).toBe(false);
    expect(v.get("get_workflow_status")!.result({ workflow: { createdAt: "yesterday" } })).toBe(false);
  });
});

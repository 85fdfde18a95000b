// Property tests with random and mutated inputs: the YAML/spec parser, the
// JSON-RPC bridge over HTTP, and the Connect request handlers never crash
// and always end in a typed error (INVALID_ARGUMENT, a JSON-RPC error
// object), never a 5xx or a stack. Fixed seed and bounded runs, so CI is
// repeatable; FUZZ_RUNS raises the count for a longer local run.
import { readdirSync, readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { WorkflowSpecSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { checkDefinition } from "../../src/coordinator/service.js";
import { parseWorkflowYaml } from "../../src/workflow/parse.js";
import { validateAndPlan } from "../../src/workflow/plan.js";
import { coordinator, type CoordinatorClient } from "../helpers/coordinator.js";

const SEED = 9;
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const settings = { seed: SEED, numRuns: RUNS };

const EXAMPLES = readdirSync("examples")
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => readFileSync(`examples/${f}`, "utf8"));

/** A valid example with a random edit: a slice cut, characters inserted, lines swapped. */
const mutatedYaml = fc
  .tuple(fc.constantFrom(...EXAMPLES), fc.nat(), fc.nat(), fc.string({ maxLength: 20 }), fc.constantFrom("cut", "insert", "swap", "dup"))
  .map(([text, i, j, insert, op]) => {
    const a = i % (text.length + 1);
    const b = j % (text.length + 1);
    const [lo, hi] = a < b ? [a, b] : [b, a];
    if (op === "cut") return text.slice(0, lo) + text.slice(hi);
    if (op === "insert") return text.slice(0, lo) + insert + text.slice(lo);
    if (op === "dup") return text.slice(0, hi) + text.slice(lo, hi) + text.slice(hi);
    const lines = text.split("\n");
    const x = i % lines.length;
    const y = j % lines.length;
    [lines[x], lines[y]] = [lines[y]!, lines[x]!];
    return lines.join("\n");
  });

const anyYaml = fc.oneof(fc.string({ maxLength: 300 }), mutatedYaml, fc.jsonValue().map((v) => JSON.stringify(v)));

describe("the YAML and spec parser", () => {
  it("returns a definition or problems for any text, and planning never throws", () => {
    fc.assert(
      fc.property(anyYaml, (text) => {
        const parsed = parseWorkflowYaml(text);
        expect(Array.isArray(parsed.problems)).toBe(true);
        if (parsed.definition) expect(Array.isArray(validateAndPlan(parsed.definition).problems)).toBe(true);
        for (const p of parsed.problems) expect(typeof p.message).toBe("string");
      }),
      // The parser is cheap: many more runs than the network properties.
      { ...settings, numRuns: RUNS * 10 },
    );
  });

  it("turns YAML the library throws on into a problem (found by this fuzzing: an alias without an anchor)", () => {
    for (const text of ["*-", "a: *nowhere", `x: &a [1]\nworkflow: [${"*a, ".repeat(200)}]`]) {
      const parsed = parseWorkflowYaml(text);
      expect(parsed.definition).toBeUndefined();
      expect(parsed.problems[0]!.message).toMatch(/YAML/);
    }
  });

  it("checks any spec-shaped object without throwing", () => {
    const step = fc.record({ id: fc.string({ maxLength: 8 }), runner: fc.string({ maxLength: 6 }), payload: fc.string({ maxLength: 20 }), dependsOn: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.record({ name: fc.string({ maxLength: 10 }), steps: fc.array(step, { maxLength: 12 }) }, { requiredKeys: [] }), (spec) => {
        const r = checkDefinition({ case: "spec", value: create(WorkflowSpecSchema, spec) });
        expect(Array.isArray(r.problems)).toBe(true);
      }),
      settings,
    );
  });
});

describe("a running coordinator", () => {
  let running: RunningCoordinator;
  let client: CoordinatorClient;
  beforeAll(async () => {
    ({ running, client } = await coordinator({ security: { clientLimits: { submitsPerSecond: 0 } } }));
  });
  afterAll(() => running.close());

  /** A random JSON-RPC request: valid shapes with random params, broken shapes, garbage text. */
  const methods = ["submit_workflow", "validate_workflow", "get_workflow", "list_workflows", "cancel_workflow", "retry_workflow", "get_workflow_logs", "register_workflow_template", "get_workflow_template", "register_supervisor", "rpc.discover", "no_such"];
  const request = fc.record({
    jsonrpc: fc.oneof(fc.constant("2.0"), fc.jsonValue()),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null), fc.jsonValue()),
    method: fc.oneof(fc.constantFrom(...methods), fc.jsonValue()),
    params: fc.oneof(
      fc.jsonValue(),
      fc.record({ workflow_id: fc.string({ maxLength: 10 }), definition: fc.oneof(fc.record({ yaml: mutatedYaml }), fc.jsonValue()), page_size: fc.oneof(fc.integer(), fc.jsonValue()), cursor: fc.string({ maxLength: 10 }) }, { requiredKeys: [] }),
    ),
  }, { requiredKeys: [] });
  const body = fc.oneof(
    request.map((r) => JSON.stringify(r)),
    fc.array(request, { maxLength: 4 }).map((r) => JSON.stringify(r)),
    fc.string({ maxLength: 200 }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
  );

  it("JSON-RPC over HTTP answers every body with a result or a JSON-RPC error, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const res = await fetch(`${running.url}/rpc`, { method: "POST", body: text, headers: { "content-type": "application/json" } });
        expect([200, 204]).toContain(res.status);
        if (res.status === 204) return;
        const answer = (await res.json()) as unknown;
        for (const a of Array.isArray(answer) ? answer : [answer]) {
          const r = a as { jsonrpc: string; result?: unknown; error?: { code: number; message: string } };
          expect(r.jsonrpc).toBe("2.0");
          expect("result" in r || "error" in r).toBe(true);
          if (r.error) {
            expect(Number.isInteger(r.error.code)).toBe(true);
            // Typed: a protocol error, or a Connect code other than internal/unknown.
            expect([-32603, -32013, -32002]).not.toContain(r.error.code);
            expect(r.error.message).not.toMatch(/\n\s+at /);
          }
        }
      }),
      { ...settings, numRuns: Math.min(RUNS, 120) },
    );
  });

  it("Connect handlers answer random bytes and random JSON with a typed error, never a 5xx", async () => {
    const paths = ["SubmitWorkflow", "SubmitWorkflows", "ValidateWorkflow", "GetWorkflow", "ListWorkflows", "CancelWorkflow", "RegisterWorkflowTemplate"].map((m) => `/horus.coordinator.v1.CoordinatorService/${m}`);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ maxLength: 100 })), fc.constantFrom("application/json", "application/proto"), async (path, text, type) => {
        const res = await fetch(`${running.url}${path}`, { method: "POST", body: text, headers: { "content-type": type, "connect-protocol-version": "1" } });
        if (res.status === 200) return;
        const err = (await res.json()) as { code: string; message?: string };
        // A body that is not protobuf binary is INVALID_ARGUMENT too
        // (src/server/parse-errors.ts; @connectrpc/connect itself says INTERNAL).
        expect(["invalid_argument", "not_found", "failed_precondition", "resource_exhausted"]).toContain(err.code);
        expect(err.message ?? "").not.toMatch(/\n\s+at /);
      }),
      { ...settings, numRuns: Math.min(RUNS, 120) },
    );
  });

  it("SubmitWorkflow with mutated YAML either starts a workflow or says INVALID_ARGUMENT", async () => {
    await fc.assert(
      fc.asyncProperty(mutatedYaml, async (yaml) => {
        try {
          await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
        } catch (err) {
          expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
        }
      }),
      { ...settings, numRuns: Math.min(RUNS, 80) },
    );
    // Still serving.
    expect((await client.listWorkflows({})).workflows).toBeDefined();
  });

  it("SubmitWorkflows with batches of mutated YAML: all started, in order, or INVALID_ARGUMENT naming a definition", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutatedYaml, { minLength: 1, maxLength: 4 }), async (yamls) => {
        try {
          const res = await client.submitWorkflows({ workflows: yamls.map((value) => ({ definition: { case: "yaml", value } })) });
          expect(res.workflows).toHaveLength(yamls.length);
        } catch (err) {
          const e = ConnectError.from(err);
          expect(e.code).toBe(Code.InvalidArgument);
          expect(e.rawMessage).toMatch(/workflows\[\d\]/);
        }
      }),
      { ...settings, numRuns: Math.min(RUNS, 40) },
    );
  });
});

// Validation rows of docs/semantics.md (V*, and the validation half of R, C,
// F, H, W, D): every bad value is a problem naming its step and field path,
// never a throw. Also: the feature examples validate, and definitions survive
// the YAML -> proto spec -> definition round trip.
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { StepSpecSchema, TriggerRule, WorkflowSpecSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { definitionToSpec } from "../../src/coordinator/convert.js";
import { compileCel } from "../../src/workflow/cel.js";
import { fromSpec, parseWorkflowYaml, validateAndPlan, type Problem } from "../../src/workflow/index.js";
import type { WorkflowDefinition } from "../../src/workflow/definition.js";
import { findTemplateCycle, templateRefs } from "../../src/workflow/template-refs.js";

function check(yaml: string): { problems: Problem[]; levels?: string[][] } {
  const parsed = parseWorkflowYaml(yaml);
  const problems = [...parsed.problems];
  let levels: string[][] | undefined;
  if (parsed.definition) {
    const r = validateAndPlan(parsed.definition);
    problems.push(...r.problems);
    levels = r.plan?.levels;
  }
  return { problems, ...(levels ? { levels } : {}) };
}

const wf = (steps: string, top = "") => `workflow:\n  name: t\n${top}  steps:\n${steps}`;
const FEATURE_EXAMPLES = ["retry", "trigger-rules", "when", "for-each", "on-failure", "sub-workflow"];

describe("feature examples", () => {
  for (const f of FEATURE_EXAMPLES) {
    it(`examples/${f}.yaml parses and validates`, () => {
      expect(check(readFileSync(`examples/${f}.yaml`, "utf8")).problems).toEqual([]);
    });
  }

  it("H1: on_failure steps are planned after every main level", () => {
    expect(check(readFileSync("examples/on-failure.yaml", "utf8")).levels).toEqual([["extract"], ["load"], ["log-failure"], ["decide"]]);
  });
});

describe("V1 / R8: retry policies", () => {
  const table: Array<{ retry: string; field: string; message: RegExp }> = [
    { retry: "max_attempts: 0", field: "retry.max_attempts", message: /from 1 to 100, got 0/ },
    { retry: "max_attempts: 2.5", field: "retry.max_attempts", message: /whole number/ },
    { retry: "max_attempts: many", field: "retry.max_attempts", message: /must be a number, got a string/ },
    { retry: "initial_backoff: soon", field: "retry.initial_backoff", message: /"soon" is not a duration/ },
    { retry: "initial_backoff: 5s, max_backoff: 1s", field: "retry.max_backoff", message: /less than initial_backoff/ },
    { retry: "multiplier: 0.5", field: "retry.multiplier", message: /from 1 to 100/ },
    { retry: "jitter: 2", field: "retry.jitter", message: /fraction from 0 to 1/ },
    { retry: "non_retryable: 5", field: "retry.non_retryable", message: /list of error codes/ },
    { retry: "non_retryable: [{}]", field: "retry.non_retryable[0]", message: /error codes like/ },
    { retry: "tries: 3", field: "retry.tries", message: /unknown field "tries" in retry/ },
  ];
  for (const t of table) {
    it(`V1: retry {${t.retry}} -> problem at ${t.field}`, () => {
      const r = check(wf(`    - {id: a, runner: noop, retry: {${t.retry}}}\n`));
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatchObject({ stepId: "a", field: `workflow.steps[0].${t.field}` });
      expect(r.problems[0]!.message).toMatch(/^step "a": /);
      expect(r.problems[0]!.message).toMatch(t.message);
    });
  }

  it("V1: the workflow default is checked at workflow.retry", () => {
    const r = check(wf(`    - {id: a, runner: noop}\n`, "  retry: {jitter: -1}\n"));
    expect(r.problems).toEqual([{ stepId: "", field: "workflow.retry.jitter", message: "workflow: retry.jitter must be a fraction from 0 to 1, got -1" }]);
  });

  it("R8: a long initial_backoff raises the built-in max_backoff; a clash across levels is a problem", () => {
    const ok = parseWorkflowYaml(wf(`    - {id: a, runner: noop, retry: {initial_backoff: 5m}}\n`));
    expect(validateAndPlan(ok.definition!).plan!.retry[0]).toMatchObject({ initialBackoffMs: 300_000, maxBackoffMs: 300_000 });
    const r = check(wf(`    - {id: a, runner: noop, retry: {initial_backoff: 5m}}\n`, "  retry: {max_backoff: 10s}\n"));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ stepId: "a", field: "workflow.steps[0].retry" });
  });
});

describe("V2: trigger rules", () => {
  it("V2: an unknown trigger rule names the allowed ones", () => {
    const r = check(wf(`    - {id: a, runner: noop}\n    - {id: b, runner: noop, depends_on: [a], trigger: always}\n`));
    expect(r.problems).toEqual([
      { stepId: "b", field: "workflow.steps[1].trigger", message: 'step "b": trigger "always" is not a trigger rule (use one of all_success, all_done, one_success, one_failed, none_failed)' },
    ]);
  });

  it("V2: an unknown trigger number in a proto spec is a problem", () => {
    const spec = create(WorkflowSpecSchema, { name: "s", steps: [create(StepSpecSchema, { id: "a", runner: "noop", trigger: 42 as TriggerRule })] });
    expect(fromSpec(spec).problems).toEqual([{ stepId: "a", field: "workflow.steps[0].trigger", message: 'step "a": trigger 42 is not a known trigger rule' }]);
  });

  it("V3: a duration past --max-duration (YAML) or not positive (spec) is a problem at its field (the full table: durations.test.ts)", () => {
    expect(check(wf(`    - {id: a, runner: noop, timeout: 31d}\n`)).problems).toEqual([
      { stepId: "a", field: "workflow.steps[0].timeout", message: 'step "a": timeout must be at most 30d (the coordinator\'s --max-duration), got 31d' },
    ]);
    const spec = create(WorkflowSpecSchema, { name: "s", steps: [create(StepSpecSchema, { id: "a", runner: "noop", timeout: { seconds: -5n, nanos: 0 } })] });
    expect(validateAndPlan(fromSpec(spec).definition!).problems.map((p) => p.field)).toEqual(["workflow.steps[0].timeout"]);
  });
});

describe("C3: conditions are compiled at validation time", () => {
  const table = [
    { expr: "input.a +", message: /^step "a": when is not a valid CEL expression: at line 1, column 9: found \+ but expecting end of input$/ },
    { expr: "nope.x > 1", message: /unknown variable "nope" \(expressions can read input and inputs\)/ },
    { expr: "item == 1", message: /unknown variable "item"/ },
    { expr: "frobnicate(inputs)", message: /unknown function "frobnicate"/ },
    { expr: " ", message: /the expression is empty/ },
  ];
  for (const t of table) {
    it(`C3: when "${t.expr}" is rejected with step and field`, () => {
      const r = check(wf(`    - {id: a, runner: noop, when: "${t.expr}"}\n`));
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatchObject({ stepId: "a", field: "workflow.steps[0].when" });
      expect(r.problems[0]!.message).toMatch(t.message);
    });
  }

  it("C4: an expression that cannot fit its cost budget whatever the inputs is a problem naming step and field", () => {
    const L = `[${Array.from({ length: 300 }, (_, i) => i).join(", ")}]`;
    const r = check(wf(`    - {id: a, runner: noop}\n    - {id: b, runner: noop, depends_on: [a], when: "${L}.map(a, ${L}.map(b, ${L}.map(c, a))).size() > 0"}\n    - {id: c, runner: noop, for_each: "${L}.map(a, ${L}.map(b, ${L}))"}\n`));
    expect(r.problems.map((p) => [p.stepId, p.field])).toEqual([["b", "workflow.steps[1].when"], ["c", "workflow.steps[2].for_each"]]);
    expect(r.problems[0]!.message).toMatch(/^step "b": when exceeds its cost budget: it takes at least \d+ evaluation steps/);
  });

  it("C3: for_each is compiled the same way; non-string values are shape problems", () => {
    const r = check(wf(`    - {id: a, runner: noop, for_each: "[1, 2"}\n    - {id: b, runner: noop, when: [1]}\n`));
    expect(r.problems.map((p) => p.field)).toEqual(["workflow.steps[1].when", "workflow.steps[0].for_each"]);
  });

  it("C1: comprehension variables are not mistaken for unknown ones; `when: true` in YAML is accepted", () => {
    expect(check(wf(`    - {id: a, runner: noop, when: "inputs.xs.all(x, x > 0) && [1].map(y, y + 1).size() == 1"}\n    - {id: b, runner: noop, when: true}\n`)).problems).toEqual([]);
  });

  it("F8: a CEL map() over 10,000 items evaluates (the library's nested list is flattened without recursion)", () => {
    const c = compileCel("input.xs.map(x, x * 2)");
    if ("error" in c) throw new Error(c.error);
    const r = c.program({ input: { xs: Array.from({ length: 10_000 }, (_, i) => i) }, inputs: {} });
    expect(r.ok && (r.value as number[])[9_999]).toBe(19_998);
  });
});

describe("F: for_each validation", () => {
  it("F3: a for_each step cannot depend on steps named item or index", () => {
    const r = check(wf(`    - {id: item, runner: noop}\n    - {id: b, runner: noop, depends_on: [item], for_each: "[1]"}\n`));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ stepId: "b", field: "workflow.steps[1].depends_on[0]" });
    expect(r.problems[0]!.message).toMatch(/clash with input.item/);
  });

  it("F2: max_parallel needs for_each and a whole number of at least 1", () => {
    const r = check(wf(`    - {id: a, runner: noop, max_parallel: 2}\n    - {id: b, runner: noop, for_each: "[1]", max_parallel: 0}\n    - {id: c, runner: noop, for_each: "[1]", max_parallel: many}\n`));
    expect(r.problems.map((p) => [p.stepId, p.field])).toEqual([
      ["c", "workflow.steps[2].max_parallel"],
      ["a", "workflow.steps[0].max_parallel"],
      ["b", "workflow.steps[1].max_parallel"],
    ]);
  });
});

describe("H: on_failure validation", () => {
  it("H1: on_failure and main steps cannot depend on each other; ids are unique across both", () => {
    const r = check(wf(`    - {id: a, runner: noop, depends_on: [h]}\n`, "  on_failure:\n    - {id: h, runner: noop, depends_on: [a]}\n    - {id: a, runner: noop}\n"));
    expect(r.problems.map((p) => [p.stepId, p.field])).toEqual([
      ["a", "workflow.on_failure[1].id"],
      ["a", "workflow.steps[0].depends_on[0]"],
      ["h", "workflow.on_failure[0].depends_on[0]"],
    ]);
    expect(r.problems[0]!.message).toBe('step "a": duplicate id (also workflow.steps[0])');
  });

  it("H2: an on_failure step cannot depend on one named failure", () => {
    const r = check(wf(`    - {id: a, runner: noop}\n`, "  on_failure:\n    - {id: failure, runner: noop}\n    - {id: h, runner: noop, depends_on: [failure]}\n"));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.message).toMatch(/clash with input.failure/);
  });

  it("H1: on_failure must be a list of steps", () => {
    expect(check(wf(`    - {id: a, runner: noop}\n`, "  on_failure: {id: h}\n")).problems[0]).toMatchObject({ field: "workflow.on_failure" });
  });
});

describe("D / W: timeouts and sub-workflows", () => {
  it("D2: a workflow timeout must be a duration", () => {
    expect(check(wf(`    - {id: a, runner: noop}\n`, "  timeout: later\n")).problems).toEqual([
      { stepId: "", field: "workflow.timeout", message: 'workflow.timeout "later" is not a duration (use e.g. "30s", "5m", "1h")' },
    ]);
  });

  const table: Array<{ step: string; field: string; message: RegExp }> = [
    { step: `{id: c, runner: js, workflow: {template: t}}`, field: "workflow.steps[0].runner", message: /either a runner or a workflow/ },
    { step: `{id: c, workflow: {template: ""}}`, field: "workflow.steps[0].workflow.template", message: /must be a template name/ },
    { step: `{id: c, workflow: {template: t, version: 0}}`, field: "workflow.steps[0].workflow.version", message: /positive whole number/ },
    { step: `{id: c, workflow: {template: t, tag: x}}`, field: "workflow.steps[0].workflow.tag", message: /unknown field "tag"/ },
    { step: `{id: c, workflow: 5}`, field: "workflow.steps[0].workflow", message: /inline workflow .* or a template reference/ },
    { step: `{id: c, workflow: {steps: [{id: x}]}}`, field: "workflow.steps[0].workflow.steps[0].runner", message: /^step "c" \(sub-workflow\): step "x": runner is missing/ },
    { step: `{id: c, workflow: {steps: [{id: x, runner: noop, depends_on: [y]}]}}`, field: "workflow.steps[0].workflow.steps[0].depends_on[0]", message: /depends on unknown step "y"/ },
  ];
  for (const t of table) {
    it(`W1: ${t.step} -> problem at ${t.field}`, () => {
      const r = check(wf(`    - ${t.step}\n`));
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]!.field).toBe(t.field);
      expect(r.problems[0]!.message).toMatch(t.message);
    });
  }

  it("W1: sub-workflows nest at most 8 deep", () => {
    let child = `{steps: [{id: leaf, runner: noop}]}`;
    for (let d = 0; d < 9; d++) child = `{steps: [{id: s${d}, workflow: ${child}}]}`;
    const r = check(wf(`    - {id: top, workflow: ${child}}\n`));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.message).toMatch(/nest more than 8 deep/);
  });
});

describe("spec round trip", () => {
  for (const f of [...FEATURE_EXAMPLES, "data-pipeline", "parallel"]) {
    it(`examples/${f}.yaml -> WorkflowSpec -> definition is lossless`, () => {
      const def = parseWorkflowYaml(readFileSync(`examples/${f}.yaml`, "utf8")).definition!;
      const back = fromSpec(definitionToSpec(def));
      expect(back.problems).toEqual([]);
      expect(back.definition).toEqual(def);
    });
  }
});

describe("W5: template cycles at registration", () => {
  const def = (...refs: Array<string | [string, number]>): WorkflowDefinition => ({
    name: "t",
    labels: {},
    steps: refs.map((r, i) => ({ id: `s${i}`, runner: "", payload: "", dependsOn: [], workflow: typeof r === "string" ? { template: r } : { template: r[0], version: r[1] } })),
  });
  // Registered templates by name; each has versions 1..n (the last is the latest).
  const store = (t: Record<string, WorkflowDefinition[]>) => async (name: string, version?: number) => {
    const versions = t[name];
    return versions ? versions[(version ?? versions.length) - 1] : undefined;
  };
  const table: Array<{ name: string; registering: string; def: WorkflowDefinition; registered: Record<string, WorkflowDefinition[]>; path?: string[] }> = [
    { name: "a template running itself", registering: "cycA", def: def("cycA"), registered: {}, path: ["cycA", "cycA"] },
    { name: "the second of cycA -> cycB -> cycA", registering: "cycB", def: def("cycA"), registered: { cycA: [def("cycB")] }, path: ["cycB", "cycA", "cycB"] },
    { name: "a longer cycle, from the second step", registering: "c", def: def("x", "a"), registered: { a: [def("b")], b: [def("c")], x: [def()] }, path: ["c", "a", "b", "c"] },
    { name: "a cycle through a pinned future version", registering: "b", def: def("a"), registered: { a: [def(["b", 2])], b: [def()] }, path: ["b", "a", "b"] },
    { name: "a chain without a cycle", registering: "c", def: def("b"), registered: { b: [def("a")], a: [def()] } },
    { name: "a pinned older version of itself that runs no template", registering: "a", def: def(["a", 1]), registered: { a: [def()] } },
    { name: "a reference to a template not registered yet", registering: "a", def: def("later"), registered: {} },
  ];
  for (const t of table) {
    it(`W5: ${t.name} ${t.path ? "is a cycle" : "is not a cycle"}`, async () => {
      const latest = t.registered[t.registering]?.length ?? 0;
      const found = await findTemplateCycle(t.registering, t.def, latest, store(t.registered));
      expect(found?.path).toEqual(t.path);
      if (found) expect(found.field).toMatch(/^workflow\.steps\[\d\]\.workflow\.template$/);
    });
  }

  it("W5: references inside inline sub-workflows count, with their field path", () => {
    const inner = def("self");
    const outer: WorkflowDefinition = { name: "o", labels: {}, steps: [{ id: "wrap", runner: "", payload: "", dependsOn: [], workflow: { inline: inner } }] };
    expect(templateRefs(outer)).toEqual([{ stepId: "s0", field: "workflow.steps[0].workflow.steps[0].workflow.template", template: "self" }]);
  });
});

describe("docs/semantics.md", () => {
  it("every numbered row is named by a test", () => {
    const doc = readFileSync("docs/semantics.md", "utf8");
    const ids = [...doc.matchAll(/^\| ([A-Z]\d+) \|/gm)].map((m) => m[1]!);
    expect(ids.length).toBeGreaterThan(40);
    const tests = ["test/engine/semantics.test.ts", "test/engine/properties.test.ts", "test/workflow/features.test.ts", "test/workflow/inputs.test.ts"].map((f) => readFileSync(f, "utf8")).join("\n");
    // A row is named when its id appears in a test title, alone or in a range like "H1-H3".
    const named = new Set<string>();
    for (const m of tests.matchAll(/\b([A-Z])(\d+)(?:-\1?(\d+))?\b/g)) {
      const from = Number(m[2]);
      const to = m[3] ? Number(m[3]) : from;
      for (let k = from; k <= to; k++) named.add(`${m[1]}${k}`);
    }
    expect(ids.filter((id) => !named.has(id))).toEqual([]);
  });
});

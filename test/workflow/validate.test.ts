import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseWorkflowYaml, validateAndPlan, type Problem } from "../../src/workflow/index.js";

function check(yaml: string, limits = {}): { problems: Problem[]; levels?: string[][] } {
  const parsed = parseWorkflowYaml(yaml);
  const problems = [...parsed.problems];
  let levels: string[][] | undefined;
  if (parsed.definition) {
    const r = validateAndPlan(parsed.definition, limits);
    problems.push(...r.problems);
    levels = r.plan?.levels;
  }
  return { problems, ...(levels ? { levels } : {}) };
}

const wf = (steps: string) => `workflow:\n  name: t\n  steps:\n${steps}`;

describe("workflow validation", () => {
  it("accepts the seed's YAML as written and plans it by level", () => {
    const r = check(`workflow:
  name: "data-pipeline"
  steps:
    - id: "fetch"
      runner: "js"
      payload: "..."
    - id: "process"
      runner: "js"
      depends_on: ["fetch"]
      payload: |
        let data = input.fetch;
        data
`);
    expect(r.problems).toEqual([]);
    expect(r.levels).toEqual([["fetch"], ["process"]]);
  });

  it("plans every example", () => {
    for (const f of ["data-pipeline", "ci-cd", "multi-stage", "parallel"]) {
      const r = check(readFileSync(`examples/${f}.yaml`, "utf8"));
      expect(r.problems, f).toEqual([]);
    }
    expect(check(readFileSync("examples/parallel.yaml", "utf8")).levels).toEqual([["start"], ["A", "B", "C"], ["aggregate"], ["finish"]]);
  });

  it("rejects duplicate ids naming the step", () => {
    const r = check(wf(`    - {id: a, runner: noop}\n    - {id: a, runner: noop}\n`));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ stepId: "a", field: "workflow.steps[1].id" });
    expect(r.problems[0]!.message).toContain('step "a": duplicate id');
  });

  it("rejects empty and missing ids", () => {
    const r = check(wf(`    - {id: "", runner: noop}\n    - {runner: noop}\n`));
    expect(r.problems.map((p) => p.field)).toEqual(["workflow.steps[0].id", "workflow.steps[1].id"]);
    expect(r.problems[0]!.message).toMatch(/id is missing or empty/);
  });

  it("rejects unknown depends_on", () => {
    const r = check(wf(`    - {id: a, runner: noop, depends_on: [nope]}\n`));
    expect(r.problems).toEqual([{ stepId: "a", field: "workflow.steps[0].depends_on[0]", message: 'step "a" depends on unknown step "nope"' }]);
  });

  it("rejects self-dependency", () => {
    const r = check(wf(`    - {id: a, runner: noop, depends_on: [a]}\n`));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.message).toBe('step "a" depends on itself');
  });

  it("rejects a cycle and prints its path", () => {
    const r = check(readFileSync("examples/invalid/cycle.yaml", "utf8"));
    expect(r.problems).toHaveLength(1);
    const msg = r.problems[0]!.message;
    expect(msg).toMatch(/dependency cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
    // Each arrow points from a step to one that depends on it.
    expect(msg).toContain("a -> b");
  });

  it("reports one cycle per separate loop and ignores steps merely behind a cycle", () => {
    const r = check(wf(`    - {id: a, runner: noop, depends_on: [b]}
    - {id: b, runner: noop, depends_on: [a]}
    - {id: c, runner: noop, depends_on: [d]}
    - {id: d, runner: noop, depends_on: [c]}
    - {id: e, runner: noop, depends_on: [a]}
`));
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]!.message).toMatch(/dependency cycle: (a -> b -> a|b -> a -> b) /);
    expect(r.problems[1]!.message).toMatch(/dependency cycle: (c -> d -> c|d -> c -> d) /);
    expect(r.problems.some((p) => p.stepId === "e")).toBe(false);
  });

  it("rejects unknown fields at every level", () => {
    const r = check(`workflow:\n  name: t\n  colour: red\n  steps:\n    - {id: a, runner: noop, retries: 3}\nextra: 1\n`);
    const fields = r.problems.map((p) => p.field).sort();
    expect(fields).toEqual(["extra", "workflow.colour", "workflow.steps[0].retries"]);
    expect(r.problems.find((p) => p.field.endsWith("retries"))!.message).toContain('step "a": unknown field "retries"');
  });

  it("rejects a missing runner", () => {
    const r = check(wf(`    - {id: a}\n`));
    expect(r.problems).toEqual([{ stepId: "a", field: "workflow.steps[0].runner", message: 'step "a": runner is missing' }]);
  });

  it("rejects more steps than the limit", () => {
    const steps = Array.from({ length: 6 }, (_, i) => `    - {id: s${i}, runner: noop}\n`).join("");
    const r = check(wf(steps), { maxSteps: 5 });
    expect(r.problems).toEqual([{ stepId: "", field: "workflow.steps", message: "the workflow has 6 steps, more than the limit of 5" }]);
  });

  it("rejects oversized payloads", () => {
    const r = check(wf(`    - {id: big, runner: js, payload: "${"x".repeat(200)}"}\n`), { maxPayloadBytes: 100 });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.message).toBe('step "big": payload is 200 bytes, more than the limit of 100');
  });

  it("reports every problem at once, not the first", () => {
    const r = check(wf(`    - {id: a, runner: noop, depends_on: [ghost]}
    - {id: a, runner: noop}
    - {id: b, depends_on: [b]}
    - {id: c, runner: noop, bogus: 1}
`));
    expect(r.problems.length).toBe(5);
  });

  it("turns YAML syntax errors and wrong shapes into problems", () => {
    expect(check("workflow: [unclosed").problems[0]!.message).toMatch(/YAML syntax error at line 1/);
    expect(check("steps: []").problems[0]!.message).toMatch(/top-level `workflow:`/);
    expect(check("workflow:\n  name: t\n  steps: 5\n").problems[0]!.message).toMatch(/steps must be a list/);
    expect(check(wf(`    - {id: a, runner: noop, timeout: soon}\n`)).problems[0]!.message).toMatch(/timeout "soon" is not a duration/);
    expect(check(wf(`    - {id: a, runner: js, payload: {x: 1}}\n`)).problems[0]!.message).toMatch(/payload must be a string/);
  });

  it("validates and plans 10,000 steps", () => {
    const steps = Array.from({ length: 10_000 }, (_, i) => ({ id: `s${i}`, runner: "noop", payload: "", dependsOn: i ? [`s${Math.floor(i / 2)}`] : [] }));
    const r = validateAndPlan({ name: "big", labels: {}, steps });
    expect(r.problems).toEqual([]);
    expect(r.plan!.levels.length).toBe(15);
  });
});

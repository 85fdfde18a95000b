// Declared inputs (docs/semantics.md I1-I5), pure: declarations read from
// YAML and from the proto spec, checked, and a submission's inputs checked
// against them with defaults filled in; `--input` text converted by type.
// Also secret names on steps (validation half of docs/security.md).
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { WorkflowSpecSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { definitionToSpec } from "../../src/coordinator/convert.js";
import { toValue } from "../../src/common/json.js";
import { applyInputs, fromSpec, parseInputText, parseWorkflowYaml, validateAndPlan, type InputDeclarations, type Problem } from "../../src/workflow/index.js";

function check(yaml: string): Problem[] {
  const parsed = parseWorkflowYaml(yaml);
  return [...parsed.problems, ...(parsed.definition ? validateAndPlan(parsed.definition).problems : [])];
}

const withInputs = (inputs: string) => `workflow:\n  name: t\n  inputs:\n${inputs}\n  steps:\n    - {id: a, runner: noop}\n`;

describe("I1: declarations are read and checked", () => {
  const table: Array<{ what: string; inputs: string; field?: string; message?: RegExp }> = [
    { what: "a full declaration", inputs: "    n: {type: number, required: true, description: how many}" },
    { what: "a bare type name", inputs: "    who: string" },
    { what: "a default of the declared type", inputs: "    tags: {type: array, default: [a, b]}" },
    { what: "an object default", inputs: "    opts: {type: object, default: {x: 1}}" },
    { what: "default: null is no default", inputs: "    who: {type: string, default: null}" },
    { what: "an unknown type", inputs: "    n: {type: integer}", field: "workflow.inputs.n.type", message: /input "n": type must be one of string, number, boolean, object, array, got "integer"/ },
    { what: "a missing type", inputs: "    n: {required: true}", field: "workflow.inputs.n.type", message: /got nothing/ },
    { what: "an unknown field", inputs: "    n: {type: number, requird: true}", field: "workflow.inputs.n.requird", message: /unknown field "requird"/ },
    { what: "required not a boolean", inputs: "    n: {type: number, required: yes please}", field: "workflow.inputs.n.required", message: /true or false/ },
    { what: "a default of another type", inputs: '    n: {type: number, default: "3"}', field: "workflow.inputs.n.default", message: /input "n": the default must be a number, got a string/ },
    { what: "a required input with a default", inputs: "    n: {type: number, required: true, default: 3}", field: "workflow.inputs.n.default", message: /a required input has no default/ },
    { what: "a name CEL cannot read", inputs: "    my-input: string", field: "workflow.inputs.my-input", message: /a name must start with a letter/ },
    { what: "inputs not a mapping", inputs: "    - n", field: "workflow.inputs", message: /must be a mapping/ },
  ];
  for (const t of table) {
    it(`${t.what}${t.field ? " is refused" : " is fine"}`, () => {
      const problems = check(withInputs(t.inputs));
      if (!t.field) return expect(problems).toEqual([]);
      expect(problems).toHaveLength(1);
      expect(problems[0]!.field).toBe(t.field);
      expect(problems[0]!.message).toMatch(t.message!);
    });
  }

  it("survive YAML -> spec -> definition", () => {
    const def = parseWorkflowYaml(withInputs("    n: {type: number, required: true, description: how many}\n    tags: {type: array, default: [a]}\n    who: string")).definition!;
    expect(fromSpec(definitionToSpec(def)).definition!.inputs).toEqual(def.inputs);
  });

  it("a spec with an unknown type is refused by validation, naming the input", () => {
    const spec = create(WorkflowSpecSchema, { name: "t", steps: [{ id: "a", runner: "noop" }], inputs: { n: { type: "int", default: toValue(1) } } });
    const problems = validateAndPlan(fromSpec(spec).definition!).problems;
    expect(problems.map((p) => p.field)).toEqual(["workflow.inputs.n.type"]);
  });
});

describe("I2-I4: a submission's inputs against the declarations", () => {
  const decls: InputDeclarations = {
    n: { type: "number", required: true },
    who: { type: "string", required: false, default: "world" },
    on: { type: "boolean", required: false },
    opts: { type: "object", required: false },
    list: { type: "array", required: false, default: [] },
  };
  const table: Array<{ what: string; given: Record<string, unknown>; inputs?: Record<string, unknown>; problems?: string[] }> = [
    { what: "defaults are filled in", given: { n: 3 }, inputs: { n: 3, who: "world", list: [] } },
    { what: "a given value wins over the default", given: { n: 0, who: "you", on: false }, inputs: { n: 0, who: "you", on: false, list: [] } },
    { what: "a missing required input", given: {}, problems: ['inputs.n: input "n" is required (a number)'] },
    { what: "a mistyped input", given: { n: "3" }, problems: ['inputs.n: input "n" must be a number, got a string'] },
    { what: "null is not a value of any type", given: { n: null }, problems: ['inputs.n: input "n" must be a number, got null'] },
    { what: "an array is not an object", given: { n: 1, opts: [] }, problems: ['inputs.opts: input "opts" must be an object, got an array'] },
    { what: "an undeclared input", given: { n: 1, nn: 2 }, problems: ['inputs.nn: input "nn" is not declared in workflow.inputs (declared: n, who, on, opts, list)'] },
    { what: "every problem at once", given: { who: 1, x: 1 }, problems: ["inputs.who", "inputs.x", "inputs.n"] },
  ];
  for (const t of table) {
    it(t.what, () => {
      const r = applyInputs(decls, t.given as never);
      if (t.problems) {
        const got = r.problems.map((p) => (t.problems![0]!.includes(":") ? `${p.field}: ${p.message}` : p.field));
        return expect(got).toEqual(t.problems);
      }
      expect(r.problems).toEqual([]);
      expect(r.inputs).toEqual(t.inputs);
    });
  }

  it("no declarations: inputs pass unchecked, exactly as given", () => {
    const given = { anything: "goes", n: "3" };
    expect(applyInputs(undefined, given)).toEqual({ inputs: given, problems: [] });
    expect(applyInputs({}, given)).toEqual({ inputs: given, problems: [] });
  });

  it("I5: a sub-workflow keeps undeclared inputs but checks its declared ones", () => {
    expect(applyInputs(decls, { n: 1, extract: { rows: 3 } }, { keepUndeclared: true }).inputs).toEqual({ n: 1, extract: { rows: 3 }, who: "world", list: [] });
    expect(applyInputs(decls, { extract: {} }, { keepUndeclared: true }).problems.map((p) => p.field)).toEqual(["inputs.n"]);
  });
});

describe("--input text converted by the declared type", () => {
  const table: Array<[type: "string" | "number" | "boolean" | "object" | "array", text: string, expected: unknown]> = [
    ["string", "3", "3"],
    ["string", '{"a":1}', '{"a":1}'],
    ["number", "3", 3],
    ["number", "-2.5e3", -2500],
    ["number", "three", /declared number, got "three"/],
    ["number", "", /declared number/],
    ["boolean", "true", true],
    ["boolean", "false", false],
    ["boolean", "yes", /use true or false/],
    ["object", '{"a":1}', { a: 1 }],
    ["object", "[1]", /declared object, got an array/],
    ["array", "[1,2]", [1, 2]],
    ["array", "1,2", /is not JSON/],
  ];
  for (const [type, text, expected] of table) {
    it(`${type} ${JSON.stringify(text)}`, () => {
      const got = parseInputText("k", type, text);
      if (expected instanceof RegExp) {
        expect("error" in got ? got.error : "").toMatch(expected);
        expect("error" in got ? got.error : "").toMatch(/^input "k"/);
      } else expect(got).toEqual({ value: expected });
    });
  }
});

describe("secret names on steps", () => {
  const step = (secrets: string, extra = "runner: shell") => `workflow:\n  name: t\n  steps:\n    - {id: a, ${extra}, secrets: ${secrets}}\n`;
  const table: Array<{ what: string; yaml: string; field?: string; message?: RegExp }> = [
    { what: "env names", yaml: step("[DB_URL, _x1]") },
    { what: "a single name as a string", yaml: step("DB_URL") },
    { what: "a name with a dash", yaml: step("[DB-URL]"), field: "workflow.steps[0].secrets[0]", message: /step "a": secret name "DB-URL" must be an environment variable name/ },
    { what: "a name starting with a digit", yaml: step("[1X]"), field: "workflow.steps[0].secrets[0]", message: /environment variable name/ },
    { what: "a HORUS_ name", yaml: step("[HORUS_STEP_ID]"), field: "workflow.steps[0].secrets[0]", message: /HORUS_/ },
    { what: "a name twice", yaml: step("[A, A]"), field: "workflow.steps[0].secrets[1]", message: /listed more than once/ },
    { what: "not a list", yaml: step("{a: 1}"), field: "workflow.steps[0].secrets", message: /must be a list of secret names/ },
    { what: "a number entry", yaml: step("[1]"), field: "workflow.steps[0].secrets[0]", message: /secret names like DB_URL/ },
    { what: "on a workflow step", yaml: step("[A]", "workflow: {template: t}"), field: "workflow.steps[0].secrets", message: /a workflow step gets no secrets/ },
  ];
  for (const t of table) {
    it(`${t.what}${t.field ? " is refused" : " is fine"}`, () => {
      const problems = check(t.yaml);
      if (!t.field) return expect(problems).toEqual([]);
      expect(problems.map((p) => p.field)).toEqual([t.field]);
      expect(problems[0]!.message).toMatch(t.message!);
      expect(problems[0]!.stepId).toBe("a");
    });
  }

  it("survive YAML -> spec -> definition", () => {
    const def = parseWorkflowYaml(step("[DB_URL, TOKEN]")).definition!;
    expect(fromSpec(definitionToSpec(def)).definition!.steps[0]!.secrets).toEqual(["DB_URL", "TOKEN"]);
  });
});

// Text and protobuf specs in, WorkflowDefinition plus problems out. Shape
// errors (unknown fields, wrong types) are collected here; graph rules are
// checked in validate.ts so both input forms share them.
import { LineCounter, parseDocument } from "yaml";
import type { WorkflowSpec } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { durationMs } from "../common/json.js";
import type { Problem, StepDefinition, WorkflowDefinition } from "./definition.js";
import { parseDuration } from "./duration.js";

export interface ParseResult {
  /** Present unless the text could not be read as a workflow at all. */
  definition?: WorkflowDefinition;
  problems: Problem[];
}

const WORKFLOW_FIELDS = new Set(["name", "steps", "labels"]);
const STEP_FIELDS = new Set(["id", "runner", "payload", "depends_on", "timeout", "supervisor", "labels"]);

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "a mapping" : `a ${typeof v}`;
}

/** Parses the YAML format (`workflow: {name, steps: [...]}`). */
export function parseWorkflowYaml(text: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        const where = pos ? ` at line ${pos.line}, column ${pos.col}` : "";
        return { stepId: "", field: "", message: `YAML syntax error${where}: ${e.message.split("\n")[0]}` };
      }),
    };
  }
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isMap(root) || !("workflow" in root)) {
    return { problems: [{ stepId: "", field: "workflow", message: "the document must have a top-level `workflow:` mapping" }] };
  }
  const problems: Problem[] = [];
  for (const key of Object.keys(root)) {
    if (key !== "workflow") problems.push({ stepId: "", field: key, message: `unknown top-level field "${key}" (only "workflow" is allowed)` });
  }
  const definition = fromPlain(root.workflow, problems);
  return { definition, problems };
}

/** Reads a plain object (YAML or JSON) shaped like the YAML format's `workflow:` value. */
export function fromPlain(value: unknown, problems: Problem[]): WorkflowDefinition | undefined {
  if (!isMap(value)) {
    problems.push({ stepId: "", field: "workflow", message: `workflow must be a mapping with name and steps, got ${describe(value)}` });
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!WORKFLOW_FIELDS.has(key)) {
      problems.push({ stepId: "", field: `workflow.${key}`, message: `unknown field "${key}" in workflow (allowed: ${[...WORKFLOW_FIELDS].join(", ")})` });
    }
  }
  let name = "";
  if (value.name === undefined || value.name === null) {
    problems.push({ stepId: "", field: "workflow.name", message: "workflow.name is required" });
  } else if (typeof value.name !== "string" && typeof value.name !== "number") {
    problems.push({ stepId: "", field: "workflow.name", message: `workflow.name must be a string, got ${describe(value.name)}` });
  } else {
    name = String(value.name);
  }
  const labels: Record<string, string> = {};
  if (value.labels !== undefined && value.labels !== null) {
    if (!isMap(value.labels)) {
      problems.push({ stepId: "", field: "workflow.labels", message: `workflow.labels must be a mapping of strings, got ${describe(value.labels)}` });
    } else {
      for (const [k, v] of Object.entries(value.labels)) {
        if (typeof v === "object" && v !== null) {
          problems.push({ stepId: "", field: `workflow.labels.${k}`, message: `label "${k}" must be a string` });
        } else labels[k] = String(v ?? "");
      }
    }
  }
  const steps: StepDefinition[] = [];
  if (!Array.isArray(value.steps)) {
    problems.push({ stepId: "", field: "workflow.steps", message: `workflow.steps must be a list of steps, got ${describe(value.steps)}` });
  } else {
    value.steps.forEach((raw, i) => {
      const step = stepFromPlain(raw, `workflow.steps[${i}]`, problems);
      if (step) steps.push(step);
    });
  }
  return { name, steps, labels };
}

function stepFromPlain(raw: unknown, path: string, problems: Problem[]): StepDefinition | undefined {
  if (!isMap(raw)) {
    problems.push({ stepId: "", field: path, message: `${path} must be a mapping with id and runner, got ${describe(raw)}` });
    return undefined;
  }
  const id = typeof raw.id === "string" || typeof raw.id === "number" ? String(raw.id) : "";
  const label = id ? `step "${id}"` : path;
  if (raw.id !== undefined && raw.id !== null && typeof raw.id !== "string" && id === "") {
    problems.push({ stepId: "", field: `${path}.id`, message: `${path}: id must be a string, got ${describe(raw.id)}` });
  }
  for (const key of Object.keys(raw)) {
    if (!STEP_FIELDS.has(key)) {
      problems.push({ stepId: id, field: `${path}.${key}`, message: `${label}: unknown field "${key}" (allowed: ${[...STEP_FIELDS].join(", ")})` });
    }
  }
  let runner = "";
  if (typeof raw.runner === "string") runner = raw.runner;
  else if (raw.runner !== undefined && raw.runner !== null) {
    problems.push({ stepId: id, field: `${path}.runner`, message: `${label}: runner must be a string, got ${describe(raw.runner)}` });
  }
  let payload = "";
  if (typeof raw.payload === "string") payload = raw.payload;
  else if (typeof raw.payload === "number" || typeof raw.payload === "boolean") payload = String(raw.payload);
  else if (raw.payload !== undefined && raw.payload !== null) {
    problems.push({ stepId: id, field: `${path}.payload`, message: `${label}: payload must be a string, got ${describe(raw.payload)}` });
  }
  const dependsOn: string[] = [];
  const deps = raw.depends_on;
  if (typeof deps === "string") dependsOn.push(deps);
  else if (Array.isArray(deps)) {
    deps.forEach((d, j) => {
      if (typeof d === "string" || typeof d === "number") dependsOn.push(String(d));
      else problems.push({ stepId: id, field: `${path}.depends_on[${j}]`, message: `${label}: depends_on entries must be step ids, got ${describe(d)}` });
    });
  } else if (deps !== undefined && deps !== null) {
    problems.push({ stepId: id, field: `${path}.depends_on`, message: `${label}: depends_on must be a list of step ids, got ${describe(deps)}` });
  }
  let timeoutMs: number | undefined;
  if (raw.timeout !== undefined && raw.timeout !== null) {
    timeoutMs = parseDuration(raw.timeout);
    if (timeoutMs === undefined) {
      problems.push({ stepId: id, field: `${path}.timeout`, message: `${label}: timeout ${JSON.stringify(raw.timeout)} is not a duration (use e.g. "500ms", "30s", "5m")` });
    }
  }
  return { id, runner, payload, dependsOn, ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...routingFromPlain(raw, path, id, label, problems) };
}

/** The routing fields `supervisor: NAME` and `labels: {k: v}` of a step. */
function routingFromPlain(raw: Record<string, unknown>, path: string, id: string, label: string, problems: Problem[]): Pick<StepDefinition, "supervisor" | "labels"> {
  const out: Pick<StepDefinition, "supervisor" | "labels"> = {};
  if (typeof raw.supervisor === "string" && raw.supervisor !== "") out.supervisor = raw.supervisor;
  else if (raw.supervisor !== undefined && raw.supervisor !== null && raw.supervisor !== "") {
    problems.push({ stepId: id, field: `${path}.supervisor`, message: `${label}: supervisor must be a supervisor name, got ${describe(raw.supervisor)}` });
  }
  if (raw.labels === undefined || raw.labels === null) return out;
  if (!isMap(raw.labels)) {
    problems.push({ stepId: id, field: `${path}.labels`, message: `${label}: labels must be a mapping of strings, got ${describe(raw.labels)}` });
    return out;
  }
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.labels)) {
    if (typeof v === "object" && v !== null) problems.push({ stepId: id, field: `${path}.labels.${k}`, message: `${label}: label "${k}" must be a string, got ${describe(v)}` });
    else labels[k] = String(v ?? "");
  }
  if (Object.keys(labels).length > 0) out.labels = labels;
  return out;
}

/** Converts the protobuf form; it cannot have unknown fields or wrong types. */
export function fromSpec(spec: WorkflowSpec): ParseResult {
  const definition: WorkflowDefinition = {
    name: spec.name,
    labels: { ...spec.labels },
    steps: spec.steps.map((s) => {
      const timeoutMs = durationMs(s.timeout);
      return {
        id: s.id,
        runner: s.runner,
        payload: s.payload,
        dependsOn: [...s.dependsOn],
        ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
        ...(s.supervisor ? { supervisor: s.supervisor } : {}),
        ...(Object.keys(s.labels).length > 0 ? { labels: { ...s.labels } } : {}),
      };
    }),
  };
  const problems: Problem[] = [];
  if (!definition.name) problems.push({ stepId: "", field: "workflow.name", message: "workflow.name is required" });
  return { definition, problems };
}

// Text and protobuf specs in, WorkflowDefinition plus problems out. Shape
// errors (unknown fields, wrong types) are collected here; graph rules are
// checked in validate.ts so both input forms share them.
import { LineCounter, parseDocument } from "yaml";
import { TriggerRule as TriggerRuleMsg, type RetryPolicy as RetryPolicyMsg, type StepSpec, type WorkflowSpec } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { durationMs, fromValue } from "../common/json.js";
import { TRIGGER_RULES, type Problem, type RetryPolicyDefinition, type StepDefinition, type SubWorkflowDefinition, type TriggerRule, type WorkflowDefinition } from "./definition.js";
import { parseDuration } from "./duration.js";
import { inputsFromPlain, type InputDeclarations, type InputType } from "./inputs.js";
import { truncateId } from "../common/truncate.js";

export interface ParseResult {
  /** Present unless the text could not be read as a workflow at all. */
  definition?: WorkflowDefinition;
  problems: Problem[];
}

const WORKFLOW_FIELDS = new Set(["name", "steps", "labels", "retry", "timeout", "on_failure", "inputs"]);
const STEP_FIELDS = new Set(["id", "runner", "payload", "depends_on", "timeout", "retry", "trigger", "when", "for_each", "max_parallel", "workflow", "supervisor", "labels", "secrets"]);
const RETRY_FIELDS = new Set(["max_attempts", "initial_backoff", "max_backoff", "multiplier", "jitter", "non_retryable"]);
const TEMPLATE_FIELDS = new Set(["template", "version"]);

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
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias to no anchor, or an alias bomb past maxAliasCount: the yaml library throws.
    return { problems: [{ stepId: "", field: "", message: `YAML error: ${(err as Error).message.split("\n")[0]}` }] };
  }
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

/**
 * Reads a plain object (YAML or JSON) shaped like the YAML format's
 * `workflow:` value. `path` prefixes field paths (an inline sub-workflow is
 * read at "workflow.steps[2].workflow"); `defaultName` makes the name
 * optional there.
 */
export function fromPlain(value: unknown, problems: Problem[], path = "workflow", defaultName?: string): WorkflowDefinition | undefined {
  if (!isMap(value)) {
    problems.push({ stepId: "", field: path, message: `${path} must be a mapping with name and steps, got ${describe(value)}` });
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!WORKFLOW_FIELDS.has(key)) {
      problems.push({ stepId: "", field: `${path}.${key}`, message: `unknown field "${key}" in ${path} (allowed: ${[...WORKFLOW_FIELDS].join(", ")})` });
    }
  }
  let name = defaultName ?? "";
  if (value.name === undefined || value.name === null) {
    if (defaultName === undefined) problems.push({ stepId: "", field: `${path}.name`, message: `${path}.name is required` });
  } else if (typeof value.name !== "string" && typeof value.name !== "number") {
    problems.push({ stepId: "", field: `${path}.name`, message: `${path}.name must be a string, got ${describe(value.name)}` });
  } else {
    name = String(value.name);
  }
  const labels: Record<string, string> = {};
  if (value.labels !== undefined && value.labels !== null) {
    if (!isMap(value.labels)) {
      problems.push({ stepId: "", field: `${path}.labels`, message: `${path}.labels must be a mapping of strings, got ${describe(value.labels)}` });
    } else {
      for (const [k, v] of Object.entries(value.labels)) {
        if (typeof v === "object" && v !== null) {
          problems.push({ stepId: "", field: `${path}.labels.${k}`, message: `label "${k}" must be a string` });
        } else labels[k] = String(v ?? "");
      }
    }
  }
  const steps: StepDefinition[] = [];
  if (!Array.isArray(value.steps)) {
    problems.push({ stepId: "", field: `${path}.steps`, message: `${path}.steps must be a list of steps, got ${describe(value.steps)}` });
  } else {
    value.steps.forEach((raw, i) => {
      const step = stepFromPlain(raw, `${path}.steps[${i}]`, problems);
      if (step) steps.push(step);
    });
  }
  const def: WorkflowDefinition = { name, steps, labels };
  if (value.retry !== undefined && value.retry !== null) {
    const retry = retryFromPlain(value.retry, `${path}.retry`, "", path, problems);
    if (retry) def.retry = retry;
  }
  if (value.timeout !== undefined && value.timeout !== null) {
    const ms = parseDuration(value.timeout);
    if (ms === undefined) {
      problems.push({ stepId: "", field: `${path}.timeout`, message: `${path}.timeout ${JSON.stringify(value.timeout)} is not a duration (use e.g. "30s", "5m", "1h")` });
    } else def.timeoutMs = ms;
  }
  if (value.on_failure !== undefined && value.on_failure !== null) {
    if (!Array.isArray(value.on_failure)) {
      problems.push({ stepId: "", field: `${path}.on_failure`, message: `${path}.on_failure must be a list of steps, got ${describe(value.on_failure)}` });
    } else {
      const handlers: StepDefinition[] = [];
      value.on_failure.forEach((raw, i) => {
        const step = stepFromPlain(raw, `${path}.on_failure[${i}]`, problems);
        if (step) handlers.push(step);
      });
      def.onFailure = handlers;
    }
  }
  if (value.inputs !== undefined && value.inputs !== null) {
    const inputs = inputsFromPlain(value.inputs, `${path}.inputs`, problems);
    if (inputs && Object.keys(inputs).length > 0) def.inputs = inputs;
  }
  return def;
}

function retryFromPlain(raw: unknown, path: string, stepId: string, label: string, problems: Problem[]): RetryPolicyDefinition | undefined {
  if (!isMap(raw)) {
    problems.push({ stepId, field: path, message: `${label}: retry must be a mapping (max_attempts, initial_backoff, max_backoff, multiplier, jitter, non_retryable), got ${describe(raw)}` });
    return undefined;
  }
  const policy: RetryPolicyDefinition = {};
  for (const key of Object.keys(raw)) {
    if (!RETRY_FIELDS.has(key)) {
      problems.push({ stepId, field: `${path}.${key}`, message: `${label}: unknown field "${key}" in retry (allowed: ${[...RETRY_FIELDS].join(", ")})` });
    }
  }
  const num = (key: string): number | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    // Infinity and NaN (a huge YAML number, `.nan`) too: validation names the field's range.
    if (typeof v === "number") return v;
    problems.push({ stepId, field: `${path}.${key}`, message: `${label}: retry.${key} must be a number, got ${describe(v)}` });
    return undefined;
  };
  const dur = (key: string): number | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined) problems.push({ stepId, field: `${path}.${key}`, message: `${label}: retry.${key} ${JSON.stringify(v)} is not a duration (use e.g. "500ms", "30s")` });
    return ms;
  };
  const maxAttempts = num("max_attempts");
  if (maxAttempts !== undefined) policy.maxAttempts = maxAttempts;
  const initial = dur("initial_backoff");
  if (initial !== undefined) policy.initialBackoffMs = initial;
  const max = dur("max_backoff");
  if (max !== undefined) policy.maxBackoffMs = max;
  const multiplier = num("multiplier");
  if (multiplier !== undefined) policy.multiplier = multiplier;
  const jitter = num("jitter");
  if (jitter !== undefined) policy.jitter = jitter;
  const codes = raw.non_retryable;
  if (codes !== undefined && codes !== null) {
    const list = typeof codes === "string" ? [codes] : codes;
    if (!Array.isArray(list)) {
      problems.push({ stepId, field: `${path}.non_retryable`, message: `${label}: retry.non_retryable must be a list of error codes, got ${describe(codes)}` });
    } else {
      policy.nonRetryable = [];
      list.forEach((c, j) => {
        if (typeof c === "string" && c !== "") policy.nonRetryable!.push(c);
        else problems.push({ stepId, field: `${path}.non_retryable[${j}]`, message: `${label}: retry.non_retryable entries must be error codes like "SCRIPT_ERROR", got ${describe(c)}` });
      });
    }
  }
  return policy;
}

function subWorkflowFromPlain(raw: unknown, path: string, stepId: string, label: string, problems: Problem[]): SubWorkflowDefinition | undefined {
  if (!isMap(raw)) {
    problems.push({ stepId, field: path, message: `${label}: workflow must be an inline workflow (steps: [...]) or a template reference (template: NAME), got ${describe(raw)}` });
    return undefined;
  }
  if (!("template" in raw)) {
    const inline = fromPlain(raw, problems, path, stepId || "child");
    return inline ? { inline } : undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!TEMPLATE_FIELDS.has(key)) {
      problems.push({ stepId, field: `${path}.${key}`, message: `${label}: unknown field "${key}" in a template reference (allowed: template, version)` });
    }
  }
  if (typeof raw.template !== "string" || raw.template === "") {
    problems.push({ stepId, field: `${path}.template`, message: `${label}: workflow.template must be a template name, got ${describe(raw.template)}` });
    return undefined;
  }
  const ref: SubWorkflowDefinition = { template: raw.template };
  if (raw.version !== undefined && raw.version !== null) {
    if (typeof raw.version !== "number" || !Number.isInteger(raw.version) || raw.version < 1) {
      problems.push({ stepId, field: `${path}.version`, message: `${label}: workflow.version must be a positive whole number, got ${JSON.stringify(raw.version)}` });
    } else ref.version = raw.version;
  }
  return ref;
}

function stepFromPlain(raw: unknown, path: string, problems: Problem[]): StepDefinition | undefined {
  if (!isMap(raw)) {
    problems.push({ stepId: "", field: path, message: `${path} must be a mapping with id and runner, got ${describe(raw)}` });
    return undefined;
  }
  const id = typeof raw.id === "string" || typeof raw.id === "number" ? String(raw.id) : "";
  const label = id ? `step "${truncateId(id)}"` : path;
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
  const step: StepDefinition = { id, runner, payload, dependsOn, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  if (raw.retry !== undefined && raw.retry !== null) {
    const retry = retryFromPlain(raw.retry, `${path}.retry`, id, label, problems);
    if (retry) step.retry = retry;
  }
  if (raw.trigger !== undefined && raw.trigger !== null) {
    if (typeof raw.trigger === "string" && (TRIGGER_RULES as readonly string[]).includes(raw.trigger)) step.trigger = raw.trigger as TriggerRule;
    else problems.push({ stepId: id, field: `${path}.trigger`, message: `${label}: trigger ${JSON.stringify(raw.trigger)} is not a trigger rule (use one of ${TRIGGER_RULES.join(", ")})` });
  }
  for (const [key, prop] of [["when", "when"], ["for_each", "forEach"]] as const) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    if (typeof v === "string") step[prop] = v;
    // `when: true` in YAML is a boolean; it is also a valid CEL expression.
    else if (typeof v === "boolean") step[prop] = String(v);
    else problems.push({ stepId: id, field: `${path}.${key}`, message: `${label}: ${key} must be a CEL expression in a string, got ${describe(v)}` });
  }
  if (raw.max_parallel !== undefined && raw.max_parallel !== null) {
    if (typeof raw.max_parallel === "number") step.maxParallel = raw.max_parallel;
    else problems.push({ stepId: id, field: `${path}.max_parallel`, message: `${label}: max_parallel must be a whole number, got ${describe(raw.max_parallel)}` });
  }
  if (raw.workflow !== undefined && raw.workflow !== null) {
    // A bad value still marks the step as a workflow step (an empty template
    // the plan does not report again), so it is not also told it lacks a runner.
    step.workflow = subWorkflowFromPlain(raw.workflow, `${path}.workflow`, id, label, problems) ?? { template: "" };
  }
  Object.assign(step, routingFromPlain(raw, path, id, label, problems));
  if (raw.secrets !== undefined && raw.secrets !== null) {
    const list = typeof raw.secrets === "string" ? [raw.secrets] : raw.secrets;
    if (!Array.isArray(list)) {
      problems.push({ stepId: id, field: `${path}.secrets`, message: `${label}: secrets must be a list of secret names, got ${describe(raw.secrets)}` });
    } else {
      const names: string[] = [];
      list.forEach((n, j) => {
        if (typeof n === "string") names.push(n);
        else problems.push({ stepId: id, field: `${path}.secrets[${j}]`, message: `${label}: secrets entries must be secret names like DB_URL, got ${describe(n)}` });
      });
      if (names.length > 0) step.secrets = names;
    }
  }
  return step;
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
  const problems: Problem[] = [];
  const definition = workflowFromSpec(spec, "workflow", problems);
  if (!definition.name) problems.push({ stepId: "", field: "workflow.name", message: "workflow.name is required" });
  return { definition, problems };
}

// Proto enum number -> YAML spelling; 0 (unspecified) means the default.
const TRIGGER_BY_NUMBER: Record<number, TriggerRule | undefined> = {
  [TriggerRuleMsg.UNSPECIFIED]: undefined,
  [TriggerRuleMsg.ALL_SUCCESS]: "all_success",
  [TriggerRuleMsg.ALL_DONE]: "all_done",
  [TriggerRuleMsg.ONE_SUCCESS]: "one_success",
  [TriggerRuleMsg.ONE_FAILED]: "one_failed",
  [TriggerRuleMsg.NONE_FAILED]: "none_failed",
};

function workflowFromSpec(spec: WorkflowSpec, path: string, problems: Problem[], defaultName?: string): WorkflowDefinition {
  const def: WorkflowDefinition = {
    name: spec.name || defaultName || "",
    labels: { ...spec.labels },
    steps: spec.steps.map((s, i) => stepFromSpec(s, `${path}.steps[${i}]`, problems)),
  };
  if (spec.retry) def.retry = retryFromSpec(spec.retry);
  // Kept even when zero or negative: validation rejects it, as it does in YAML, instead of it being ignored.
  const timeoutMs = durationMs(spec.timeout);
  if (timeoutMs !== undefined) def.timeoutMs = timeoutMs;
  if (spec.onFailure.length > 0) def.onFailure = spec.onFailure.map((s, i) => stepFromSpec(s, `${path}.on_failure[${i}]`, problems));
  const names = Object.keys(spec.inputs);
  if (names.length > 0) {
    const inputs: InputDeclarations = {};
    for (const name of names) {
      const d = spec.inputs[name]!;
      // An unknown type is kept so validation (checkDeclarations) names it.
      inputs[name] = {
        type: d.type as InputType,
        required: d.required,
        ...(d.default !== undefined && d.default.kind.case !== "nullValue" && d.default.kind.case !== undefined ? { default: fromValue(d.default) } : {}),
        ...(d.description ? { description: d.description } : {}),
      };
    }
    def.inputs = inputs;
  }
  return def;
}

function stepFromSpec(s: StepSpec, path: string, problems: Problem[]): StepDefinition {
  const timeoutMs = durationMs(s.timeout);
  const step: StepDefinition = {
    id: s.id,
    runner: s.runner,
    payload: s.payload,
    dependsOn: [...s.dependsOn],
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(s.supervisor ? { supervisor: s.supervisor } : {}),
    ...(Object.keys(s.labels).length > 0 ? { labels: { ...s.labels } } : {}),
    ...(s.secrets.length > 0 ? { secrets: [...s.secrets] } : {}),
  };
  if (s.retry) step.retry = retryFromSpec(s.retry);
  if (s.trigger in TRIGGER_BY_NUMBER) {
    const rule = TRIGGER_BY_NUMBER[s.trigger];
    if (rule) step.trigger = rule;
  } else {
    problems.push({ stepId: s.id, field: `${path}.trigger`, message: `step "${truncateId(s.id)}": trigger ${s.trigger} is not a known trigger rule` });
  }
  if (s.when) step.when = s.when;
  if (s.forEach) step.forEach = s.forEach;
  // 0 is proto's "unset": no bound.
  if (s.maxParallel !== 0) step.maxParallel = s.maxParallel;
  if (s.subWorkflow.case === "workflow") {
    step.workflow = { inline: workflowFromSpec(s.subWorkflow.value, `${path}.workflow`, problems, s.id) };
  } else if (s.subWorkflow.case === "template") {
    const ref = s.subWorkflow.value;
    if (!ref.name) problems.push({ stepId: s.id, field: `${path}.workflow.template`, message: `step "${truncateId(s.id)}": workflow.template must be a template name` });
    step.workflow = { template: ref.name, ...(ref.version !== 0 ? { version: ref.version } : {}) };
  }
  return step;
}

/** Keeps even out-of-range values so validation can name them. */
function retryFromSpec(r: RetryPolicyMsg): RetryPolicyDefinition {
  const policy: RetryPolicyDefinition = {};
  if (r.maxAttempts !== undefined) policy.maxAttempts = r.maxAttempts;
  const initial = durationMs(r.initialBackoff);
  if (initial !== undefined) policy.initialBackoffMs = initial;
  const max = durationMs(r.maxBackoff);
  if (max !== undefined) policy.maxBackoffMs = max;
  if (r.multiplier !== undefined) policy.multiplier = r.multiplier;
  if (r.jitter !== undefined) policy.jitter = r.jitter;
  if (r.nonRetryable.length > 0) policy.nonRetryable = [...r.nonRetryable];
  return policy;
}

// Store records -> API messages. One place, so every surface reports the
// same shapes.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  InputSpecSchema,
  PlanSchema,
  ProblemSchema,
  RetryPolicySchema,
  StepSpecSchema,
  TriggerRule as TriggerRuleMsg,
  StepSchema,
  StepStateChangedSchema,
  WorkflowEventSchema,
  WorkflowSchema,
  WorkflowSpecSchema,
  WorkflowSummarySchema,
  WorkflowTemplateSchema,
  LogLineSchema,
  LogStream,
  type Plan,
  type Problem as ProblemMsg,
  type Workflow,
  type WorkflowEvent,
  type WorkflowSpec,
  type WorkflowSummary,
  type WorkflowTemplate,
  type LogLine,
} from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { OutputFormat } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { msDuration, toValue, toValueMap, ts, type JsonValue } from "../common/json.js";
import { wireValueField } from "../common/value-wire.js";
import { truncateId } from "../common/truncate.js";
import { StepState } from "../engine/states.js";
import type { StoredEvent, WorkflowRecord } from "../engine/model.js";
import type { StoredLog, TemplateRecord, WorkflowSummaryRecord } from "../store/store.js";
import type { Problem, RetryPolicyDefinition, StepDefinition, TriggerRule, WorkflowDefinition } from "../workflow/definition.js";
import type { InputDeclarations } from "../workflow/inputs.js";

function opt<T>(key: string, v: T | undefined): Record<string, T> {
  return v === undefined ? {} : { [key]: v };
}

/** How messages that carry step outputs are built. */
export interface ConvertOptions {
  /**
   * The message will be written in the protobuf binary format (the request
   * came as Connect binary, gRPC or gRPC-web; see binaryWire): step outputs
   * go in pre-encoded (value-wire.ts), in linear time, instead of as Value
   * messages, which toBinary encodes in time that grows with their depth
   * times their size. Only for binary: the JSON format drops such fields.
   */
  binary?: boolean;
  /**
   * How step outputs travel (WatchWorkflowRequest.outputs): as Value (the
   * default), as JSON text in `output_json`, or not at all.
   */
  outputs?: OutputFormat;
}

/**
 * Sets a message's step output: its google.protobuf.Value field `no` to
 * `json`, as a Value message or pre-encoded for the binary format (see
 * ConvertOptions); or its `outputJson` to the JSON text; or nothing.
 */
function withOutput<T extends { outputJson: string; $unknown?: Array<{ no: number; wireType: number; data: Uint8Array }> }>(msg: T, no: number, json: JsonValue | undefined, opts: ConvertOptions): T {
  if (json === undefined || opts.outputs === OutputFormat.NONE) return msg;
  if (opts.outputs === OutputFormat.JSON) msg.outputJson = JSON.stringify(json);
  else if (opts.binary) (msg.$unknown ??= []).push(wireValueField(no, json));
  else (msg as Record<string, unknown>).output = toValue(json);
  return msg;
}

export function binaryWire(header: Headers): boolean {
  return /^application\/(proto|connect\+proto|grpc(-web)?(\+proto)?)\s*(;|$)/i.test(header.get("content-type") ?? "");
}

export function workflowToProto(wf: WorkflowRecord, opts: ConvertOptions = {}): Workflow {
  // Records by index: main steps, then on_failure steps, then for_each
  // instances (which name their step in instanceOf).
  const statics = [...wf.definition.steps, ...(wf.definition.onFailure ?? [])];
  const mainCount = wf.definition.steps.length;
  return create(WorkflowSchema, {
    id: wf.id,
    name: wf.name,
    state: wf.state,
    inputs: toValueMap(wf.inputs),
    labels: wf.labels,
    idempotencyKey: wf.idempotencyKey ?? "",
    error: wf.error ?? "",
    ...opt("createdAt", ts(wf.createdAt)),
    ...opt("startedAt", ts(wf.startedAt)),
    ...opt("finishedAt", ts(wf.finishedAt)),
    spec: definitionToSpec(wf.definition),
    ...(wf.parent ? { parentWorkflowId: wf.parent.workflowId, parentStepId: wf.parent.stepId, parentAttemptId: wf.parent.attemptId } : {}),
    ...(wf.template ? { template: { name: wf.template.name, version: wf.template.version } } : {}),
    steps: wf.steps.flatMap((s, i) => {
      // Instances RetryWorkflow replaced by a new expansion are history only.
      if (s.superseded) return [];
      const staticIndex = s.instanceOf ?? i;
      const def = statics[staticIndex]!;
      return [withOutput(create(StepSchema, {
        id: s.id,
        runner: def.runner,
        state: s.state,
        dependsOn: def.dependsOn,
        attempts: s.attempts.length,
        level: wf.levels[staticIndex] ?? 0,
        supervisor: s.supervisor ?? "",
        onFailure: staticIndex >= mainCount,
        ...opt("readyAt", ts(s.readyAt)),
        ...opt("startedAt", ts(s.startedAt)),
        ...opt("finishedAt", ts(s.finishedAt)),
        ...opt("nextRetryAt", ts(s.nextRetryAt)),
        ...opt("instance", s.instance),
        ...(s.item !== undefined ? { item: toValue(s.item) } : {}),
        ...(s.instances ? { instanceCount: s.instances.count } : {}),
        ...(s.error ? { error: { code: s.error.code, message: s.error.message } } : {}),
        waitingReason: s.state === StepState.READY ? (s.waitingReason ?? "") : "",
        attemptHistory: s.attempts.map((a) => ({
          number: a.number,
          attemptId: a.attemptId,
          supervisor: a.supervisor ?? "",
          state: a.state,
          childWorkflowId: a.childWorkflowId ?? "",
          ...opt("dispatchedAt", ts(a.dispatchedAt)),
          ...opt("startedAt", ts(a.startedAt)),
          ...opt("finishedAt", ts(a.finishedAt)),
          ...(a.error ? { error: { code: a.error.code, message: a.error.message } } : {}),
        })),
      }), StepSchema.field.output.number, s.output, opts)];
    }),
  });
}

export function definitionToSpec(def: WorkflowDefinition): WorkflowSpec {
  return create(WorkflowSpecSchema, workflowSpecInit(def));
}

// Plain init objects (create() fills in the rest), so an inline child
// workflow converts by the same code as its parent.
/** A trigger rule's number in the proto's TriggerRule. */
export const TRIGGER_NUMBER: Record<TriggerRule, TriggerRuleMsg> = {
  all_success: TriggerRuleMsg.ALL_SUCCESS,
  all_done: TriggerRuleMsg.ALL_DONE,
  one_success: TriggerRuleMsg.ONE_SUCCESS,
  one_failed: TriggerRuleMsg.ONE_FAILED,
  none_failed: TriggerRuleMsg.NONE_FAILED,
};

function workflowSpecInit(def: WorkflowDefinition): MessageInitShape<typeof WorkflowSpecSchema> {
  return {
    name: def.name,
    labels: def.labels,
    steps: def.steps.map(stepSpecInit),
    ...(def.retry ? { retry: retrySpecInit(def.retry) } : {}),
    ...(def.timeoutMs !== undefined ? { timeout: msDuration(def.timeoutMs) } : {}),
    ...(def.onFailure ? { onFailure: def.onFailure.map(stepSpecInit) } : {}),
    ...(def.inputs ? { inputs: inputSpecsInit(def.inputs) } : {}),
  };
}

function stepSpecInit(s: StepDefinition): MessageInitShape<typeof StepSpecSchema> {
  const child = s.workflow;
  return {
    id: s.id,
    runner: s.runner,
    payload: s.payload,
    dependsOn: s.dependsOn,
    ...(s.timeoutMs !== undefined ? { timeout: msDuration(s.timeoutMs) } : {}),
    ...(s.retry ? { retry: retrySpecInit(s.retry) } : {}),
    ...(s.trigger ? { trigger: TRIGGER_NUMBER[s.trigger] } : {}),
    ...(s.when !== undefined ? { when: s.when } : {}),
    ...(s.forEach !== undefined ? { forEach: s.forEach } : {}),
    ...(s.maxParallel !== undefined ? { maxParallel: s.maxParallel } : {}),
    ...(s.supervisor !== undefined ? { supervisor: s.supervisor } : {}),
    ...(s.labels !== undefined ? { labels: s.labels } : {}),
    ...(s.secrets !== undefined ? { secrets: s.secrets } : {}),
    ...(child && "inline" in child ? { subWorkflow: { case: "workflow" as const, value: create(WorkflowSpecSchema, workflowSpecInit(child.inline)) } } : {}),
    ...(child && "template" in child ? { subWorkflow: { case: "template" as const, value: { name: child.template, version: child.version ?? 0 } } } : {}),
  };
}

function inputSpecsInit(inputs: InputDeclarations): Record<string, MessageInitShape<typeof InputSpecSchema>> {
  const out: Record<string, MessageInitShape<typeof InputSpecSchema>> = {};
  for (const [name, d] of Object.entries(inputs)) {
    out[name] = {
      type: d.type,
      required: d.required,
      ...(d.default !== undefined ? { default: toValue(d.default) } : {}),
      ...(d.description !== undefined ? { description: d.description } : {}),
    };
  }
  return out;
}

function retrySpecInit(r: RetryPolicyDefinition): MessageInitShape<typeof RetryPolicySchema> {
  return {
    ...(r.maxAttempts !== undefined ? { maxAttempts: r.maxAttempts } : {}),
    ...(r.initialBackoffMs !== undefined ? { initialBackoff: msDuration(r.initialBackoffMs) } : {}),
    ...(r.maxBackoffMs !== undefined ? { maxBackoff: msDuration(r.maxBackoffMs) } : {}),
    ...(r.multiplier !== undefined ? { multiplier: r.multiplier } : {}),
    ...(r.jitter !== undefined ? { jitter: r.jitter } : {}),
    ...(r.nonRetryable ? { nonRetryable: r.nonRetryable } : {}),
  };
}

export function templateToProto(t: TemplateRecord): WorkflowTemplate {
  return create(WorkflowTemplateSchema, { name: t.name, version: t.version, spec: definitionToSpec(t.definition), ...opt("createdAt", ts(t.createdAt)) });
}

export function summaryToProto(s: WorkflowSummaryRecord): WorkflowSummary {
  return create(WorkflowSummarySchema, {
    id: s.id,
    name: s.name,
    state: s.state,
    error: s.error ?? "",
    stepsTotal: s.stepsTotal,
    stepsSucceeded: s.stepsSucceeded,
    stepsFailed: s.stepsFailed,
    stepsRunning: s.stepsRunning,
    labels: s.labels ?? {},
    parentWorkflowId: s.parentWorkflowId ?? "",
    ...opt("createdAt", ts(s.createdAt)),
    ...opt("finishedAt", ts(s.finishedAt)),
  });
}

export function eventToProto(workflowId: string, e: StoredEvent, opts: ConvertOptions = {}): WorkflowEvent {
  const base = { cursor: e.cursor, workflowId, ...opt("time", ts(e.time)) };
  if (e.kind === "workflow") {
    return create(WorkflowEventSchema, { ...base, kind: { case: "workflow", value: { state: e.state, error: e.error ?? "" } } });
  }
  const step = create(StepStateChangedSchema, {
    stepId: e.stepId,
    state: e.state,
    attempt: e.attempt,
    supervisor: e.supervisor ?? "",
    ...(e.error ? { error: e.error } : {}),
    ...opt("instance", e.instance),
    ...opt("nextRetryAt", ts(e.nextRetryAt)),
    waitingReason: e.waitingReason ?? "",
  });
  return create(WorkflowEventSchema, { ...base, kind: { case: "step", value: withOutput(step, StepStateChangedSchema.field.output.number, e.output, opts) } });
}

const STREAMS = { stdout: LogStream.STDOUT, stderr: LogStream.STDERR, system: LogStream.SYSTEM } as const;

export function logToProto(l: StoredLog): LogLine {
  return create(LogLineSchema, {
    cursor: l.cursor,
    stepId: l.stepId,
    attempt: l.attempt,
    stream: STREAMS[l.stream],
    line: l.line,
    ...opt("time", ts(l.time)),
  });
}

export function problemsToProto(problems: Problem[]): ProblemMsg[] {
  return problems.map((p) => create(ProblemSchema, { ...p, stepId: truncateId(p.stepId) }));
}

export function planToProto(levels: string[][]): Plan {
  return create(PlanSchema, { levels: levels.map((stepIds) => ({ stepIds })) });
}

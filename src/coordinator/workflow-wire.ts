// A Workflow message (a WatchWorkflow snapshot) written straight to
// protobuf binary from the stored record, without building message objects.
//
// Why: protobuf-es creates and encodes messages by reflection, about a
// microsecond a field. A pending 100-step chain took 1.6 ms to convert and
// encode, on the thread that runs the workflows; handing it to a worker
// cost the main thread a copy of the record and the worker several more
// milliseconds of CPU on a machine whose cores the workflows need. Written
// here, the same snapshot costs a small fraction of that.
//
// The bytes are exactly those of toBinary(WorkflowSchema, workflowToProto(...))
// (test/coordinator/workflow-wire.test.ts). A record with anything outside
// what this writer handles (a negative or fractional number where the proto
// has an integer) gets undefined, and the caller takes protobuf-es's way.
import { OutputFormat } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { MAX_DURATION_MS, type JsonValue } from "../common/json.js";
import { double, isUint, isUint31, message, str, strs, timestamp, uint } from "../common/proto-write.js";
import { ReverseWriter } from "../common/reverse-writer.js";
import { writeValueField } from "../common/value-wire.js";
import type { AttemptRecord, StepRecord, WorkflowRecord } from "../engine/model.js";
import { StepState } from "../engine/states.js";
import type { RetryPolicyDefinition, StepDefinition, WorkflowDefinition } from "../workflow/definition.js";
import type { InputDeclarations } from "../workflow/inputs.js";
import { TRIGGER_NUMBER, type ConvertOptions } from "./convert.js";

/** Field numbers, as in workflow.proto. */
const F = {
  workflow: { id: 1, name: 2, state: 3, steps: 4, inputs: 5, createdAt: 6, startedAt: 7, finishedAt: 8, error: 9, labels: 10, idempotencyKey: 11, spec: 12, parentWorkflowId: 13, parentStepId: 14, parentAttemptId: 15, template: 16 },
  step: { id: 1, runner: 2, state: 3, dependsOn: 4, attempts: 5, attemptHistory: 6, readyAt: 7, startedAt: 8, finishedAt: 9, supervisor: 10, output: 11, error: 12, level: 13, nextRetryAt: 14, instance: 15, item: 16, instanceCount: 17, onFailure: 18, waitingReason: 40, outputJson: 41 },
  attempt: { number: 1, attemptId: 2, supervisor: 3, dispatchedAt: 4, startedAt: 5, finishedAt: 6, state: 7, error: 8, childWorkflowId: 9 },
  error: { code: 1, message: 2 },
  spec: { name: 1, steps: 2, labels: 3, retry: 4, timeout: 5, onFailure: 6, inputs: 7 },
  stepSpec: { id: 1, runner: 2, payload: 3, dependsOn: 4, timeout: 5, retry: 6, trigger: 7, when: 8, forEach: 9, maxParallel: 10, workflow: 11, template: 12, supervisor: 40, labels: 41, secrets: 42 },
  retry: { maxAttempts: 1, initialBackoff: 2, maxBackoff: 3, multiplier: 4, jitter: 5, nonRetryable: 6 },
  inputSpec: { type: 1, required: 2, default: 3, description: 4 },
  templateRef: { name: 1, version: 2 },
  duration: { seconds: 1, nanos: 2 },
  entry: { key: 1, value: 2 },
} as const;

/** Thrown inside the writer for a record it does not handle; encodeWorkflow answers undefined. */
class NotDirect extends Error {}

function need(ok: boolean): void {
  if (!ok) throw new NotDirect();
}

const time = (v: number | undefined) => (need(isUint(v)), v);
const int31 = (v: number | undefined) => (need(isUint31(v)), v);

/**
 * The Workflow message of `wf` in protobuf binary, exactly as
 * toBinary(WorkflowSchema, workflowToProto(wf, opts)) writes it; undefined
 * for a record this writer does not handle. For the binary format only
 * (`opts.binary`): a Value output travels as protobuf-es's pre-encoded
 * unknown field does, after the known fields.
 */
export function encodeWorkflow(wf: WorkflowRecord, opts: ConvertOptions): Uint8Array | undefined {
  if (!opts.binary) return undefined;
  const w = new ReverseWriter(4096);
  try {
    workflow(w, wf, opts.outputs ?? OutputFormat.VALUE_UNSPECIFIED);
  } catch (err) {
    if (err instanceof NotDirect) return undefined;
    throw err;
  }
  return w.bytes();
}

function workflow(w: ReverseWriter, wf: WorkflowRecord, outputs: OutputFormat): void {
  const template = wf.template;
  if (template) {
    message(w, F.workflow.template, () => {
      uint(w, F.templateRef.version, int31(template.version));
      str(w, F.templateRef.name, template.name);
    });
  }
  str(w, F.workflow.parentAttemptId, wf.parent?.attemptId);
  str(w, F.workflow.parentStepId, wf.parent?.stepId);
  str(w, F.workflow.parentWorkflowId, wf.parent?.workflowId);
  message(w, F.workflow.spec, () => spec(w, wf.definition));
  str(w, F.workflow.idempotencyKey, wf.idempotencyKey);
  stringMap(w, F.workflow.labels, wf.labels);
  str(w, F.workflow.error, wf.error);
  timestamp(w, F.workflow.finishedAt, time(wf.finishedAt));
  timestamp(w, F.workflow.startedAt, time(wf.startedAt));
  timestamp(w, F.workflow.createdAt, time(wf.createdAt));
  valueMap(w, F.workflow.inputs, wf.inputs);
  // Records by index: main steps, then on_failure steps, then for_each
  // instances (which name their step in instanceOf), as workflowToProto.
  const mainCount = wf.definition.steps.length;
  const onFailure = wf.definition.onFailure ?? [];
  for (let i = wf.steps.length - 1; i >= 0; i--) {
    const s = wf.steps[i]!;
    // Instances RetryWorkflow replaced by a new expansion are history only.
    if (s.superseded) continue;
    const staticIndex = s.instanceOf ?? i;
    const def = staticIndex < mainCount ? wf.definition.steps[staticIndex]! : onFailure[staticIndex - mainCount]!;
    message(w, F.workflow.steps, () => step(w, s, def, wf.levels[staticIndex] ?? 0, staticIndex >= mainCount, outputs));
  }
  uint(w, F.workflow.state, int31(wf.state));
  str(w, F.workflow.name, wf.name);
  str(w, F.workflow.id, wf.id);
}

function step(w: ReverseWriter, s: StepRecord, def: StepDefinition, level: number, onFailure: boolean, outputs: OutputFormat): void {
  const output = outputs === OutputFormat.NONE ? undefined : s.output;
  // A Value output is an unknown field to protobuf-es (convert.ts withOutput), written after the known ones.
  if (output !== undefined && outputs === OutputFormat.VALUE_UNSPECIFIED) writeValueField(w, F.step.output, output);
  if (output !== undefined && outputs === OutputFormat.JSON) str(w, F.step.outputJson, JSON.stringify(output));
  str(w, F.step.waitingReason, s.state === StepState.READY ? s.waitingReason : undefined);
  uint(w, F.step.onFailure, onFailure ? 1 : 0);
  uint(w, F.step.instanceCount, int31(s.instances?.count));
  if (s.item !== undefined) writeValueField(w, F.step.item, s.item);
  uint(w, F.step.instance, int31(s.instance), true);
  timestamp(w, F.step.nextRetryAt, time(s.nextRetryAt));
  uint(w, F.step.level, int31(level));
  if (s.error) stepError(w, F.step.error, s.error);
  str(w, F.step.supervisor, s.supervisor);
  timestamp(w, F.step.finishedAt, time(s.finishedAt));
  timestamp(w, F.step.startedAt, time(s.startedAt));
  timestamp(w, F.step.readyAt, time(s.readyAt));
  for (let i = s.attempts.length - 1; i >= 0; i--) {
    const a = s.attempts[i]!;
    message(w, F.step.attemptHistory, () => attempt(w, a));
  }
  uint(w, F.step.attempts, s.attempts.length);
  strs(w, F.step.dependsOn, def.dependsOn);
  uint(w, F.step.state, int31(s.state));
  str(w, F.step.runner, def.runner);
  str(w, F.step.id, s.id);
}

function attempt(w: ReverseWriter, a: AttemptRecord): void {
  str(w, F.attempt.childWorkflowId, a.childWorkflowId);
  if (a.error) stepError(w, F.attempt.error, a.error);
  uint(w, F.attempt.state, int31(a.state));
  timestamp(w, F.attempt.finishedAt, time(a.finishedAt));
  timestamp(w, F.attempt.startedAt, time(a.startedAt));
  timestamp(w, F.attempt.dispatchedAt, time(a.dispatchedAt));
  str(w, F.attempt.supervisor, a.supervisor);
  str(w, F.attempt.attemptId, a.attemptId);
  uint(w, F.attempt.number, int31(a.number));
}

function stepError(w: ReverseWriter, no: number, e: { code: string; message: string }): void {
  message(w, no, () => {
    str(w, F.error.message, e.message);
    str(w, F.error.code, e.code);
  });
}

function spec(w: ReverseWriter, def: WorkflowDefinition): void {
  if (def.inputs) inputSpecs(w, def.inputs);
  if (def.onFailure) stepSpecs(w, F.spec.onFailure, def.onFailure);
  if (def.timeoutMs !== undefined) duration(w, F.spec.timeout, def.timeoutMs);
  if (def.retry) retry(w, F.spec.retry, def.retry);
  stringMap(w, F.spec.labels, def.labels);
  stepSpecs(w, F.spec.steps, def.steps);
  str(w, F.spec.name, def.name);
}

function stepSpecs(w: ReverseWriter, no: number, steps: readonly StepDefinition[]): void {
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    message(w, no, () => stepSpec(w, s));
  }
}

function stepSpec(w: ReverseWriter, s: StepDefinition): void {
  strs(w, F.stepSpec.secrets, s.secrets);
  if (s.labels !== undefined) stringMap(w, F.stepSpec.labels, s.labels);
  str(w, F.stepSpec.supervisor, s.supervisor);
  const child = s.workflow;
  if (child && "template" in child) {
    message(w, F.stepSpec.template, () => {
      uint(w, F.templateRef.version, int31(child.version ?? 0));
      str(w, F.templateRef.name, child.template);
    });
  } else if (child && "inline" in child) {
    message(w, F.stepSpec.workflow, () => spec(w, child.inline));
  }
  uint(w, F.stepSpec.maxParallel, int31(s.maxParallel));
  str(w, F.stepSpec.forEach, s.forEach);
  str(w, F.stepSpec.when, s.when);
  if (s.trigger) uint(w, F.stepSpec.trigger, TRIGGER_NUMBER[s.trigger]);
  if (s.retry) retry(w, F.stepSpec.retry, s.retry);
  if (s.timeoutMs !== undefined) duration(w, F.stepSpec.timeout, s.timeoutMs);
  strs(w, F.stepSpec.dependsOn, s.dependsOn);
  str(w, F.stepSpec.payload, s.payload);
  str(w, F.stepSpec.runner, s.runner);
  str(w, F.stepSpec.id, s.id);
}

function retry(w: ReverseWriter, no: number, r: RetryPolicyDefinition): void {
  message(w, no, () => {
    strs(w, F.retry.nonRetryable, r.nonRetryable);
    double(w, F.retry.jitter, r.jitter, true);
    double(w, F.retry.multiplier, r.multiplier, true);
    if (r.maxBackoffMs !== undefined) duration(w, F.retry.maxBackoff, r.maxBackoffMs);
    if (r.initialBackoffMs !== undefined) duration(w, F.retry.initialBackoff, r.initialBackoffMs);
    uint(w, F.retry.maxAttempts, int31(r.maxAttempts), true);
  });
}

/** A google.protobuf.Duration of `ms` as msDuration (json.ts) makes it: whole milliseconds, here non-negative and unclamped. */
function duration(w: ReverseWriter, no: number, ms: number): void {
  need(Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_DURATION_MS);
  const seconds = Math.trunc(ms / 1000);
  message(w, no, () => {
    uint(w, F.duration.nanos, (ms - seconds * 1000) * 1e6);
    uint(w, F.duration.seconds, seconds);
  });
}

function inputSpecs(w: ReverseWriter, inputs: InputDeclarations): void {
  mapField(w, F.spec.inputs, inputs, (d) =>
    message(w, F.entry.value, () => {
      str(w, F.inputSpec.description, d.description);
      if (d.default !== undefined) writeValueField(w, F.inputSpec.default, d.default);
      uint(w, F.inputSpec.required, d.required ? 1 : 0);
      str(w, F.inputSpec.type, d.type);
    }),
  );
}

/** A map<string, string> field. */
function stringMap(w: ReverseWriter, no: number, map: Record<string, string>): void {
  mapField(w, no, map, (v) => str(w, F.entry.value, v, true));
}

/** A map<string, google.protobuf.Value> field. */
function valueMap(w: ReverseWriter, no: number, map: Record<string, JsonValue>): void {
  mapField(w, no, map, (v) => writeValueField(w, F.entry.value, v));
}

/**
 * A map field: an entry message per key, in the object's order, its key
 * always written and its value by `value` (as protobuf-es writes map
 * entries, defaults included).
 */
function mapField<V>(w: ReverseWriter, no: number, map: Record<string, V>, value: (v: V) => void): void {
  const entries = Object.entries(map);
  for (let i = entries.length - 1; i >= 0; i--) {
    const [k, v] = entries[i]!;
    message(w, no, () => {
      value(v);
      str(w, F.entry.key, k, true);
    });
  }
}

// Builders for the messages the supervisor emits per job event. protobuf-es
// messages of proto3 files are plain objects, and `create()` walks the
// schema for every field; on the event path (several messages per job, a
// 2,000-job batch at a time) building the objects directly is several
// times cheaper. The generated types keep these literals complete.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { FailureCode } from "../common/failure-codes.js";
import { encodeJson } from "../common/json-bytes.js";
import { fromValue, toValue, type JsonValue } from "../common/json.js";
import { jsonOf, setLazyField } from "../common/lazy-field.js";
import type { JobEvent } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import type { LogStream, StepError } from "../../gen/horus/coordinator/v1/workflow_pb.js";

export interface EventSubject {
  attemptId: string;
  workflowId: string;
  stepId: string;
}

export function timestamp(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: Math.floor((ms - seconds * 1000) * 1e6) };
}

export function stepError(code: FailureCode, message: string): StepError {
  return { $typeName: "horus.coordinator.v1.StepError", code, message };
}

function event(seq: number, job: EventSubject, timeMs: number, kind: JobEvent["kind"]): JobEvent {
  return {
    $typeName: "horus.coordinator.v1.JobEvent",
    seq: BigInt(seq),
    attemptId: job.attemptId,
    workflowId: job.workflowId,
    stepId: job.stepId,
    time: timestamp(timeMs),
    kind,
  };
}

export function startedEvent(seq: number, job: EventSubject, timeMs: number): JobEvent {
  return event(seq, job, timeMs, { case: "started", value: { $typeName: "horus.coordinator.v1.JobStarted" } });
}

export function logEvent(seq: number, job: EventSubject, timeMs: number, stream: LogStream, line: string): JobEvent {
  return event(seq, job, timeMs, { case: "log", value: { $typeName: "horus.coordinator.v1.JobLog", stream, line } });
}

/** A job's end: its error, or its output (JSON, converted to a Value only if the event goes over the wire: lazy-field.ts). */
export function finishedEvent(seq: number, job: EventSubject, timeMs: number, output: JsonValue | undefined, error: StepError | undefined): JobEvent {
  const value: Extract<JobEvent["kind"], { case: "finished" }>["value"] = {
    $typeName: "horus.coordinator.v1.JobFinished",
    succeeded: error === undefined,
    outputJson: NO_BYTES,
  };
  if (error) value.error = error;
  else if (output !== undefined) setLazyField(value, "output", output, toValue);
  return event(seq, job, timeMs, { case: "finished", value });
}

/** An empty bytes field (no output_json); never written to, so one serves every message. */
const NO_BYTES = new Uint8Array(0);

/** Stands for "no output" in jsonOutput (JSON null is an output). */
const NONE = Symbol("no output") as unknown as JsonValue;

/** The events of `jsonOutput`, by the event they were made from: every link reading JSON shares one encoding. */
const withJsonOutput = new WeakMap<JobEvent, JobEvent>();

/**
 * An event as a coordinator that reads output_json gets it: a finished
 * event's output as JSON bytes instead of a Value (never converted to one).
 * Other events are returned as they are.
 */
export function jsonOutput(ev: JobEvent): JobEvent {
  if (ev.kind.case !== "finished" || !ev.kind.value.succeeded) return ev;
  let out = withJsonOutput.get(ev);
  if (out) return out;
  const f = ev.kind.value;
  const output = jsonOf(f, "output", (v) => (v === undefined ? NONE : fromValue(v)));
  if (output === NONE) return ev;
  const value: Extract<JobEvent["kind"], { case: "finished" }>["value"] = {
    $typeName: "horus.coordinator.v1.JobFinished",
    succeeded: true,
    outputJson: encodeJson(output),
  };
  out = { ...ev, kind: { case: "finished", value } };
  withJsonOutput.set(ev, out);
  return out;
}

// Translates a supervisor's job event (the wire message) into what the
// executor does with it: an engine input, or a log line to store with the
// workflow's next commit. Pure: the clock and the attempt numbers come in as
// arguments, so every rule here has a table test.
import type { JobEvent } from "../../../gen/horus/coordinator/v1/supervisor_pb.js";
import { LogStream } from "../../../gen/horus/coordinator/v1/workflow_pb.js";
import { fromValue, nestsDeeperThan, tsMs, type JsonValue } from "../../common/json.js";
import { decodeJson } from "../../common/json-bytes.js";
import { jsonOf } from "../../common/lazy-field.js";
import { MAX_OUTPUT_DEPTH } from "../../common/depth.js";
import type { EngineInput } from "../../engine/engine.js";
import type { LogRecord, LogStreamName } from "../../store/store.js";
import { StepFailureCode } from "../../common/failure-codes.js";

export interface JobEventContext {
  /** Largest step output accepted, as JSON bytes; 0 or less: no limit. A larger one fails the step OUTPUT_TOO_LARGE. */
  maxOutputBytes: number;
  /** Time of a log line that carries none (ms since the epoch). */
  now: number;
  /** The attempt number a log line of this attempt is stored under (0 when the attempt is not current). */
  attemptNumber(attemptId: string): number;
}

/** What a job event asks of the executor; undefined for kinds it does not know. */
export type JobEventEffect = { type: "input"; input: EngineInput } | { type: "log"; log: LogRecord } | undefined;

const STREAM_NAMES: Record<number, LogStreamName> = {
  [LogStream.STDOUT]: "stdout",
  [LogStream.STDERR]: "stderr",
  [LogStream.SYSTEM]: "system",
};

export function jobEventEffect(ev: JobEvent, ctx: JobEventContext): JobEventEffect {
  switch (ev.kind.case) {
    case "started":
      return { type: "input", input: { type: "started", attemptId: ev.attemptId } };
    case "log":
      return {
        type: "log",
        log: {
          stepId: ev.stepId,
          attempt: ctx.attemptNumber(ev.attemptId),
          time: tsMs(ev.time) ?? ctx.now,
          stream: STREAM_NAMES[ev.kind.value.stream] ?? "stdout",
          line: ev.kind.value.line,
        },
      };
    case "finished": {
      const f = ev.kind.value;
      const attemptId = ev.attemptId;
      if (f.succeeded) {
        const read = outputOf(f, ctx.maxOutputBytes);
        if ("error" in read) return { type: "input", input: { type: "finished", attemptId, ok: false, error: read.error } };
        return { type: "input", input: { type: "finished", attemptId, ok: true, output: read.output } };
      }
      // Stopped by a dispatcher or a supervisor shutting down, not by the step: run it again (R5).
      if (f.error?.code === StepFailureCode.ATTEMPT_LOST) return { type: "input", input: { type: "lost", attemptId, reason: f.error.message } };
      return { type: "input", input: { type: "finished", attemptId, ok: false, error: { code: f.error?.code || StepFailureCode.ERROR, message: f.error?.message ?? "" } } };
    }
    default:
      return undefined;
  }
}

type Finished = Extract<JobEvent["kind"], { case: "finished" }>["value"];

/**
 * A succeeded job's output: output_json when the supervisor sent it (a
 * link whose coordinator reads it), else the Value (or, in process, the
 * JSON it was set from: lazy-field.ts). An output_json that is not JSON
 * fails the step as a runner's non-JSON output does; one nesting deeper
 * than supervisors allow fails it as there, so every output stored stays
 * readable by clients (depth.ts).
 */
function outputOf(f: Finished, maxOutputBytes: number): { output: JsonValue } | { error: { code: StepFailureCode; message: string } } {
  if (f.outputJson.length === 0) {
    const output = jsonOf(f, "output", fromValue);
    const tooLarge = outputTooLarge(output, maxOutputBytes);
    return tooLarge ? { error: { code: StepFailureCode.OUTPUT_TOO_LARGE, message: tooLarge } } : { output };
  }
  // The bytes are the JSON: no need to encode it again to measure it.
  const bytes = f.outputJson.length;
  if (maxOutputBytes > 0 && bytes > maxOutputBytes) return { error: { code: StepFailureCode.OUTPUT_TOO_LARGE, message: tooLargeText(bytes, maxOutputBytes) } };
  let output: JsonValue;
  try {
    output = decodeJson(f.outputJson);
  } catch (err) {
    return { error: { code: StepFailureCode.RUNNER_ERROR, message: `the supervisor sent an output_json that cannot be read: ${err instanceof Error ? err.message : String(err)}` } };
  }
  if (nestsDeeperThan(output, MAX_OUTPUT_DEPTH)) return { error: { code: StepFailureCode.OUTPUT_TOO_DEEP, message: `output nests deeper than ${MAX_OUTPUT_DEPTH} arrays/objects` } };
  return { output };
}

function tooLargeText(bytes: number, max: number): string {
  return `step output of ${bytes} bytes exceeds the coordinator's limit of ${max} bytes (--max-output-bytes)`;
}

/** Why an output is over the limit, or "" when it fits. */
export function outputTooLarge(output: unknown, max: number): string {
  if (max <= 0) return "";
  const bytes = Buffer.byteLength(JSON.stringify(output) ?? "null", "utf8");
  return bytes > max ? tooLargeText(bytes, max) : "";
}

// A batched WatchWorkflow message written straight to protobuf binary from
// the stored events, without building a message object per event.
//
// Why: following a workflow sends every one of its events (about four per
// step), and protobuf-es creates and encodes messages by reflection, at
// several microseconds per message. That work shares the coordinator's
// thread with the workflow, so a followed workflow ran measurably slower
// than an unfollowed one. Writing the few fields of an event directly
// costs a fraction of that.
//
// The bytes are exactly those of toBinary(eventToProto(...)) for each event
// (test/coordinator/event-wire.test.ts), and the message is a
// WatchWorkflowResponse whose `events` field travels pre-encoded in
// `$unknown`, so the Connect, gRPC and gRPC-web serializers send it as is.
// Only for the binary format: the JSON format has no such fields.
import { create } from "@bufbuild/protobuf";
import { OutputFormat, WatchWorkflowResponseSchema, type WatchWorkflowResponse } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { ReverseWriter } from "../common/reverse-writer.js";
import { writeValueField } from "../common/value-wire.js";
import { isUint, isUint31, LEN, message, str, tag, timestamp, uint } from "../common/proto-write.js";
import type { StoredEvent } from "../engine/model.js";

/** Field numbers, as in workflow.proto and coordinator.proto. */
const F = {
  response: { events: 4 },
  events: { events: 1 },
  event: { cursor: 1, workflowId: 2, time: 3, workflow: 4, step: 5 },
  workflow: { state: 1, error: 2 },
  step: { stepId: 1, state: 2, attempt: 3, supervisor: 4, output: 5, error: 6, instance: 7, nextRetryAt: 8, waitingReason: 40, outputJson: 41 },
  stepError: { code: 1, message: 2 },
} as const;

/**
 * Whether this writer can encode the event. Every event the engine makes
 * qualifies (times are whole non-negative milliseconds, attempts and
 * instances non-negative int32s); anything else goes the library's way.
 */
export function directlyEncodable(e: StoredEvent): boolean {
  if (!isUint(e.time) || !isUint31(e.state)) return false;
  return e.kind === "workflow" || (isUint31(e.attempt) && isUint31(e.instance) && isUint(e.nextRetryAt));
}

/** A string field already encoded (the workflow id, the same in every event of a message). */
function encoded(w: ReverseWriter, no: number, b: Uint8Array): void {
  if (b.length === 0) return;
  w.varint(w.raw(b));
  tag(w, no, LEN);
}

function event(w: ReverseWriter, workflowId: Uint8Array, e: StoredEvent, outputs: OutputFormat): void {
  if (e.kind === "workflow") {
    message(w, F.event.workflow, () => {
      str(w, F.workflow.error, e.error);
      uint(w, F.workflow.state, e.state);
    });
  } else {
    message(w, F.event.step, () => {
      // A Value output is an unknown field to the converter (convert.ts), which
      // protobuf-es writes after the known ones: here it is written first.
      if (e.output !== undefined && outputs === OutputFormat.VALUE_UNSPECIFIED) writeValueField(w, F.step.output, e.output);
      if (e.output !== undefined && outputs === OutputFormat.JSON) str(w, F.step.outputJson, JSON.stringify(e.output));
      str(w, F.step.waitingReason, e.waitingReason);
      if (e.nextRetryAt !== undefined) timestamp(w, F.step.nextRetryAt, e.nextRetryAt);
      uint(w, F.step.instance, e.instance, true);
      if (e.error) {
        const error = e.error;
        message(w, F.step.error, () => {
          str(w, F.stepError.message, error.message);
          str(w, F.stepError.code, error.code);
        });
      }
      str(w, F.step.supervisor, e.supervisor);
      uint(w, F.step.attempt, e.attempt);
      uint(w, F.step.state, e.state);
      str(w, F.step.stepId, e.stepId);
    });
  }
  timestamp(w, F.event.time, e.time);
  encoded(w, F.event.workflowId, workflowId);
  str(w, F.event.cursor, e.cursor);
}

/** One WorkflowEvent message's bytes (what eventsMessage writes for each event). */
export function encodeEvent(workflowId: string, e: StoredEvent, outputs: OutputFormat): Uint8Array {
  const w = new ReverseWriter(128);
  event(w, Buffer.from(workflowId, "utf8"), e, outputs);
  return w.bytes();
}

/**
 * The batched WatchWorkflow message carrying `events` (each directlyEncodable)
 * and `cursor`, its `events` field pre-encoded.
 */
export function eventsMessage(workflowId: string, events: readonly StoredEvent[], outputs: OutputFormat, cursor: string): WatchWorkflowResponse {
  const w = new ReverseWriter(256 + events.length * 96);
  const id = Buffer.from(workflowId, "utf8");
  for (let i = events.length - 1; i >= 0; i--) {
    const start = w.written;
    event(w, id, events[i]!, outputs);
    w.varint(w.written - start);
    tag(w, F.events.events, LEN);
  }
  // The unknown field's data is what follows its tag: the length, then the WorkflowEvents message.
  w.varint(w.written);
  const msg = create(WatchWorkflowResponseSchema, { cursor });
  msg.$unknown = [{ no: F.response.events, wireType: LEN, data: w.bytes() }];
  return msg;
}

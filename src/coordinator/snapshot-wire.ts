// A WatchWorkflow snapshot message whose Workflow is already protobuf
// binary (written from the record: workflow-wire.ts).
//
// The `snapshot` field travels pre-encoded in `$unknown`, as event-wire.ts
// sends batched events, so the Connect, gRPC and gRPC-web serializers write
// the bytes as they are. Only for the binary format: the JSON format has no
// such fields, and would send a message with no snapshot.
import { create } from "@bufbuild/protobuf";
import { WatchWorkflowResponseSchema, type WatchWorkflowResponse } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { ReverseWriter } from "../common/reverse-writer.js";

/** WatchWorkflowResponse.snapshot's field number (RunWorkflowResponse's is the same). */
const SNAPSHOT_FIELD = 1;
/** Wire type of a length-delimited field. */
const LEN = 2;

/**
 * The WatchWorkflow message carrying the Workflow message `bytes` (as
 * toBinary(WorkflowSchema, ...) writes it) as its snapshot, at `cursor`.
 */
export function snapshotMessage(bytes: Uint8Array, cursor: string): WatchWorkflowResponse {
  // The unknown field's data is what follows its tag: the length, then the message.
  const w = new ReverseWriter(bytes.length + 5);
  w.varint(w.raw(bytes));
  const data = w.bytes();
  const msg = create(WatchWorkflowResponseSchema, { cursor });
  msg.$unknown = [{ no: SNAPSHOT_FIELD, wireType: LEN, data }];
  return msg;
}

// A WatchWorkflow snapshot message whose Workflow is already protobuf
// binary (encoded in a worker: definition-pool.ts encodeWorkflow).
//
// The `snapshot` field travels pre-encoded in `$unknown`, as event-wire.ts
// sends batched events, so the Connect, gRPC and gRPC-web serializers write
// the bytes as they are. Only for the binary format: the JSON format has no
// such fields, and would send a message with no snapshot.
import { create } from "@bufbuild/protobuf";
import { WatchWorkflowResponseSchema, type WatchWorkflowResponse } from "../../gen/horus/coordinator/v1/coordinator_pb.js";

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
  let size = 1;
  for (let n = bytes.length; n >= 0x80; n = Math.floor(n / 0x80)) size++;
  const data = new Uint8Array(size + bytes.length);
  let n = bytes.length;
  for (let i = 0; i < size - 1; i++, n = Math.floor(n / 0x80)) data[i] = (n % 0x80) | 0x80;
  data[size - 1] = n;
  data.set(bytes, size);
  const msg = create(WatchWorkflowResponseSchema, { cursor });
  msg.$unknown = [{ no: SNAPSHOT_FIELD, wireType: LEN, data }];
  return msg;
}

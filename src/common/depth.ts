// How deep the messages between coordinators, supervisors and clients may
// nest. The read limits are part of the client contract (horus-api): the
// coordinator, its supervisors and the clients all read with them.
import { BINARY_READ_OPTIONS } from "../../clients/api/src/read-limits.js";

export { BINARY_READ_OPTIONS, JSON_READ_OPTIONS } from "../../clients/api/src/read-limits.js";

/**
 * Message nesting allowed when decoding jobs and job events on the
 * coordinator <-> supervisor link. A job's input carries its dependencies'
 * outputs as google.protobuf.Value, and a noop step answers with its input,
 * so along a chain the outputs nest one level per step (about two message
 * levels per JSON level): protobuf-es's default limit of 100 would refuse
 * the finished event of step ~50 of a noop chain, and the event stream
 * would fail on it for ever. On a link whose peers read JSON values
 * (docs/supervisor-protocol.md) inputs and outputs travel as JSON bytes and
 * add no message nesting; the coordinator then checks an output's depth
 * against MAX_OUTPUT_DEPTH itself.
 */
export const SUPERVISOR_BINARY_OPTIONS = BINARY_READ_OPTIONS;

/**
 * Deepest output (arrays/objects inside each other) a supervisor returns;
 * deeper fails the step with OUTPUT_TOO_DEEP instead of making a message the
 * other end cannot decode. A Value costs two message levels per JSON level,
 * and a job's input wraps outputs a few levels more, so this stays well
 * inside recursionLimit (a chain of 500 noop steps, each answering with its
 * input, reaches it).
 */
export const MAX_OUTPUT_DEPTH = 500;

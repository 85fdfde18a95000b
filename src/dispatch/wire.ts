// Protobuf options of the coordinator <-> supervisor link, shared by both ends.
import { BINARY_READ_OPTIONS } from "../common/depth.js";

/**
 * Message nesting allowed when decoding jobs and job events. A job's input
 * carries its dependencies' outputs as google.protobuf.Value, and a noop
 * step answers with its input, so along a chain the outputs nest one level
 * per step (about two message levels per JSON level). With protobuf-es's
 * default limit of 100, the finished event of step ~50 of a noop chain could
 * not be decoded: the coordinator's event stream failed and was retried
 * forever, and the workflow stalled (found by the bench's 100-step chain).
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

// Protobuf options of the coordinator <-> supervisor link, shared by both ends.

/**
 * Message nesting allowed when decoding jobs and job events. A job's input
 * carries its dependencies' outputs as google.protobuf.Value, and a noop
 * step answers with its input, so along a chain the outputs nest one level
 * per step (about two message levels per JSON level). With protobuf-es's
 * default limit of 100, the finished event of step ~50 of a noop chain could
 * not be decoded: the coordinator's event stream failed and was retried
 * forever, and the workflow stalled (found by the bench's 100-step chain).
 */
export const SUPERVISOR_BINARY_OPTIONS = { recursionLimit: 2_000 } as const;

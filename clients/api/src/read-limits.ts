// How deep protobuf messages may nest when read, on every link that
// carries step outputs (google.protobuf.Value: two message levels per JSON
// level in binary, one in JSON). protobuf-es stops at 100 by default, which
// a step output only ~48 JSON levels deep already passes in binary: the
// coordinator, its supervisors and the clients all read with these limits.
// Supervisors refuse outputs deeper than MAX_OUTPUT_DEPTH (dispatch/wire.ts),
// so everything stored stays readable with them.

/** Message nesting accepted from the binary format (gRPC, Connect binary). */
export const BINARY_READ_OPTIONS = { recursionLimit: 2_000 } as const;
/** Nesting accepted from the JSON format (Connect JSON, JSON-RPC). */
export const JSON_READ_OPTIONS = { recursionLimit: 1_000 } as const;

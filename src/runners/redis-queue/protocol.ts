// The supervisor <-> external runner protocol over Redis lives with the
// client contract (horus-api), below both the supervisor and the runner SDK.
export * from "../../../clients/api/src/runner-protocol.js";

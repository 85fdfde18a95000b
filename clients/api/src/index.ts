// horus-api: the Horus Coordinator's API as the clients share it. The code
// generated from proto/ (messages, enums, CoordinatorService), the plain
// JSON client wrapper, the reconnecting watch helper, the bearer token
// interceptor and the read limits. horus-client-node and horus-client-web
// add a transport; horus-runner-sdk uses the runner protocol
// ("horus-api/runner-protocol").
export * from "../../../gen/horus/coordinator/v1/coordinator_pb.js";
export * from "../../../gen/horus/coordinator/v1/workflow_pb.js";
export * from "../../../gen/horus/coordinator/v1/schedule_pb.js";
export { createPlainClient, toPlain, fromPlain, type Plain, type PlainInit, type PlainClient } from "./plain.js";
export { watchWorkflow, runWorkflow, isFinal, unbatched, type WatchOptions, type WatchClient, type RunClient, type WatchMessage } from "./watch.js";
export { bearerToken, type TokenSource } from "./token.js";
export { BINARY_READ_OPTIONS, JSON_READ_OPTIONS } from "./read-limits.js";

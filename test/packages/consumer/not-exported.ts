// Type-level proof that internals are not importable: if TypeScript could
// resolve this path, the directive would be unused and the build would fail.
// @ts-expect-error dist/src/cli/main.js is not in horus-coordinator's exports
import type {} from "horus-coordinator/dist/src/cli/main.js";
// @ts-expect-error the generated files are reached through horus-api's index only
import type {} from "horus-api/dist/gen/horus/coordinator/v1/workflow_pb.js";

export {};

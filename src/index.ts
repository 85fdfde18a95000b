// The horus-coordinator package's public entry point (package.json
// "exports"): run a coordinator or a supervisor from your own program, with
// the stores and runners they take. Everything else under dist/ is internal
// and not importable from outside. The API's messages and clients are in
// horus-api, horus-client-node and horus-client-web.
export { startCoordinator, type CoordinatorOptions, type CoordinatorSecurity, type RunningCoordinator } from "./coordinator/app.js";
export type { StoreChoice } from "./coordinator/store-choice.js";
export { startSupervisorServer, type SupervisorServerOptions, type SupervisorSecurity, type RunningSupervisor } from "./server/supervisor-server.js";
export { createSupervisor, type Supervisor, type SupervisorOptions } from "./supervisor/index.js";
export { createMemoryStore, type MemoryStoreOptions } from "./store/memory/memory-store.js";
export { createRedisStore, type RedisStoreOptions } from "./store/redis/redis-store.js";
export type { Store } from "./store/store.js";
export { builtinRunners, createJsRunner, createShellRunner, createNoopRunner, type BuiltinRunnerOptions } from "./runners/index.js";
export type { Runner, RunContext, RunResult, JobInput } from "./runners/types.js";
export { StepFailureCode, type FailureCode } from "./common/failure-codes.js";
export { parseWorkflowYaml } from "./workflow/parse.js";
export { validateAndPlan } from "./workflow/plan.js";

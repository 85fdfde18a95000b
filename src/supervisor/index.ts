export {
  createSupervisor,
  type Supervisor,
  type SupervisorOptions,
  type SupervisorStats,
  type RunnerStats,
} from "./supervisor.js";

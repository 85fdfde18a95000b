// `horus validate` is local, but when a coordinator answers it can also say
// what submitting would warn about: runners no supervisor offers.
import { runnerWarnings, type OfferingSupervisor } from "../coordinator/runner-warnings.js";
import type { WorkflowDefinition } from "../workflow/definition.js";
import { coordinatorClient } from "./client.js";

const HEALTH = new Set<string>(["connecting", "up", "suspect", "down"]);

/**
 * The runner warnings SubmitWorkflow would return for `definition`, from the
 * coordinator's supervisors; none when no coordinator answers within
 * `timeoutMs` (validate needs no coordinator, so it stays quiet then).
 */
export async function reachableRunnerWarnings(coordinator: string, definition: WorkflowDefinition, timeoutMs = 1000): Promise<string[]> {
  try {
    const res = await coordinatorClient(coordinator).listSupervisors({}, { timeoutMs });
    const pool: OfferingSupervisor[] = res.supervisors.map((s) => ({ health: (HEALTH.has(s.health) ? s.health : "up") as OfferingSupervisor["health"], runners: s.runners }));
    return runnerWarnings(definition, pool);
  } catch {
    return [];
  }
}

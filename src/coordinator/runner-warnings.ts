// Warnings returned with an accepted submission: a step whose runner no
// current supervisor offers would sit READY and fail NO_SUPERVISOR after the
// unroutable timeout. Saying so at submit turns a typo like `runner: jss`
// into an answer within the request. Not an error: a supervisor offering the
// runner may still register before the timeout.
import type { StepDefinition, WorkflowDefinition } from "../workflow/definition.js";

/** What the warnings need to know of one supervisor of the pool. */
export interface OfferingSupervisor {
  health: "connecting" | "up" | "suspect" | "down";
  runners: ReadonlyArray<{ name: string }>;
}

/**
 * One warning per runner that the definition's steps (on_failure steps and
 * inline sub-workflows included) use and no supervisor offers, naming the
 * steps. Supervisors that are down count as not offering. While a supervisor
 * is still connecting (its runners not known yet) nothing can be said, so
 * there are no warnings.
 */
export function runnerWarnings(definition: WorkflowDefinition, supervisors: readonly OfferingSupervisor[]): string[] {
  const live = supervisors.filter((s) => s.health !== "down");
  if (live.some((s) => s.health === "connecting" && s.runners.length === 0)) return [];
  const offered = new Set(live.flatMap((s) => s.runners.map((r) => r.name)));
  const stepsByRunner = new Map<string, string[]>();
  collect(definition, "", (runner, stepId) => {
    if (offered.has(runner)) return;
    const steps = stepsByRunner.get(runner) ?? [];
    if (!steps.includes(stepId)) steps.push(stepId);
    stepsByRunner.set(runner, steps);
  });
  const offeredText = [...offered].sort().join(", ") || "none";
  return [...stepsByRunner].map(([runner, steps]) => {
    const shown = steps.slice(0, 5).join(", ") + (steps.length > 5 ? ` and ${steps.length - 5} more` : "");
    return `no supervisor offers runner "${runner}" (offered: ${offeredText}): step${steps.length > 1 ? "s" : ""} ${shown} will wait until one does`;
  });
}

/** Every runner step of the definition, inline children's named `parent/child`. */
function collect(def: WorkflowDefinition, prefix: string, visit: (runner: string, stepId: string) => void): void {
  const steps: StepDefinition[] = [...def.steps, ...(def.onFailure ?? [])];
  for (const s of steps) {
    if (s.workflow) {
      if ("inline" in s.workflow) collect(s.workflow.inline, `${prefix}${s.id}/`, visit);
      continue;
    }
    if (s.runner) visit(s.runner, `${prefix}${s.id}`);
  }
}

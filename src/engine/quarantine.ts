// Quarantine: what happens to a workflow the engine cannot advance (its
// transition threw or held the event loop past its budget, or its stored
// record does not load). Left RUNNING, it
// would be taken over by coordinator after coordinator, each failing on it
// again; instead it ends FAILED with code INTERNAL and the reason, which no
// takeover scan picks up (they look at running workflows only), and its
// running work is asked to stop. Written for records the engine found
// inconsistent, so it reads them defensively and never throws.
import type { DomainEvent, WorkflowRecord } from "./model.js";
import { StepState as S, WorkflowState as W, isTerminalStep, isTerminalWorkflow } from "./states.js";
import { StepFailureCode } from "../common/failure-codes.js";

export interface Quarantined {
  /** Events to append: each unfinished step CANCELLED, then the workflow FAILED. */
  events: DomainEvent[];
  /** Step record indexes changed. */
  changed: number[];
  /** Attempts that may be running, to stop: a job (`supervisor` if known) or a child workflow. */
  stops: Array<{ attemptId: string; supervisor?: string; childWorkflowId?: string }>;
}

/**
 * Longest one transition may take by default (ms). A transition runs on the
 * coordinator's event loop, where one that takes seconds holds up every
 * request and lease renewal, and would again on each coordinator that took
 * the workflow over. Above the CEL wall-clock limit (5 s), so that one slow
 * but legitimate expression does not trip it on a loaded machine.
 */
export const DEFAULT_TRANSITION_BUDGET_MS = 10_000;

/** The quarantine reason when a transition that took `elapsedMs` went over `budgetMs`; undefined within it. */
export function overTransitionBudget(elapsedMs: number, budgetMs: number, input: string): string | undefined {
  if (!(elapsedMs > budgetMs)) return undefined;
  return `its "${input}" transition took ${Math.round(elapsedMs)} ms, more than its budget of ${budgetMs} ms`;
}

/** The workflow error text of a quarantined workflow. */
export function quarantineError(reason: string): string {
  return `INTERNAL: the coordinator could not advance this workflow and stopped it: ${reason}`;
}

/**
 * Marks `record` FAILED with INTERNAL (mutating it) and every unfinished
 * step CANCELLED with the same error. Nothing to do for a finished workflow.
 */
export function quarantine(record: WorkflowRecord, reason: string, now: number): Quarantined {
  const out: Quarantined = { events: [], changed: [], stops: [] };
  if (isTerminalWorkflow(record.state)) return out;
  const message = quarantineError(reason);
  const steps = Array.isArray(record.steps) ? record.steps : [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (!step) continue;
    // Normalized, so the record can be copied and stored.
    if (!Array.isArray(step.attempts)) step.attempts = [];
    if (isTerminalStep(step.state)) continue;
    const attempts = step.attempts;
    const last = attempts[attempts.length - 1];
    if (last && !isTerminalStep(last.state)) {
      out.stops.push({ attemptId: last.attemptId, ...(last.supervisor ? { supervisor: last.supervisor } : {}), ...(last.childWorkflowId ? { childWorkflowId: last.childWorkflowId } : {}) });
      last.state = S.CANCELLED;
      last.finishedAt = now;
    }
    step.state = S.CANCELLED;
    step.finishedAt = now;
    step.error = { code: StepFailureCode.INTERNAL, message };
    delete step.nextRetryAt;
    delete step.waitingReason;
    out.changed.push(i);
    out.events.push({ kind: "step", time: now, stepId: step.id, state: S.CANCELLED, attempt: last?.number ?? 0, ...(step.instance !== undefined ? { instance: step.instance } : {}), error: step.error });
  }
  record.state = W.FAILED;
  record.finishedAt = now;
  record.error = message;
  out.events.push({ kind: "workflow", time: now, state: W.FAILED, error: message });
  return out;
}

// The failure codes Horus sets on steps and attempts (StepFailure.code, the
// wire's StepError.code). One set for every layer: runners, the supervisor,
// the dispatcher, the engine and the coordinator all import it from here, the
// floor below them all, and test/common/failure-codes.test.ts keeps it equal
// to the proto's StepFailureCode enum, which is what clients see. What each
// code means and who sets it: docs/failure-codes.md.

/** Every code Horus itself sets, by name (the value is the name: codes travel as strings). */
export const StepFailureCode = Object.freeze({
  // Runners and the supervisor.
  RUNNER_ERROR: "RUNNER_ERROR",
  SCRIPT_ERROR: "SCRIPT_ERROR",
  EXIT_CODE: "EXIT_CODE",
  TIMEOUT: "TIMEOUT",
  MEMORY_LIMIT: "MEMORY_LIMIT",
  OUTPUT_TOO_LARGE: "OUTPUT_TOO_LARGE",
  OUTPUT_TOO_DEEP: "OUTPUT_TOO_DEEP",
  RUNNER_UNAVAILABLE: "RUNNER_UNAVAILABLE",
  SECRET_UNAVAILABLE: "SECRET_UNAVAILABLE",
  CANCELLED: "CANCELLED",
  ATTEMPT_LOST: "ATTEMPT_LOST",
  NON_RETRYABLE: "NON_RETRYABLE",
  // The coordinator's dispatcher.
  NO_SUPERVISOR: "NO_SUPERVISOR",
  // The engine.
  DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
  DEPENDENCY_FAILED: "DEPENDENCY_FAILED",
  DEPENDENCY_SKIPPED: "DEPENDENCY_SKIPPED",
  NO_FAILURE: "NO_FAILURE",
  CONDITION_FALSE: "CONDITION_FALSE",
  CONDITION_ERROR: "CONDITION_ERROR",
  FOR_EACH_ERROR: "FOR_EACH_ERROR",
  FOR_EACH_TOO_LARGE: "FOR_EACH_TOO_LARGE",
  NOT_NEEDED: "NOT_NEEDED",
  INTERNAL: "INTERNAL",
  ERROR: "ERROR",
  // Sub-workflow steps.
  CHILD_FAILED: "CHILD_FAILED",
  CHILD_CANCELLED: "CHILD_CANCELLED",
  CHILD_LOST: "CHILD_LOST",
  TEMPLATE_NOT_FOUND: "TEMPLATE_NOT_FOUND",
  WORKFLOW_TOO_DEEP: "WORKFLOW_TOO_DEEP",
  INVALID_WORKFLOW: "INVALID_WORKFLOW",
  INVALID_INPUTS: "INVALID_INPUTS",
} as const);

/** One of the codes Horus sets. */
export type StepFailureCode = (typeof StepFailureCode)[keyof typeof StepFailureCode];

/**
 * A code a runner of your own set (a redis-queue worker, the runner SDK, a
 * script's thrown `code`): Horus passes it through unchanged, and a retry
 * policy's `non_retryable` may name it. Kept apart from StepFailureCode so
 * that editors still offer the built-in names.
 */
export type RunnerDefinedCode = string & {};

/** The code a step failure carries: a built-in one, or a runner's own. */
export type FailureCode = StepFailureCode | RunnerDefinedCode;

const KNOWN: ReadonlySet<string> = new Set(Object.values(StepFailureCode));

/** True when `code` is one Horus sets (not a runner's own). */
export function isStepFailureCode(code: string): code is StepFailureCode {
  return KNOWN.has(code);
}

// The validated, normalised shape of a workflow definition. Both the YAML
// format and the protobuf WorkflowSpec are parsed into this before any
// checking, so validation and planning exist once.

export interface StepDefinition {
  /** Unique within the workflow; dependents read its output as `input.<id>`. */
  id: string;
  /** Runner name: js, shell, noop, or an external runner. */
  runner: string;
  /** Runner-specific text: a JS snippet, a shell script. Empty when absent. */
  payload: string;
  /** Ids of steps that must succeed first, in the order written. */
  dependsOn: string[];
  /** Per-attempt time limit; the supervisor's default applies when undefined. */
  timeoutMs?: number;
  /** Routing: only the supervisor with this name may run the step. */
  supervisor?: string;
  /** Routing: only supervisors carrying every one of these labels may run the step. */
  labels?: Record<string, string>;
}

export interface WorkflowDefinition {
  name: string;
  steps: StepDefinition[];
  labels: Record<string, string>;
}

/** One thing wrong with a definition. Every problem is reported, not the first. */
export interface Problem {
  /** The step it concerns; "" for workflow-level problems. */
  stepId: string;
  /** Path in the definition, e.g. "workflow.steps[2].depends_on[0]". */
  field: string;
  /** A sentence naming the step and what to fix. */
  message: string;
}

/** Limits applied while validating. */
export interface ValidationLimits {
  /** Most steps one workflow may have (default 10,000). */
  maxSteps: number;
  /** Largest payload of one step, in UTF-8 bytes (default 256 KiB). */
  maxPayloadBytes: number;
}

export const DEFAULT_LIMITS: ValidationLimits = {
  maxSteps: 10_000,
  maxPayloadBytes: 256 * 1024,
};

/** Step ids become `input.<id>` in scripts and parts of attempt ids. */
export const STEP_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

// The validated, normalised shape of a workflow definition. Both the YAML
// format and the protobuf WorkflowSpec are parsed into this before any
// checking, so validation and planning exist once.
import type { JsonValue } from "../common/json.js";
import { DEFAULT_CEL_BUDGET, type CelBudget } from "./cel-budget.js";

/** The types a declared workflow input may have (`workflow.inputs`; checked in inputs.ts). */
export const INPUT_TYPES = ["string", "number", "boolean", "object", "array"] as const;
export type InputType = (typeof INPUT_TYPES)[number];

/** One declared input. */
export interface InputDeclaration {
  type: InputType;
  /** A submission without it is refused. A required input has no default. */
  required: boolean;
  /** Filled in when the submission leaves the input out; has the declared type. */
  default?: JsonValue;
  description?: string;
}

export type InputDeclarations = Record<string, InputDeclaration>;

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
  /** Overrides fields of the workflow's default retry policy (docs/semantics.md R1-R5). */
  retry?: RetryPolicyDefinition;
  /** When the step runs given its dependencies' outcomes; all_success when undefined (T1-T6). */
  trigger?: TriggerRule;
  /** CEL over `input` and `inputs`; false skips the step (C1-C3). */
  when?: string;
  /** CEL yielding a list; one instance of the step per item (F1-F8). */
  forEach?: string;
  /** Most instances of a for_each step running at once; unbounded when undefined. */
  maxParallel?: number;
  /** Runs another workflow instead of a runner job (W1-W3); `runner` and `payload` are then empty. */
  workflow?: SubWorkflowDefinition;
  /** Routing: only the supervisor with this name may run the step. */
  supervisor?: string;
  /** Routing: only supervisors carrying every one of these labels may run the step. */
  labels?: Record<string, string>;
  /**
   * Names of the supervisor's secrets the step gets (environment variables
   * for shell, `secrets.NAME` for js). Routing too: only a supervisor
   * holding every one runs the step. Values never reach the coordinator.
   */
  secrets?: string[];
}

export const TRIGGER_RULES = ["all_success", "all_done", "one_success", "one_failed", "none_failed"] as const;
export type TriggerRule = (typeof TRIGGER_RULES)[number];

/** As written; missing fields come from the workflow default, then DEFAULT_RETRY. */
export interface RetryPolicyDefinition {
  /** Attempts in total, the first included; 1 means no retry. */
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  multiplier?: number;
  /** Fraction 0..1 of each delay that is randomised (subtracted). */
  jitter?: number;
  /** Error codes that end the step at once, besides NON_RETRYABLE. */
  nonRetryable?: string[];
}

export type RetryPolicy = Required<RetryPolicyDefinition>;

/** No retry unless asked for, so a plain workflow behaves as before retries existed. */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 1,
  initialBackoffMs: 1000,
  maxBackoffMs: 60_000,
  multiplier: 2,
  jitter: 0,
  nonRetryable: [],
};

/** Most attempts a policy may ask for; keeps a typo from retrying for days. */
export const MAX_ATTEMPTS_LIMIT = 100;

/** A child workflow: written inline, or a registered template (latest version when none is given). */
export type SubWorkflowDefinition = { inline: WorkflowDefinition } | { template: string; version?: number };

export interface WorkflowDefinition {
  name: string;
  steps: StepDefinition[];
  labels: Record<string, string>;
  /** Default retry policy of every step (and on_failure step). */
  retry?: RetryPolicyDefinition;
  /** Limit for the whole run, from its start (or its RetryWorkflow) to its end (D1-D2). */
  timeoutMs?: number;
  /** Steps that run once the main steps are done and one of them failed (H1-H5). */
  onFailure?: StepDefinition[];
  /** Declared inputs (I1-I5); undefined or empty: inputs are not checked. */
  inputs?: InputDeclarations;
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
  /** Most items one for_each step may expand to (default 10,000). */
  maxForEachItems: number;
  /** Longest timeout (step or workflow) and retry backoff, in ms (default 30 days). */
  maxDurationMs: number;
  /**
   * Budget of every `when` / `for_each` evaluation (default DEFAULT_CEL_BUDGET):
   * an expression that cannot fit it is refused here, one that goes over it at
   * run time fails its step.
   */
  celBudget: CelBudget;
  /**
   * Levels of sub-workflows, inline or from templates (default 8): inline
   * nesting deeper is refused here, and a chain of templates deeper fails its
   * step WORKFLOW_TOO_DEEP at run time.
   */
  maxDepth: number;
}

export const DEFAULT_LIMITS: ValidationLimits = {
  maxSteps: 10_000,
  maxPayloadBytes: 256 * 1024,
  maxForEachItems: 10_000,
  // Written out rather than imported: duration.ts is the parser, this the shape.
  maxDurationMs: 30 * 86_400_000,
  celBudget: DEFAULT_CEL_BUDGET,
  maxDepth: 8,
};

/** Step ids become `input.<id>` in scripts and parts of attempt ids. */
export const STEP_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

/**
 * A secret name: it becomes an environment variable of shell steps, so a
 * portable variable name, and never HORUS_* (the job's own variables).
 */
export const SECRET_NAME_PATTERN = /^(?!HORUS_)[A-Za-z_][A-Za-z0-9_]{0,127}$/;

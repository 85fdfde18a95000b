// Reading and checking a definition (either form) into a plan or every
// problem: on the main thread (checkDefinition), or with the work done in a
// worker thread of definition-pool.ts and only the plan made here
// (checkedOffThread; definition-pool.ts's checkDefinitionOffThread chooses).
import type { SubmitWorkflowRequest } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { DEFAULT_LIMITS, type Problem, type ValidationLimits, type WorkflowDefinition } from "../workflow/definition.js";
import { fromSpec, parseWorkflowYaml, type ParseResult } from "../workflow/parse.js";
import { tooManySteps, validateAndPlan, type WorkflowPlan } from "../workflow/plan.js";

export type Definition = SubmitWorkflowRequest["definition"];

/** A definition read and checked: what was parsed, every problem, and the plan when there is none. */
export interface CheckedDefinition {
  parsed: ParseResult;
  plan?: WorkflowPlan;
  problems: Problem[];
}

/** What a worker thread found: every problem, and the definition unless it was refused for its size. */
export interface CheckedOffThread {
  problems: Problem[];
  definition?: WorkflowDefinition;
}

/** Parses either definition form and validates it; all problems at once. */
export function checkDefinition(definition: Definition, limits?: Partial<ValidationLimits>): CheckedDefinition {
  let parsed: ParseResult;
  if (definition.case === "yaml") parsed = parseWorkflowYaml(definition.value);
  else if (definition.case === "spec") {
    // Over the step limit: refused for that alone, without converting every step first.
    const count = definition.value.steps.length + definition.value.onFailure.length;
    const maxSteps = limits?.maxSteps ?? DEFAULT_LIMITS.maxSteps;
    if (count > maxSteps) {
      const problems = [tooManySteps(count, maxSteps)];
      return { parsed: { problems }, problems };
    }
    parsed = fromSpec(definition.value);
  }
  else {
    const problems = [{ stepId: "", field: "definition", message: "a definition is required: set yaml or spec" }];
    return { parsed: { problems }, problems };
  }
  const problems = [...parsed.problems];
  let plan: WorkflowPlan | undefined;
  if (parsed.definition) {
    const result = validateAndPlan(parsed.definition, limits);
    problems.push(...result.problems);
    if (problems.length === 0) plan = result.plan;
  }
  return { parsed, problems, ...(plan ? { plan } : {}) };
}

/**
 * A worker's answer as a checked definition. A valid definition is planned
 * again here, as plans hold compiled expressions that cannot cross threads;
 * that costs far less than reading it, and only definitions within the
 * limits get here.
 */
export function checkedOffThread(reply: CheckedOffThread, limits: Partial<ValidationLimits> | undefined): CheckedDefinition {
  const parsed: ParseResult = { problems: reply.problems, ...(reply.definition ? { definition: reply.definition } : {}) };
  if (reply.problems.length > 0 || !reply.definition) return { parsed, problems: reply.problems };
  const result = validateAndPlan(reply.definition, limits);
  return { parsed, problems: result.problems, ...(result.plan ? { plan: result.plan } : {}) };
}

// The worker thread of definition-pool.ts: reads and validates one YAML
// definition at a time, off the coordinator's event loop. The yaml package
// takes about a second per megabyte, which on the main thread held every
// other request up for seconds.
import { parentPort } from "node:worker_threads";
import { DEFAULT_LIMITS, type Problem, type ValidationLimits, type WorkflowDefinition } from "../workflow/definition.js";
import { parseWorkflowYaml } from "../workflow/parse.js";
import { validateAndPlan } from "../workflow/plan.js";

export interface DefinitionJob {
  id: number;
  yaml: string;
  limits: Partial<ValidationLimits>;
}

export interface DefinitionReply {
  id: number;
  problems: Problem[];
  /**
   * The parsed definition. Left out when it is invalid and has more steps
   * than the limit: a definition refused for its size is not worth copying
   * back to the main thread, which would then spend the time saved here.
   */
  definition?: WorkflowDefinition;
}

/** Steps of a definition with its inline children, up to `stop` (counting further tells nothing). */
export function countSteps(def: WorkflowDefinition, stop: number): number {
  let n = 0;
  const stack = [def];
  while (stack.length > 0 && n <= stop) {
    const d = stack.pop()!;
    n += d.steps.length + (d.onFailure?.length ?? 0);
    for (const s of [...d.steps, ...(d.onFailure ?? [])]) if (s.workflow && "inline" in s.workflow) stack.push(s.workflow.inline);
  }
  return n;
}

function handle(job: DefinitionJob): DefinitionReply {
  const parsed = parseWorkflowYaml(job.yaml);
  const problems = [...parsed.problems];
  if (!parsed.definition) return { id: job.id, problems };
  problems.push(...validateAndPlan(parsed.definition, job.limits).problems);
  const maxSteps = job.limits.maxSteps ?? DEFAULT_LIMITS.maxSteps;
  if (problems.length > 0 && countSteps(parsed.definition, maxSteps) > maxSteps) return { id: job.id, problems };
  return { id: job.id, problems, definition: parsed.definition };
}

parentPort?.on("message", (job: DefinitionJob) => {
  parentPort!.postMessage(handle(job));
});

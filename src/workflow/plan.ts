// Graph checks and the execution plan, in O(steps + edges).
import { compileCel, type CelProgram } from "./cel.js";

/** How compileCel's budget errors start; the rest reads after the field name. */
const COST_PREFIX = "the expression ";
import {
  DEFAULT_LIMITS,
  DEFAULT_RETRY,
  MAX_ATTEMPTS_LIMIT,
  SECRET_NAME_PATTERN,
  STEP_ID_PATTERN,
  type Problem,
  type RetryPolicy,
  type RetryPolicyDefinition,
  type StepDefinition,
  type ValidationLimits,
  type WorkflowDefinition,
} from "./definition.js";
import { durationRangeError } from "./duration.js";
import { checkDeclarations } from "./inputs.js";
import { truncateId } from "../common/truncate.js";

/** The CEL fields of a step: property, field name, list of compiled programs. */
const CEL_FIELDS = [["when", "when", "when"], ["forEach", "for_each", "forEach"]] as const;

/** Sub-workflows nest at most this deep by default (ValidationLimits.maxDepth), so a definition cannot recurse without end. */
export const MAX_SUB_WORKFLOW_DEPTH = DEFAULT_LIMITS.maxDepth;

/**
 * A definition that passed validation, indexed for the engine. Steps are
 * addressed by "static index": the main steps in `definition.steps` order,
 * then the `on_failure` steps. The workflow record keeps one step record per
 * static index at the same position (for_each instances come after them).
 */
export interface WorkflowPlan {
  definition: WorkflowDefinition;
  /** Main steps then on_failure steps: the static index space. */
  steps: StepDefinition[];
  /** Number of main steps; static indexes from here on are on_failure steps. */
  mainCount: number;
  /** Retry policy of each static step, defaults resolved. */
  retry: RetryPolicy[];
  /** Compiled `when` of each static step. */
  when: Array<CelProgram | undefined>;
  /** Compiled `for_each` of each static step. */
  forEach: Array<CelProgram | undefined>;
  /** Most items a for_each may expand to. */
  maxForEachItems: number;
  /** Step id -> static index. */
  index: Map<string, number>;
  /** Direct dependencies of each step (indexes). */
  parents: number[][];
  /** Direct dependents of each step (indexes). */
  children: number[][];
  /**
   * Topological level of each step: 0 for roots, else 1 + max(parent levels);
   * on_failure steps come after the deepest main level.
   */
  level: number[];
  /** Step ids grouped by level. */
  levels: string[][];
}

export interface ValidationResult {
  plan?: WorkflowPlan;
  problems: Problem[];
}

/** The one problem of a workflow over the step limit (its other problems are not looked for). */
export function tooManySteps(count: number, maxSteps: number): Problem {
  return { stepId: "", field: "workflow.steps", message: `the workflow has ${count} steps, more than the limit of ${maxSteps}` };
}

/** Checks every rule and, when there is no problem, returns the plan. */
export function validateAndPlan(def: WorkflowDefinition, limits: Partial<ValidationLimits> = {}): ValidationResult {
  return validateAt(def, { ...DEFAULT_LIMITS, ...limits }, 0);
}

function validateAt(def: WorkflowDefinition, limits: ValidationLimits, depth: number): ValidationResult {
  const { maxSteps, maxPayloadBytes, maxDurationMs } = limits;
  const problems: Problem[] = [];
  const handlers = def.onFailure ?? [];
  const steps = [...def.steps, ...handlers];
  const mainCount = def.steps.length;
  // Field path of a static step: main steps and on_failure steps are separate lists.
  const pathOf = (i: number) => (i < mainCount ? `workflow.steps[${i}]` : `workflow.on_failure[${i - mainCount}]`);
  if (mainCount === 0) problems.push({ stepId: "", field: "workflow.steps", message: "the workflow has no steps" });
  if (steps.length > maxSteps) {
    // Alone: checking every step of a definition refused for its size anyway
    // would cost time in proportion to whatever size a client chose to send.
    return { problems: [tooManySteps(steps.length, maxSteps)] };
  }
  const timeoutError = def.timeoutMs === undefined ? undefined : durationRangeError(def.timeoutMs, maxDurationMs);
  if (timeoutError) problems.push({ stepId: "", field: "workflow.timeout", message: `workflow.timeout ${timeoutError}` });
  if (def.retry) checkRetry(def.retry, "workflow.retry", "", "workflow", maxDurationMs, problems);
  if (def.inputs) problems.push(...checkDeclarations(def.inputs));

  const index = new Map<string, number>();
  const retry: RetryPolicy[] = [];
  const when: Array<CelProgram | undefined> = [];
  const forEach: Array<CelProgram | undefined> = [];
  // The policy of every step without a retry of its own, built once: a
  // policy object per step was most of the garbage of a 100,000-step plan.
  let shared: RetryPolicy | undefined;
  // Paths and labels are built only for problems: a string or two per step was garbage.
  const labelOf = (i: number) => (steps[i]!.id ? `step "${truncateId(steps[i]!.id)}"` : pathOf(i));
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (!s.id) {
      problems.push({ stepId: "", field: `${pathOf(i)}.id`, message: `${pathOf(i)}: id is missing or empty` });
    } else if (!STEP_ID_PATTERN.test(s.id)) {
      problems.push({ stepId: s.id, field: `${pathOf(i)}.id`, message: `step "${truncateId(s.id)}": id must start with a letter or _ and contain only letters, digits, _ and - (at most 128)` });
    } else if (index.has(s.id)) {
      problems.push({ stepId: s.id, field: `${pathOf(i)}.id`, message: `step "${truncateId(s.id)}": duplicate id (also ${pathOf(index.get(s.id)!)})` });
    } else {
      index.set(s.id, i);
    }
    if (s.workflow) {
      if (s.runner) problems.push({ stepId: s.id, field: `${pathOf(i)}.runner`, message: `${labelOf(i)}: a step runs either a runner or a workflow, not both (remove runner)` });
      if (s.payload) problems.push({ stepId: s.id, field: `${pathOf(i)}.payload`, message: `${labelOf(i)}: a workflow step has no payload (remove payload)` });
      // An empty template name was reported while parsing (either form).
      if ("inline" in s.workflow) {
        if (depth + 1 >= limits.maxDepth) {
          problems.push({ stepId: s.id, field: `${pathOf(i)}.workflow`, message: `${labelOf(i)}: sub-workflows nest more than ${limits.maxDepth} deep` });
        } else {
          // The child's problems keep their own step ids; paths and messages say where the child sits.
          for (const p of validateAt(s.workflow.inline, limits, depth + 1).problems) {
            problems.push({ stepId: p.stepId || s.id, field: p.field.replace(/^workflow/, `${pathOf(i)}.workflow`), message: `${labelOf(i)} (sub-workflow): ${p.message}` });
          }
        }
      } else if (s.workflow.version !== undefined && !(Number.isInteger(s.workflow.version) && s.workflow.version >= 1)) {
        problems.push({ stepId: s.id, field: `${pathOf(i)}.workflow.version`, message: `${labelOf(i)}: workflow.version must be a positive whole number` });
      }
    } else if (!s.runner) problems.push({ stepId: s.id, field: `${pathOf(i)}.runner`, message: `${labelOf(i)}: runner is missing` });
    if (s.secrets) checkSecrets(s, pathOf(i), labelOf(i), problems);
    const bytes = Buffer.byteLength(s.payload, "utf8");
    if (bytes > maxPayloadBytes) {
      problems.push({ stepId: s.id, field: `${pathOf(i)}.payload`, message: `${labelOf(i)}: payload is ${bytes} bytes, more than the limit of ${maxPayloadBytes}` });
    }
    if (s.timeoutMs !== undefined) {
      const error = durationRangeError(s.timeoutMs, maxDurationMs);
      if (error) problems.push({ stepId: s.id, field: `${pathOf(i)}.timeout`, message: `${labelOf(i)}: timeout ${error}` });
    }
    if (s.retry) checkRetry(s.retry, `${pathOf(i)}.retry`, s.id, labelOf(i), maxDurationMs, problems);
    if (!s.retry && shared) {
      retry.push(shared);
    } else {
    const written = { ...def.retry, ...s.retry };
    const policy: RetryPolicy = { ...DEFAULT_RETRY, ...written };
    if (written.maxBackoffMs === undefined) {
      // Only the built-in max_backoff is in the way: a long initial_backoff raises it.
      policy.maxBackoffMs = Math.max(policy.maxBackoffMs, policy.initialBackoffMs);
    } else if (policy.maxBackoffMs < policy.initialBackoffMs && !(s.retry?.maxBackoffMs !== undefined && s.retry.initialBackoffMs !== undefined) && !(def.retry?.maxBackoffMs !== undefined && def.retry.initialBackoffMs !== undefined && s.retry?.maxBackoffMs === undefined && s.retry?.initialBackoffMs === undefined)) {
      // One bound from the step, the other from the workflow default (a pair written together is checked by checkRetry).
      problems.push({ stepId: s.id, field: `${pathOf(i)}.retry`, message: `${labelOf(i)}: retry.max_backoff (${policy.maxBackoffMs}ms) is less than initial_backoff (${policy.initialBackoffMs}ms) once the workflow's default retry is applied` });
    }
    retry.push(policy);
    if (!s.retry) shared = policy;
    }
    for (const [prop, key, list] of CEL_FIELDS) {
      const source = s[prop];
      if (source === undefined) {
        (list === "when" ? when : forEach).push(undefined);
        continue;
      }
      const compiled = source.trim() === "" ? { error: "the expression is empty" } : compileCel(source, limits.celBudget);
      if ("error" in compiled) {
        const what = compiled.error.startsWith(`${COST_PREFIX}exceeds`) ? `${key} ${compiled.error.slice(COST_PREFIX.length)}` : `${key} is not a valid CEL expression: ${compiled.error}`;
        problems.push({ stepId: s.id, field: `${pathOf(i)}.${key}`, message: `${labelOf(i)}: ${what}` });
        (list === "when" ? when : forEach).push(undefined);
      } else (list === "when" ? when : forEach).push(compiled.program);
    }
    if (s.maxParallel !== undefined) {
      if (s.forEach === undefined) {
        problems.push({ stepId: s.id, field: `${pathOf(i)}.max_parallel`, message: `${labelOf(i)}: max_parallel only applies to a for_each step` });
      } else if (!Number.isInteger(s.maxParallel) || s.maxParallel < 1) {
        problems.push({ stepId: s.id, field: `${pathOf(i)}.max_parallel`, message: `${labelOf(i)}: max_parallel must be a whole number of at least 1, got ${s.maxParallel}` });
      }
    }
  }

  // Edges between steps that have a usable, first-occurrence id.
  const n = steps.length;
  const parents: number[][] = Array.from({ length: n }, () => []);
  const children: number[][] = Array.from({ length: n }, () => []);
  // Computed once: looked up per edge, a Map lookup each time showed in profiles.
  const usableAt = new Uint8Array(n);
  for (let i = 0; i < n; i++) usableAt[i] = steps[i]!.id !== "" && index.get(steps[i]!.id) === i ? 1 : 0;
  const usable = (i: number) => usableAt[i] === 1;
  // Plain loops and no closure per edge: at 300,000 edges every allocation
  // here shows up as GC time, and the plan grew faster than linearly.
  // Field paths and labels are built only for a problem.
  const at = (i: number, j: number): { field: string; label: string } => ({ field: `${pathOf(i)}.depends_on[${j}]`, label: labelOf(i) });
  for (let i = 0; i < n; i++) {
    const s = steps[i]!;
    const deps = s.dependsOn;
    // Small lists (the usual) are checked for repeats by scanning, not with a Set.
    const seen = deps.length > 8 ? new Set<string>() : undefined;
    for (let j = 0; j < deps.length; j++) {
      const dep = deps[j]!;
      if (dep === s.id) {
        const { field, label } = at(i, j);
        problems.push({ stepId: s.id, field, message: `${label} depends on itself` });
        continue;
      }
      if (seen ? seen.has(dep) : s.dependsOn.indexOf(dep) < j) {
        const { field, label } = at(i, j);
        problems.push({ stepId: s.id, field, message: `${label} lists "${truncateId(dep)}" more than once in depends_on` });
        continue;
      }
      seen?.add(dep);
      const p = index.get(dep);
      if (p === undefined) {
        const { field, label } = at(i, j);
        problems.push({ stepId: s.id, field, message: `${label} depends on unknown step "${truncateId(dep)}"` });
        continue;
      }
      // on_failure steps run after the main steps; the two graphs are kept apart.
      if (i < mainCount && p >= mainCount) {
        const { field, label } = at(i, j);
        problems.push({ stepId: s.id, field, message: `${label} depends on on_failure step "${dep}"; main steps cannot depend on on_failure steps` });
        continue;
      }
      if (i >= mainCount && p < mainCount) {
        const { field, label } = at(i, j);
        problems.push({ stepId: s.id, field, message: `${label} is an on_failure step and depends on main step "${dep}"; on_failure steps read the failure as input.failure and may depend only on other on_failure steps` });
        continue;
      }
      // These input keys are taken by the engine (docs/semantics.md F3, H2).
      if (s.forEach !== undefined && (dep === "item" || dep === "index")) {
        const { field, label } = at(i, j);
        problems.push({ stepId: s.id, field, message: `${label} is a for_each step and depends on a step named "${dep}", which would clash with input.${dep}; rename that step` });
        continue;
      }
      if (i >= mainCount && dep === "failure") {
        const { field, label } = at(i, j);
        problems.push({ stepId: s.id, field, message: `${label} is an on_failure step and depends on a step named "failure", which would clash with input.failure; rename that step` });
        continue;
      }
      if (!usable(i)) continue;
      parents[i]!.push(p);
      children[p]!.push(i);
    }
  }

  // Kahn's algorithm: levels for the plan, and whatever is left is on or
  // behind a cycle.
  const level = new Array<number>(n).fill(0);
  const remaining = parents.map((p) => p.length);
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (usable(i) && remaining[i] === 0) queue.push(i);
  let done = 0;
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head]!;
    done++;
    for (const c of children[i]!) {
      if (level[i]! + 1 > level[c]!) level[c] = level[i]! + 1;
      if (--remaining[c]! === 0) queue.push(c);
    }
  }
  const usableCount = steps.reduce((k, _s, i) => k + (usable(i) ? 1 : 0), 0);
  if (done < usableCount) {
    for (const cycle of findCycles(n, parents, remaining)) {
      const path = [...cycle, cycle[0]!].map((i) => steps[i]!.id).join(" -> ");
      const first = steps[cycle[0]!]!;
      problems.push({ stepId: first.id, field: `${pathOf(cycle[0]!)}.depends_on`, message: `step "${first.id}" is in a dependency cycle: ${path} (each step depends on the one before it)` });
    }
  }

  if (problems.length > 0) return { problems };
  // on_failure steps run after every main step, so their levels follow.
  let mainDepth = 0;
  for (let i = 0; i < mainCount; i++) if (level[i]! + 1 > mainDepth) mainDepth = level[i]! + 1;
  for (let i = mainCount; i < n; i++) level[i] = level[i]! + mainDepth;
  const levels: string[][] = [];
  for (let i = 0; i < n; i++) (levels[level[i]!] ??= []).push(steps[i]!.id);
  return {
    problems,
    plan: { definition: def, steps, mainCount, retry, when, forEach, maxForEachItems: limits.maxForEachItems, index, parents, children, level, levels },
  };
}

/** Secret names: environment variable names, each once, on a step that runs a runner. */
function checkSecrets(s: StepDefinition, path: string, label: string, problems: Problem[]): void {
  if (s.workflow) {
    problems.push({ stepId: s.id, field: `${path}.secrets`, message: `${label}: a workflow step gets no secrets (declare them on the sub-workflow's steps)` });
    return;
  }
  const seen = new Set<string>();
  s.secrets!.forEach((name, j) => {
    if (!SECRET_NAME_PATTERN.test(name)) {
      problems.push({ stepId: s.id, field: `${path}.secrets[${j}]`, message: `${label}: secret name ${JSON.stringify(name.slice(0, 64))} must be an environment variable name (letters, digits and _, not starting with a digit or HORUS_)` });
    } else if (seen.has(name)) {
      problems.push({ stepId: s.id, field: `${path}.secrets[${j}]`, message: `${label}: secret "${name}" is listed more than once` });
    }
    seen.add(name);
  });
}

function checkRetry(r: RetryPolicyDefinition, path: string, stepId: string, label: string, maxDurationMs: number, problems: Problem[]): void {
  const bad = (key: string, what: string) => problems.push({ stepId, field: `${path}.${key}`, message: `${label}: retry.${key} ${what}` });
  if (r.maxAttempts !== undefined && !(Number.isInteger(r.maxAttempts) && r.maxAttempts >= 1 && r.maxAttempts <= MAX_ATTEMPTS_LIMIT)) {
    bad("max_attempts", `must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${r.maxAttempts}`);
  }
  for (const [key, ms] of [["initial_backoff", r.initialBackoffMs], ["max_backoff", r.maxBackoffMs]] as const) {
    const error = ms === undefined ? undefined : durationRangeError(ms, maxDurationMs);
    if (error) bad(key, error);
  }
  if (r.initialBackoffMs !== undefined && r.maxBackoffMs !== undefined && r.maxBackoffMs < r.initialBackoffMs) {
    bad("max_backoff", `(${r.maxBackoffMs}ms) is less than initial_backoff (${r.initialBackoffMs}ms)`);
  }
  if (r.multiplier !== undefined && !(r.multiplier >= 1 && r.multiplier <= 100)) bad("multiplier", `must be a number from 1 to 100, got ${r.multiplier}`);
  if (r.jitter !== undefined && !(r.jitter >= 0 && r.jitter <= 1)) bad("jitter", `must be a fraction from 0 to 1, got ${r.jitter}`);
}

/**
 * One cycle per group of stuck steps. Every step left with remaining > 0 after
 * Kahn's pass has an unprocessed parent, so walking parent links from it must
 * revisit a step: that loop is a cycle. Each step is walked at most once.
 */
function findCycles(n: number, parents: number[][], remaining: number[]): number[][] {
  const state = new Uint8Array(n); // 0 unvisited, 1 on current walk, 2 finished
  const cycles: number[][] = [];
  for (let start = 0; start < n; start++) {
    if (remaining[start] === 0 || state[start] !== 0) continue;
    const walk: number[] = [];
    let cur = start;
    while (state[cur] === 0) {
      state[cur] = 1;
      walk.push(cur);
      const next = parents[cur]!.find((p) => remaining[p]! > 0);
      if (next === undefined) break;
      cur = next;
    }
    if (state[cur] === 1) {
      // Parent links point backwards in execution order; reverse so the
      // printed path follows dependency direction (a -> b means b needs a).
      const from = walk.indexOf(cur);
      cycles.push(walk.slice(from).reverse());
    }
    for (const i of walk) state[i] = 2;
  }
  return cycles;
}

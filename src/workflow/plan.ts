// Graph checks and the execution plan, in O(steps + edges).
import { DEFAULT_LIMITS, STEP_ID_PATTERN, type Problem, type ValidationLimits, type WorkflowDefinition } from "./definition.js";

/**
 * A definition that passed validation, indexed for the engine: steps are
 * addressed by their position in `definition.steps`.
 */
export interface WorkflowPlan {
  definition: WorkflowDefinition;
  /** Step id -> index. */
  index: Map<string, number>;
  /** Direct dependencies of each step (indexes). */
  parents: number[][];
  /** Direct dependents of each step (indexes). */
  children: number[][];
  /** Topological level of each step: 0 for roots, else 1 + max(parent levels). */
  level: number[];
  /** Step ids grouped by level. */
  levels: string[][];
}

export interface ValidationResult {
  plan?: WorkflowPlan;
  problems: Problem[];
}

/** Checks every rule and, when there is no problem, returns the plan. */
export function validateAndPlan(def: WorkflowDefinition, limits: Partial<ValidationLimits> = {}): ValidationResult {
  const { maxSteps, maxPayloadBytes } = { ...DEFAULT_LIMITS, ...limits };
  const problems: Problem[] = [];
  const steps = def.steps;
  if (steps.length === 0) problems.push({ stepId: "", field: "workflow.steps", message: "the workflow has no steps" });
  if (steps.length > maxSteps) {
    problems.push({ stepId: "", field: "workflow.steps", message: `the workflow has ${steps.length} steps, more than the limit of ${maxSteps}` });
  }

  const index = new Map<string, number>();
  steps.forEach((s, i) => {
    const path = `workflow.steps[${i}]`;
    const label = s.id ? `step "${s.id}"` : path;
    if (!s.id) {
      problems.push({ stepId: "", field: `${path}.id`, message: `${path}: id is missing or empty` });
    } else if (!STEP_ID_PATTERN.test(s.id)) {
      problems.push({ stepId: s.id, field: `${path}.id`, message: `step "${s.id}": id must start with a letter or _ and contain only letters, digits, _ and - (at most 128)` });
    } else if (index.has(s.id)) {
      problems.push({ stepId: s.id, field: `${path}.id`, message: `step "${s.id}": duplicate id (also workflow.steps[${index.get(s.id)}])` });
    } else {
      index.set(s.id, i);
    }
    if (!s.runner) problems.push({ stepId: s.id, field: `${path}.runner`, message: `${label}: runner is missing` });
    const bytes = Buffer.byteLength(s.payload, "utf8");
    if (bytes > maxPayloadBytes) {
      problems.push({ stepId: s.id, field: `${path}.payload`, message: `${label}: payload is ${bytes} bytes, more than the limit of ${maxPayloadBytes}` });
    }
  });

  // Edges between steps that have a usable, first-occurrence id.
  const n = steps.length;
  const parents: number[][] = Array.from({ length: n }, () => []);
  const children: number[][] = Array.from({ length: n }, () => []);
  const usable = (i: number) => steps[i]!.id !== "" && index.get(steps[i]!.id) === i;
  steps.forEach((s, i) => {
    const seen = new Set<string>();
    s.dependsOn.forEach((dep, j) => {
      const field = `workflow.steps[${i}].depends_on[${j}]`;
      const label = s.id ? `step "${s.id}"` : `workflow.steps[${i}]`;
      if (dep === s.id) {
        problems.push({ stepId: s.id, field, message: `${label} depends on itself` });
        return;
      }
      if (seen.has(dep)) {
        problems.push({ stepId: s.id, field, message: `${label} lists "${dep}" more than once in depends_on` });
        return;
      }
      seen.add(dep);
      const p = index.get(dep);
      if (p === undefined) {
        problems.push({ stepId: s.id, field, message: `${label} depends on unknown step "${dep}"` });
        return;
      }
      if (!usable(i)) return;
      parents[i]!.push(p);
      children[p]!.push(i);
    });
  });

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
      problems.push({ stepId: first.id, field: `workflow.steps[${cycle[0]}].depends_on`, message: `step "${first.id}" is in a dependency cycle: ${path} (each step depends on the one before it)` });
    }
  }

  if (problems.length > 0) return { problems };
  const levels: string[][] = [];
  for (let i = 0; i < n; i++) (levels[level[i]!] ??= []).push(steps[i]!.id);
  return { problems, plan: { definition: def, index, parents, children, level, levels } };
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

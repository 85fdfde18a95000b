// Validate + plan a random DAG: step i depends on up to 3 distinct earlier
// steps (fewer only near the start), so ~3 edges per step.
import type { WorkflowDefinition } from "../src/workflow/definition.js";
import { validateAndPlan } from "../src/workflow/plan.js";

/** Deterministic PRNG (mulberry32), so every run plans the same DAGs. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomDag(n: number, seed = 42): WorkflowDefinition {
  const rand = rng(seed);
  const steps = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set<string>();
    const want = Math.min(3, i);
    while (deps.size < want) deps.add(`s${Math.floor(rand() * i)}`);
    steps.push({ id: `s${i}`, runner: "noop", payload: "", dependsOn: [...deps] });
  }
  return { name: `dag${n}`, steps, labels: {} };
}

/** Best of `runs` timings of validateAndPlan on an n-step DAG, in ms. */
export function timePlan(n: number, runs: number): { ms: number; edges: number } {
  const def = randomDag(n);
  const edges = def.steps.reduce((s, x) => s + x.dependsOn.length, 0);
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    const { plan, problems } = validateAndPlan(def, { maxSteps: Number.POSITIVE_INFINITY });
    const ms = performance.now() - start;
    if (!plan) throw new Error(`random DAG did not plan: ${problems[0]?.message}`);
    best = Math.min(best, ms);
  }
  return { ms: best, edges };
}

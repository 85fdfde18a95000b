// Property tests: random DAGs with random trigger rules, conditions, retry
// policies and outcomes, run in random order. Whatever happens, the workflow
// ends, every step's fate obeys its trigger rule (docs/semantics.md T0-T6),
// every emitted transition is legal, and RetryWorkflow re-runs only what did
// not succeed (X1).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { transition, type Command, type EngineInput, type EngineState, type Effects } from "../../src/engine/engine.js";
import { StepState as S, WorkflowState as W, canTransitionStep, isTerminalWorkflow } from "../../src/engine/states.js";
import { TRIGGER_RULES, type StepDefinition, type TriggerRule } from "../../src/workflow/definition.js";
import { pendingState } from "./helpers.js";

interface StepShape {
  deps: number[];
  trigger: TriggerRule;
  skip: boolean;
  maxAttempts: number;
}

const dagArb = fc
  .integer({ min: 1, max: 25 })
  .chain((n) =>
    fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.record({
          deps: i === 0 ? fc.constant<number[]>([]) : fc.uniqueArray(fc.integer({ min: 0, max: i - 1 }), { maxLength: Math.min(3, i) }),
          trigger: fc.constantFrom(...TRIGGER_RULES),
          skip: fc.integer({ min: 0, max: 9 }).map((v) => v < 2),
          maxAttempts: fc.integer({ min: 1, max: 3 }),
        }),
      ),
    ),
  );

function build(shapes: StepShape[]): EngineState {
  const steps: StepDefinition[] = shapes.map((s, i) => ({
    id: `s${i}`,
    runner: "noop",
    payload: "",
    dependsOn: s.deps.map((d) => `s${d}`),
    trigger: s.trigger,
    ...(s.skip ? { when: "false" } : {}),
    retry: { maxAttempts: s.maxAttempts, initialBackoffMs: 10 },
  }));
  return pendingState({ name: "p", labels: {}, steps }, { id: "wf" });
}

/** Small deterministic PRNG so a failing case replays from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs commands in random order with random outcomes until nothing is left; checks every event. */
function drive(e: EngineState, input: EngineInput, random: () => number, failRate: number): void {
  const last = new Map<string, S>(e.record.steps.map((s) => [s.id, s.state]));
  const first = transition(e, input, 10_000);
  const pool: Command[] = [];
  let now = 10_001;
  const take = (fx: Effects) => {
    for (const ev of fx.events) {
      if (ev.kind !== "step") continue;
      const prev = last.get(ev.stepId)!;
      expect(canTransitionStep(prev, ev.state), `${ev.stepId}: ${S[prev]} -> ${S[ev.state]}`).toBe(true);
      last.set(ev.stepId, ev.state);
    }
    pool.push(...fx.commands);
  };
  take(first);
  let guard = 0;
  while (pool.length > 0) {
    if (++guard > 10_000) throw new Error("the run does not end");
    const c = pool.splice(Math.floor(random() * pool.length), 1)[0]!;
    now += 1;
    if (c.type === "wake") take(transition(e, c.input, Math.max(now, c.at)));
    else if (c.type === "dispatch") {
      const r = random();
      if (r < 0.05) {
        take(transition(e, { type: "accepted", attemptId: c.attemptId, supervisor: "s" }, now));
        take(transition(e, { type: "lost", attemptId: c.attemptId, reason: "gone" }, now));
      } else if (r < 0.05 + failRate) {
        take(transition(e, { type: "finished", attemptId: c.attemptId, ok: false, error: { code: "X", message: "x" } }, now));
      } else {
        take(transition(e, { type: "accepted", attemptId: c.attemptId, supervisor: "s" }, now));
        take(transition(e, { type: "finished", attemptId: c.attemptId, ok: true, output: c.step }, now));
      }
    }
  }
}

type Class = "succeeded" | "failed" | "skipped";
const classOf = (st: S, code?: string): Class => (st === S.SUCCEEDED ? "succeeded" : st === S.SKIPPED && code !== "DEPENDENCY_FAILED" ? "skipped" : "failed");

/** The trigger rule on final parent outcomes: does the step run? */
function ruleRuns(rule: TriggerRule, parents: Class[]): boolean {
  if (parents.length === 0) return true;
  switch (rule) {
    case "all_success":
      return parents.every((p) => p === "succeeded");
    case "all_done":
      return true;
    case "one_success":
      return parents.some((p) => p === "succeeded");
    case "one_failed":
      return parents.some((p) => p === "failed");
    case "none_failed":
      return parents.every((p) => p !== "failed");
  }
}

function checkFinalState(e: EngineState, shapes: StepShape[]): void {
  const steps = e.record.steps;
  expect(isTerminalWorkflow(e.record.state)).toBe(true);
  expect(e.unfinished).toBe(0);
  shapes.forEach((shape, i) => {
    const st = steps[i]!;
    const parents = shape.deps.map((d) => classOf(steps[d]!.state, steps[d]!.error?.code));
    const runs = ruleRuns(shape.trigger, parents);
    const label = `s${i} (${shape.trigger}, parents ${parents}) is ${S[st.state]} ${st.error?.code ?? ""}`;
    if (!runs) {
      expect(st.state, label).toBe(S.SKIPPED);
      const expected = shape.trigger === "one_failed" ? "NO_FAILURE" : parents.some((p) => p === "failed") ? "DEPENDENCY_FAILED" : "DEPENDENCY_SKIPPED";
      expect(st.error?.code, label).toBe(expected);
    } else if (shape.skip) {
      expect([S[st.state], st.error?.code], label).toEqual(["SKIPPED", "CONDITION_FALSE"]);
    } else {
      expect([S.SUCCEEDED, S.FAILED], label).toContain(st.state);
      // Counted attempts never exceed the budget.
      expect(st.attempts.filter((a) => a.error?.code === "X").length).toBeLessThanOrEqual(shape.maxAttempts);
    }
  });
  const anyFailed = steps.some((s) => s.state === S.FAILED);
  expect(W[e.record.state]).toBe(anyFailed ? "FAILED" : "SUCCEEDED");
}

describe("properties", () => {
  it("T0-T6, R1-R5: every random workflow ends and each step's fate obeys its trigger rule", () => {
    fc.assert(
      fc.property(dagArb, fc.integer(), (shapes, seed) => {
        const e = build(shapes);
        const random = rng(seed);
        drive(e, { type: "start" }, random, 0.25);
        checkFinalState(e, shapes);
      }),
      { numRuns: 300 },
    );
  });

  it("X1: RetryWorkflow after a failure re-runs only steps that did not succeed, and can end in success", () => {
    fc.assert(
      fc.property(dagArb, fc.integer(), (shapes, seed) => {
        const e = build(shapes);
        const random = rng(seed);
        drive(e, { type: "start" }, random, 0.3);
        if (e.record.state !== W.FAILED) return;
        const before = e.record.steps.map((s) => ({ state: s.state, attempts: s.attempts.length, output: s.output }));
        drive(e, { type: "retryWorkflow" }, random, 0);
        checkFinalState(e, shapes);
        // Steps that succeeded and are not downstream of a reset step kept their attempts and output.
        const reset = new Set<number>();
        shapes.forEach((sh, i) => {
          if (before[i]!.state !== S.SUCCEEDED || sh.deps.some((d) => reset.has(d))) reset.add(i);
        });
        shapes.forEach((_, i) => {
          if (reset.has(i)) return;
          expect(e.record.steps[i]!.attempts.length).toBe(before[i]!.attempts);
          expect(e.record.steps[i]!.output).toEqual(before[i]!.output);
        });
        // With no failures the second time, nothing fails.
        expect(e.record.steps.some((s) => s.state === S.FAILED)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

// Fan-out: for_each (docs/semantics.md F1-F9). An expanded step's instances
// are records appended after all others; a FanOut keeps which are still to
// launch and how many run or succeeded, so launching, collecting and failing
// cost O(1) per instance (F8). These functions say when the step itself has
// ended and leave propagating that to readiness.ts, which owns the settle
// work list.
import { StepFailureCode } from "../common/failure-codes.js";
import type { JsonValue } from "../common/json.js";
import { makeReady } from "./attempts.js";
import type { Effects } from "./contract.js";
import type { EngineState, FanOut } from "./engine-state.js";
import type { StepFailure } from "./model.js";
import { setStep } from "./records.js";
import { StepState as S } from "./states.js";

/**
 * F1-F2: appends one PENDING record per item and launches up to max_parallel
 * of them. True when the step succeeded at once (F5: no items).
 */
export function expand(state: EngineState, fx: Effects, i: number, items: JsonValue[], now: number): boolean {
  const wf = state.record;
  const step = wf.steps[i]!;
  const first = wf.steps.length;
  const fan: FanOut = { waiting: new Array<number>(items.length), head: 0, active: 0, succeeded: 0 };
  for (let k = 0; k < items.length; k++) {
    wf.steps.push({ id: step.id, state: S.PENDING, attempts: [], instanceOf: i, instance: k, item: items[k]! });
    fx.changed.add(first + k);
    fan.waiting[k] = first + k;
  }
  state.unfinished += items.length;
  if (i < state.plan.mainCount) state.mainUnfinished += items.length;
  step.instances = { first, count: items.length };
  state.fanOuts.set(i, fan);
  setStep(state, fx, i, S.RUNNING, now);
  step.startedAt ??= now;
  launchInstances(state, fx, i, fan, now);
  return collectIfDone(state, fx, i, fan, now);
}

/** X2: a step RetryWorkflow left expanded runs its instances again. True when it succeeded at once. */
export function resume(state: EngineState, fx: Effects, i: number, now: number): boolean {
  setStep(state, fx, i, S.RUNNING, now);
  const fan = state.fanOuts.get(i)!;
  launchInstances(state, fx, i, fan, now);
  return collectIfDone(state, fx, i, fan, now);
}

function launchInstances(state: EngineState, fx: Effects, i: number, fan: FanOut, now: number): void {
  const limit = state.plan.steps[i]!.maxParallel ?? Infinity;
  while (fan.head < fan.waiting.length && fan.active < limit && state.record.steps[i]!.state === S.RUNNING) {
    const r = fan.waiting[fan.head++]!;
    fan.active++;
    makeReady(state, fx, r, now);
  }
}

/** F4: the step succeeds once every instance has, with the outputs in item order (F5: also for zero items). */
function collectIfDone(state: EngineState, fx: Effects, i: number, fan: FanOut, now: number): boolean {
  const step = state.record.steps[i]!;
  if (step.state !== S.RUNNING || fan.succeeded !== step.instances!.count) return false;
  const out: JsonValue[] = new Array(step.instances!.count);
  for (let k = 0; k < out.length; k++) out[k] = state.record.steps[step.instances!.first + k]!.output ?? null;
  step.output = out;
  setStep(state, fx, i, S.SUCCEEDED, now);
  return true;
}

/**
 * Instance record `i` ended: launches the next one, and says what that means
 * for its for_each step: "succeeded" (every instance has), the error the
 * step fails with (F6), or undefined (it runs on, or had already ended).
 */
export function instanceEnded(state: EngineState, fx: Effects, i: number, now: number): "succeeded" | StepFailure | undefined {
  const wf = state.record;
  const inst = wf.steps[i]!;
  const p = inst.instanceOf!;
  const parent = wf.steps[p]!;
  const fan = state.fanOuts.get(p);
  if (!fan) return undefined;
  fan.active--;
  if (inst.state === S.SUCCEEDED) fan.succeeded++;
  // The step already failed (F6): this was a running instance let finish.
  if (parent.state !== S.RUNNING) return undefined;
  if (inst.state !== S.SUCCEEDED) {
    // F6: one failed instance fails the step; instances not started are
    // skipped, running ones are let finish.
    while (fan.head < fan.waiting.length) {
      const r = fan.waiting[fan.head++]!;
      wf.steps[r]!.error = { code: StepFailureCode.DEPENDENCY_FAILED, message: `skipped because instance ${inst.instance} of step "${parent.id}" failed` };
      setStep(state, fx, r, S.SKIPPED, now);
    }
    return { code: inst.error?.code ?? StepFailureCode.ERROR, message: `instance ${inst.instance} failed: ${inst.error?.message ?? ""}` };
  }
  launchInstances(state, fx, p, fan, now);
  return collectIfDone(state, fx, p, fan, now) ? "succeeded" : undefined;
}

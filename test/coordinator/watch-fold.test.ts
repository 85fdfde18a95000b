// latest_only: which events of a batched watch message are sent. Each case
// is a message's events (as "step:state:attempt" with extras) and the
// cursors kept.
import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../../src/engine/model.js";
import { StepState as S, WorkflowState as W } from "../../src/engine/states.js";
import { latestOnly } from "../../src/coordinator/watch-fold.js";

let cursor = 0;
const step = (stepId: string, state: S, attempt = 1, extra: Partial<Extract<StoredEvent, { kind: "step" }>> = {}): StoredEvent => ({
  kind: "step",
  time: 1_000,
  stepId,
  state,
  attempt,
  ...extra,
  cursor: String(++cursor),
});
const wf = (state: W): StoredEvent => ({ kind: "workflow", time: 1_000, state, cursor: String(++cursor) });

/** The kept events, as the positions they had in the message. */
function kept(events: StoredEvent[]): number[] {
  const at = new Map(events.map((e, i) => [e, i]));
  return latestOnly(events).map((e) => at.get(e)!);
}

describe("latestOnly", () => {
  const cases: Array<[string, () => StoredEvent[], number[]]> = [
    ["a noop step's four events: the last", () => [step("a", S.READY), step("a", S.DISPATCHED, 1, { supervisor: "s" }), step("a", S.RUNNING, 1, { supervisor: "s" }), step("a", S.SUCCEEDED, 1, { supervisor: "s", output: 1 })], [3]],
    ["a step still running at the message's end: its latest state", () => [step("a", S.READY), step("a", S.DISPATCHED), step("a", S.RUNNING)], [2]],
    ["a chain: each step's last event, in commit order", () => [wf(W.RUNNING), step("a", S.READY), step("a", S.SUCCEEDED), step("b", S.READY), step("b", S.RUNNING), step("b", S.SUCCEEDED), wf(W.SUCCEEDED)], [0, 2, 5, 6]],
    ["the workflow's own changes are all kept", () => [wf(W.RUNNING), wf(W.FAILED), wf(W.RUNNING)], [0, 1, 2]],
    ["a failed attempt and its retry: the failure and the retry wait are kept", () => [step("a", S.RUNNING, 1), step("a", S.PENDING, 1, { nextRetryAt: 2_000, error: { code: "RUNNER_ERROR", message: "x" } }), step("a", S.READY, 2), step("a", S.RUNNING, 2)], [1, 3]],
    ["another attempt does not supersede: attempt 1's RUNNING stays", () => [step("a", S.RUNNING, 1), step("a", S.RUNNING, 2)], [0, 1]],
    ["a wait reason is kept, though a later event follows", () => [step("a", S.READY, 1, { waitingReason: "no supervisor offers runner x" }), step("a", S.DISPATCHED)], [0, 1]],
    ["an error on a progress state is kept", () => [step("a", S.READY, 1, { error: { code: "ATTEMPT_LOST", message: "lost" } }), step("a", S.DISPATCHED)], [0, 1]],
    ["terminal states are kept even when another follows (a retried workflow)", () => [step("a", S.FAILED), step("a", S.READY, 2), step("a", S.SUCCEEDED, 2)], [0, 2]],
    ["for_each instances are steps of their own", () => [step("e", S.READY, 1, { instance: 0 }), step("e", S.READY, 1, { instance: 1 }), step("e", S.SUCCEEDED, 1, { instance: 0 })], [1, 2]],
    ["the parent of instances and an instance are not the same", () => [step("e", S.RUNNING), step("e", S.SUCCEEDED, 1, { instance: 0 })], [0, 1]],
    ["steps interleaved: each keeps its own last", () => [step("a", S.READY), step("b", S.READY), step("a", S.RUNNING), step("b", S.SUCCEEDED)], [2, 3]],
    ["an empty message stays empty", () => [], []],
  ];
  for (const [name, events, want] of cases) it(name, () => expect(kept(events())).toEqual(want));

  it("always keeps the last event, so a message's cursor is its last event's", () => {
    const events = [step("a", S.READY), step("a", S.DISPATCHED), step("a", S.RUNNING)];
    expect(latestOnly(events).at(-1)).toBe(events.at(-1));
  });
});

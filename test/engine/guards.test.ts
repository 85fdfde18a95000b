// Each input handler declares the states it applies from (src/engine/
// handler.ts); in any other state the input is late, early or repeated and
// must change nothing: no event, no command, no record written.
import { describe, expect, it } from "vitest";
import type { EngineInput, EngineState } from "../../src/engine/engine.js";
import { attemptId, fromYaml, state, step, wfState } from "./helpers.js";

type Where = "PENDING workflow" | "READY" | "DISPATCHED" | "RUNNING";

/** A one-step workflow brought to `where`. */
function at(where: Where): EngineState {
  const e = fromYaml("    - {id: a, runner: noop, timeout: 5s}\n");
  if (where === "PENDING workflow") return e;
  step(e, { type: "start" });
  if (where === "READY") return e;
  step(e, { type: "accepted", attemptId: attemptId(e, "a"), supervisor: "s" });
  if (where === "DISPATCHED") return e;
  step(e, { type: "started", attemptId: attemptId(e, "a") });
  return e;
}

const current = (e: EngineState) => e.record.steps[0]!.attempts.at(-1)?.attemptId ?? "wf_1.a.1";

const cases: Array<[string, Where, (e: EngineState) => EngineInput]> = [
  ["start", "READY", () => ({ type: "start" })],
  ["accepted", "DISPATCHED", (e) => ({ type: "accepted", attemptId: current(e), supervisor: "other" })],
  ["accepted", "RUNNING", (e) => ({ type: "accepted", attemptId: current(e), supervisor: "other" })],
  ["started", "READY", (e) => ({ type: "started", attemptId: current(e) })],
  ["started", "RUNNING", (e) => ({ type: "started", attemptId: current(e) })],
  ["childStarted", "DISPATCHED", (e) => ({ type: "childStarted", attemptId: current(e), workflowId: "c" })],
  ["attemptTimedOut", "READY", (e) => ({ type: "attemptTimedOut", attemptId: current(e) })],
  ["waiting", "DISPATCHED", (e) => ({ type: "waiting", attemptId: current(e), reason: "full" })],
  ["waiting", "RUNNING", (e) => ({ type: "waiting", attemptId: current(e), reason: "full" })],
  ["retryDue", "READY", () => ({ type: "retryDue", step: 0, attempt: 1 })],
  ["workflowTimedOut", "PENDING workflow", () => ({ type: "workflowTimedOut", startedAt: 0 })],
  ["finished", "PENDING workflow", () => ({ type: "finished", attemptId: "wf_1.a.1", ok: true, output: 1 })],
];

describe("inputs outside their handler's source states change nothing", () => {
  for (const [type, where, input] of cases) {
    it(`${type} with the step ${where}`, () => {
      const e = at(where);
      const before = JSON.stringify(e.record);
      const fx = step(e, input(e), 99);
      expect(fx.events).toEqual([]);
      expect(fx.commands).toEqual([]);
      expect([...fx.changed]).toEqual([]);
      expect(fx.workflowChanged).toBe(false);
      expect(JSON.stringify(e.record)).toBe(before);
    });
  }

  it("the same inputs in their source states do change the workflow", () => {
    const e = at("READY");
    expect(state(e, "a")).toBe("READY");
    expect(step(e, { type: "accepted", attemptId: current(e), supervisor: "s" }).events).not.toEqual([]);
    expect(step(e, { type: "started", attemptId: current(e) }).events).not.toEqual([]);
    expect(step(e, { type: "attemptTimedOut", attemptId: current(e) }, 99).commands).not.toEqual([]);
    expect(wfState(e)).toBe("FAILED");
  });
});

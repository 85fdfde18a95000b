import { describe, expect, it } from "vitest";
import { createEngineState, transition, type Command, type EngineState } from "../../src/engine/engine.js";
import { StepState as S, WorkflowState as W, canTransitionStep } from "../../src/engine/states.js";
import { pendingState } from "./helpers.js";

/** Builds engine state for steps given as "id:dep1,dep2". */
function setup(...specs: string[]): EngineState {
  const steps = specs.map((s) => {
    const [id, deps] = s.split(":");
    return { id: id!, runner: "noop", payload: "", dependsOn: deps ? deps.split(",") : [] };
  });
  return pendingState({ name: "t", labels: {}, steps });
}

const dispatched = (cmds: Command[]) => cmds.filter((c) => c.type === "dispatch").map((c) => (c as { attemptId: string }).attemptId);
const state = (e: EngineState, id: string) => S[e.record.steps.find((s) => s.id === id)!.state];

/** Accepts, starts and finishes a step's current attempt successfully. */
function succeed(e: EngineState, id: string, output: unknown = id) {
  const attemptId = `wf_1.${id}.${e.record.steps.find((s) => s.id === id)!.attempts.length}`;
  transition(e, { type: "accepted", attemptId, supervisor: "sup" }, 1);
  transition(e, { type: "started", attemptId }, 2);
  return transition(e, { type: "finished", attemptId, ok: true, output: output as never }, 3);
}

describe("engine", () => {
  it("start makes the roots ready and dispatches them", () => {
    const e = setup("a", "b", "c:a,b");
    const fx = transition(e, { type: "start" }, 0);
    expect(e.record.state).toBe(W.RUNNING);
    expect(dispatched(fx.commands)).toEqual(["wf_1.a.1", "wf_1.b.1"]);
    expect(state(e, "c")).toBe("PENDING");
    expect(fx.events[0]).toMatchObject({ kind: "workflow", state: W.RUNNING });
  });

  it("a step becomes ready only when all its dependencies succeeded", () => {
    const e = setup("a", "b", "c:a,b");
    transition(e, { type: "start" }, 0);
    expect(dispatched(succeed(e, "a").commands)).toEqual([]);
    expect(state(e, "c")).toBe("PENDING");
    expect(dispatched(succeed(e, "b").commands)).toEqual(["wf_1.c.1"]);
    expect(state(e, "c")).toBe("READY");
  });

  it("walks a step through DISPATCHED and RUNNING to SUCCEEDED with attempt details", () => {
    const e = setup("a");
    transition(e, { type: "start" }, 0);
    transition(e, { type: "accepted", attemptId: "wf_1.a.1", supervisor: "s1" }, 5);
    expect(state(e, "a")).toBe("DISPATCHED");
    transition(e, { type: "started", attemptId: "wf_1.a.1" }, 6);
    expect(state(e, "a")).toBe("RUNNING");
    const fx = transition(e, { type: "finished", attemptId: "wf_1.a.1", ok: true, output: { x: 1 } }, 9);
    const step = e.record.steps[0]!;
    expect(step).toMatchObject({ state: S.SUCCEEDED, output: { x: 1 }, supervisor: "s1", startedAt: 6, finishedAt: 9 });
    expect(step.attempts).toEqual([{ number: 1, attemptId: "wf_1.a.1", state: S.SUCCEEDED, supervisor: "s1", dispatchedAt: 5, startedAt: 6, finishedAt: 9 }]);
    expect(e.record.state).toBe(W.SUCCEEDED);
    expect(fx.events.map((ev) => ev.kind)).toEqual(["step", "workflow"]);
  });

  it("accepts a job that finishes before its acceptance is seen", () => {
    const e = setup("a", "b:a");
    transition(e, { type: "start" }, 0);
    const fx = transition(e, { type: "finished", attemptId: "wf_1.a.1", ok: true, output: 1 }, 1);
    expect(state(e, "a")).toBe("SUCCEEDED");
    expect(dispatched(fx.commands)).toEqual(["wf_1.b.1"]);
    // The late acceptance changes nothing.
    expect(transition(e, { type: "accepted", attemptId: "wf_1.a.1", supervisor: "s" }, 2).events).toEqual([]);
  });

  it("a failure skips everything downstream, lets independent branches finish, then fails the workflow", () => {
    const e = setup("a", "b:a", "c:b", "x", "y:x");
    transition(e, { type: "start" }, 0);
    transition(e, { type: "accepted", attemptId: "wf_1.a.1", supervisor: "s" }, 1);
    const fx = transition(e, { type: "finished", attemptId: "wf_1.a.1", ok: false, error: { code: "SCRIPT_ERROR", message: "boom" } }, 2);
    expect(state(e, "a")).toBe("FAILED");
    expect(state(e, "b")).toBe("SKIPPED");
    expect(state(e, "c")).toBe("SKIPPED");
    expect(e.record.steps[1]!.error).toEqual({ code: "DEPENDENCY_FAILED", message: 'skipped because step "a" failed' });
    expect(e.record.state).toBe(W.RUNNING); // x and y still run
    expect(fx.commands).toEqual([]);
    succeed(e, "x");
    expect(state(e, "y")).toBe("READY");
    succeed(e, "y");
    expect(e.record.state).toBe(W.FAILED);
    expect(e.record.error).toBe('step "a" failed: SCRIPT_ERROR: boom');
  });

  it("a step with one failed parent is skipped even while another parent runs", () => {
    const e = setup("a", "b", "c:a,b");
    transition(e, { type: "start" }, 0);
    transition(e, { type: "rejected", attemptId: "wf_1.a.1", error: { code: "NO_RUNNER", message: "none" } }, 1);
    expect(state(e, "c")).toBe("SKIPPED");
    expect(state(e, "b")).toBe("READY");
    succeed(e, "b");
    expect(state(e, "c")).toBe("SKIPPED");
    expect(e.record.state).toBe(W.FAILED);
  });

  it("cancel cancels pending and running steps and asks supervisors to stop running jobs", () => {
    const e = setup("a", "b", "c:a,b");
    transition(e, { type: "start" }, 0);
    transition(e, { type: "accepted", attemptId: "wf_1.a.1", supervisor: "s1" }, 1);
    transition(e, { type: "started", attemptId: "wf_1.a.1" }, 2);
    const fx = transition(e, { type: "cancel", reason: "user" }, 3);
    expect(e.record.state).toBe(W.CANCELLED);
    expect(e.record.steps.map((s) => S[s.state])).toEqual(["CANCELLED", "CANCELLED", "CANCELLED"]);
    expect(fx.commands).toEqual([
      { type: "cancelJob", attemptId: "wf_1.a.1", supervisor: "s1" },
      { type: "cancelJob", attemptId: "wf_1.b.1" },
    ]);
    // A result arriving afterwards is ignored; a late acceptance is stopped.
    expect(transition(e, { type: "finished", attemptId: "wf_1.a.1", ok: true, output: 1 }, 4).events).toEqual([]);
    expect(transition(e, { type: "accepted", attemptId: "wf_1.b.1", supervisor: "s2" }, 5).commands).toEqual([{ type: "cancelJob", attemptId: "wf_1.b.1", supervisor: "s2" }]);
    expect(transition(e, { type: "cancel", reason: "again" }, 6).events).toEqual([]);
  });

  it("a lost attempt is dispatched again as a new attempt", () => {
    const e = setup("a");
    transition(e, { type: "start" }, 0);
    transition(e, { type: "accepted", attemptId: "wf_1.a.1", supervisor: "s1" }, 1);
    const fx = transition(e, { type: "lost", attemptId: "wf_1.a.1", reason: "supervisor restarted" }, 2);
    expect(dispatched(fx.commands)).toEqual(["wf_1.a.2"]);
    expect(e.record.steps[0]!.attempts.map((a) => [a.number, S[a.state], a.error?.code])).toEqual([
      [1, "FAILED", "ATTEMPT_LOST"],
      [2, "READY", undefined],
    ]);
    // The old attempt's result no longer counts.
    expect(transition(e, { type: "finished", attemptId: "wf_1.a.1", ok: true, output: 1 }, 3).events).toEqual([]);
    succeed(e, "a");
    expect(e.record.state).toBe(W.SUCCEEDED);
  });

  it("ignores duplicate and unknown events", () => {
    const e = setup("a", "b:a");
    transition(e, { type: "start" }, 0);
    succeed(e, "a");
    const again = transition(e, { type: "finished", attemptId: "wf_1.a.1", ok: true, output: 2 }, 9);
    expect(again).toMatchObject({ events: [], commands: [] });
    expect(e.record.steps[0]!.output).toBe("a");
    expect(transition(e, { type: "started", attemptId: "nope" }, 9).events).toEqual([]);
    expect(transition(e, { type: "start" }, 9).events).toEqual([]);
  });

  it("resumes from a stored record: counters are rebuilt", () => {
    const e = setup("a", "b", "c:a,b");
    transition(e, { type: "start" }, 0);
    succeed(e, "a");
    const copy = createEngineState(structuredClone(e.record), e.plan);
    expect(copy.unfinished).toBe(2);
    expect(Array.from(copy.remaining)).toEqual([0, 0, 1]);
    expect(copy.byAttempt.get("wf_1.b.1")).toBe(1);
    expect(dispatched(succeed(copy, "b").commands)).toEqual(["wf_1.c.1"]);
  });

  it("every emitted step transition is legal, over a random DAG run to completion", () => {
    const n = 300;
    const specs = Array.from({ length: n }, (_, i) => {
      const deps = new Set<number>();
      for (let k = 0; k < 3 && i > 0; k++) deps.add(Math.floor(Math.random() * i));
      return `s${i}${deps.size ? `:${[...deps].map((d) => `s${d}`).join(",")}` : ""}`;
    });
    const e = setup(...specs);
    const seen = new Map<string, S>();
    const check = (fx: ReturnType<typeof transition>) => {
      for (const ev of fx.events) {
        if (ev.kind !== "step") continue;
        const prev = seen.get(ev.stepId) ?? S.PENDING;
        expect(canTransitionStep(prev, ev.state), `${ev.stepId} ${S[prev]} -> ${S[ev.state]}`).toBe(true);
        seen.set(ev.stepId, ev.state);
      }
      return fx;
    };
    let queue = dispatched(check(transition(e, { type: "start" }, 0)).commands);
    let rounds = 0;
    while (queue.length > 0) {
      rounds++;
      const next: string[] = [];
      for (const attemptId of queue) {
        check(transition(e, { type: "accepted", attemptId, supervisor: "s" }, rounds));
        // Fail roughly one step in fifty.
        const fail = Math.random() < 0.02;
        const fx = fail
          ? transition(e, { type: "finished", attemptId, ok: false, error: { code: "X", message: "x" } }, rounds)
          : transition(e, { type: "finished", attemptId, ok: true, output: rounds }, rounds);
        next.push(...dispatched(check(fx).commands));
      }
      queue = next;
    }
    expect(e.unfinished).toBe(0);
    expect([W.SUCCEEDED, W.FAILED]).toContain(e.record.state);
    const failed = e.record.steps.some((s) => s.state === S.FAILED);
    expect(e.record.state).toBe(failed ? W.FAILED : W.SUCCEEDED);
    // Nothing ran whose dependencies did not all succeed.
    e.record.steps.forEach((s, i) => {
      if (s.state === S.SUCCEEDED) for (const p of e.plan.parents[i]!) expect(e.record.steps[p]!.state).toBe(S.SUCCEEDED);
    });
  });
});

// One table-driven test per row of docs/semantics.md; each test names its row id.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { backoffMs, createEngineState, jobInput, pendingTimers, transition } from "../../src/engine/engine.js";
import { quarantine, quarantineError } from "../../src/engine/quarantine.js";
import type { JsonMap } from "../../src/common/json.js";
import { StepState as S, WorkflowState as W } from "../../src/engine/states.js";
import { parseWorkflowYaml, validateAndPlan } from "../../src/workflow/index.js";
import { attemptId, fail, fromYaml, ofType, rec, state, step, succeed, wfState } from "./helpers.js";

const noop = (id: string, extra = "") => `    - {id: ${id}, runner: noop${extra ? `, ${extra}` : ""}}\n`;

describe("T: trigger rules and skip propagation", () => {
  // Parents p0.. are roots; "ok" succeeds, "fail" fails, "skip" is skipped by
  // `when: false` (skipped class), "dfail" is skipped because its own parent
  // failed (failed class, T0). `expect` is the child's fate.
  type Outcome = "ok" | "fail" | "skip" | "dfail";
  const table: Array<{ row: string; rule: string; parents: Outcome[]; expect: string }> = [
    { row: "T1", rule: "all_success", parents: ["ok", "ok"], expect: "READY" },
    { row: "T1", rule: "all_success", parents: ["ok", "fail"], expect: "SKIPPED:DEPENDENCY_FAILED" },
    { row: "T1", rule: "all_success", parents: ["ok", "skip"], expect: "SKIPPED:DEPENDENCY_SKIPPED" },
    { row: "T1", rule: "all_success", parents: ["skip", "fail"], expect: "SKIPPED:DEPENDENCY_FAILED" },
    { row: "T1", rule: "all_success", parents: ["ok", "dfail"], expect: "SKIPPED:DEPENDENCY_FAILED" },
    { row: "T2", rule: "all_done", parents: ["ok", "fail"], expect: "READY" },
    { row: "T2", rule: "all_done", parents: ["skip", "skip"], expect: "READY" },
    { row: "T2", rule: "all_done", parents: ["dfail", "fail"], expect: "READY" },
    { row: "T3", rule: "one_success", parents: ["fail", "ok"], expect: "READY" },
    { row: "T3", rule: "one_success", parents: ["skip", "skip"], expect: "SKIPPED:DEPENDENCY_SKIPPED" },
    { row: "T3", rule: "one_success", parents: ["skip", "fail"], expect: "SKIPPED:DEPENDENCY_FAILED" },
    { row: "T4", rule: "one_failed", parents: ["ok", "fail"], expect: "READY" },
    { row: "T4", rule: "one_failed", parents: ["ok", "dfail"], expect: "READY" },
    { row: "T4", rule: "one_failed", parents: ["ok", "skip"], expect: "SKIPPED:NO_FAILURE" },
    { row: "T5", rule: "none_failed", parents: ["ok", "skip"], expect: "READY" },
    { row: "T5", rule: "none_failed", parents: ["skip", "skip"], expect: "READY" },
    { row: "T5", rule: "none_failed", parents: ["ok", "fail"], expect: "SKIPPED:DEPENDENCY_FAILED" },
    { row: "T5", rule: "none_failed", parents: ["ok", "dfail"], expect: "SKIPPED:DEPENDENCY_FAILED" },
  ];
  for (const t of table) {
    for (const order of ["forward", "reverse"] as const) {
      it(`${t.row}: ${t.rule} with parents [${t.parents}] -> ${t.expect} (${order} order, T6)`, () => {
        let yaml = "";
        const names = t.parents.map((o, k) => {
          if (o === "skip") yaml += noop(`p${k}`, `when: "false"`);
          else if (o === "dfail") yaml += noop(`g${k}`) + noop(`p${k}`, `depends_on: [g${k}]`);
          else yaml += noop(`p${k}`);
          return `p${k}`;
        });
        yaml += noop("c", `depends_on: [${names.join(", ")}], trigger: ${t.rule}`);
        const e = fromYaml(yaml);
        step(e, { type: "start" });
        const ks = t.parents.map((_, k) => k);
        if (order === "reverse") ks.reverse();
        for (const k of ks) {
          const o = t.parents[k];
          if (o === "ok") succeed(e, `p${k}`);
          if (o === "fail") fail(e, `p${k}`);
          if (o === "dfail") fail(e, `g${k}`);
        }
        const c = rec(e, "c");
        expect(c.error ? `${S[c.state]}:${c.error.code}` : S[c.state]).toBe(t.expect);
      });
    }
  }

  it("T6: a decision waits while the remaining parents could still change it", () => {
    const e = fromYaml(noop("a", `when: "false"`) + noop("b") + noop("c", "depends_on: [a, b]"));
    step(e, { type: "start" });
    // a is skipped, b still runs: c's class (skipped vs failed) is not known yet.
    expect(state(e, "c")).toBe("PENDING");
    fail(e, "b");
    expect(rec(e, "c").error!.code).toBe("DEPENDENCY_FAILED");
  });

  it("T3/T4: one_success and one_failed run as soon as one parent qualifies", () => {
    const e = fromYaml(noop("a") + noop("b") + noop("s", "depends_on: [a, b], trigger: one_success") + noop("f", "depends_on: [a, b], trigger: one_failed"));
    step(e, { type: "start" });
    succeed(e, "a");
    expect(state(e, "s")).toBe("READY");
    expect(state(e, "f")).toBe("PENDING");
    fail(e, "b");
    expect(state(e, "f")).toBe("READY");
  });

  it("T7: a root step ignores its trigger rule", () => {
    const e = fromYaml(noop("a", "trigger: one_failed"));
    step(e, { type: "start" });
    expect(state(e, "a")).toBe("READY");
  });

  it("T8: the workflow fails when any step failed, whatever ran after it", () => {
    const e = fromYaml(noop("a") + noop("cleanup", "depends_on: [a], trigger: all_done"));
    step(e, { type: "start" });
    fail(e, "a");
    succeed(e, "cleanup");
    expect(wfState(e)).toBe("FAILED");
  });

  it("T9: skips propagate down a 10,000-step chain without recursion", () => {
    const steps = Array.from({ length: 10_000 }, (_, i) => noop(`s${i}`, i ? `depends_on: [s${i - 1}]` : "")).join("");
    const e = fromYaml(steps);
    step(e, { type: "start" });
    fail(e, "s0");
    expect(state(e, "s9999")).toBe("SKIPPED");
    expect(rec(e, "s9999").error!.message).toBe('skipped because step "s0" failed');
    expect(wfState(e)).toBe("FAILED");
  });
});

describe("R: retries", () => {
  const retry = (policy: string) => noop("a", `retry: {${policy}}`);

  it("R1: a failed attempt with attempts left waits, then runs as a new attempt", () => {
    const e = fromYaml(retry("max_attempts: 3, initial_backoff: 2s"));
    step(e, { type: "start" }, 0);
    const fx = fail(e, "a", "SCRIPT_ERROR", 100);
    expect(state(e, "a")).toBe("PENDING");
    expect(rec(e, "a").nextRetryAt).toBe(2100);
    expect(ofType(fx.commands, "wake")).toEqual([{ type: "wake", at: 2100, input: { type: "retryDue", step: 0, attempt: 1 } }]);
    expect(fx.events.at(-1)).toMatchObject({ kind: "step", state: S.PENDING, nextRetryAt: 2100, error: { code: "SCRIPT_ERROR" } });
    const due = step(e, { type: "retryDue", step: 0, attempt: 1 }, 2100);
    expect(ofType(due.commands, "dispatch").map((c) => c.attemptId)).toEqual(["wf_1.a.2"]);
    expect(state(e, "a")).toBe("READY");
    succeed(e, "a", 1, 2200);
    expect(wfState(e)).toBe("SUCCEEDED");
    expect(rec(e, "a").attempts.map((x) => [x.number, S[x.state], x.error?.code, x.supervisor, x.finishedAt])).toEqual([
      [1, "FAILED", "SCRIPT_ERROR", "sup", 100],
      [2, "SUCCEEDED", undefined, "sup", 2200],
    ]);
  });

  const backoffTable = [
    { row: "R2", policy: { initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2, jitter: 0 }, tries: 1, expect: 1000 },
    { row: "R2", policy: { initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2, jitter: 0 }, tries: 4, expect: 8000 },
    { row: "R2", policy: { initialBackoffMs: 1000, maxBackoffMs: 5000, multiplier: 2, jitter: 0 }, tries: 10, expect: 5000 },
    { row: "R2", policy: { initialBackoffMs: 500, maxBackoffMs: 500, multiplier: 1, jitter: 0 }, tries: 3, expect: 500 },
  ];
  for (const t of backoffTable) {
    it(`${t.row}: backoff after ${t.tries} tries of ${JSON.stringify(t.policy)} is ${t.expect}ms`, () => {
      expect(backoffMs(t.policy, t.tries, "wf.a.1")).toBe(t.expect);
    });
  }

  it("R2: jitter takes a deterministic fraction off, never more than jitter * delay", () => {
    const policy = { initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2, jitter: 0.5 };
    const seen = new Set<number>();
    for (let k = 0; k < 200; k++) {
      const d = backoffMs(policy, 2, `wf_${k}.a.2`);
      expect(d).toBeGreaterThan(1000);
      expect(d).toBeLessThanOrEqual(2000);
      expect(backoffMs(policy, 2, `wf_${k}.a.2`)).toBe(d);
      seen.add(d);
    }
    expect(seen.size).toBeGreaterThan(50);
  });

  const nonRetryable = [
    { row: "R3", code: "NON_RETRYABLE", policy: "max_attempts: 5", expect: "FAILED" },
    { row: "R3", code: "BAD_INPUT", policy: "max_attempts: 5, non_retryable: [BAD_INPUT]", expect: "FAILED" },
    { row: "R3", code: "SCRIPT_ERROR", policy: "max_attempts: 5, non_retryable: [BAD_INPUT]", expect: "PENDING" },
  ];
  for (const t of nonRetryable) {
    it(`${t.row}: error ${t.code} with {${t.policy}} -> ${t.expect}`, () => {
      const e = fromYaml(retry(t.policy));
      step(e, { type: "start" });
      fail(e, "a", t.code);
      expect(state(e, "a")).toBe(t.expect);
    });
  }

  it("R4: when the budget is spent the step fails with its last error; every attempt is kept", () => {
    const e = fromYaml(retry("max_attempts: 3, initial_backoff: 1s, multiplier: 3") + noop("b", "depends_on: [a]"));
    step(e, { type: "start" }, 0);
    const waits: number[] = [];
    for (let k = 1; k <= 3; k++) {
      fail(e, "a", `E${k}`, k * 10_000);
      if (k < 3) {
        waits.push(rec(e, "a").nextRetryAt! - k * 10_000);
        step(e, { type: "retryDue", step: 0, attempt: k }, rec(e, "a").nextRetryAt!);
      }
    }
    expect(waits).toEqual([1000, 3000]);
    expect(state(e, "a")).toBe("FAILED");
    expect(rec(e, "a").error!.code).toBe("E3");
    expect(rec(e, "a").attempts.map((x) => x.error!.code)).toEqual(["E1", "E2", "E3"]);
    expect(state(e, "b")).toBe("SKIPPED");
    expect(e.record.error).toBe('step "a" failed: E3: a broke');
  });

  it("R5: a lost attempt is run again at once and does not use up the budget", () => {
    const e = fromYaml(retry("max_attempts: 2"));
    step(e, { type: "start" });
    for (let k = 0; k < 3; k++) {
      const a = attemptId(e, "a");
      step(e, { type: "accepted", attemptId: a, supervisor: "s" });
      step(e, { type: "lost", attemptId: a, reason: "supervisor restarted" });
    }
    expect(state(e, "a")).toBe("READY");
    expect(rec(e, "a").tries ?? 0).toBe(0);
    fail(e, "a");
    expect(state(e, "a")).toBe("PENDING"); // the first counted failure; one retry left
  });

  it("R5: an attempt lost before its acceptance was recorded (READY) is replaced by a new one, and the old one is stopped", () => {
    const e = fromYaml(retry("max_attempts: 1"));
    step(e, { type: "start" });
    const a = attemptId(e, "a");
    const fx = step(e, { type: "lost", attemptId: a, reason: "stopped: re-dispatched elsewhere" });
    expect(state(e, "a")).toBe("READY");
    expect(attemptId(e, "a")).not.toBe(a);
    expect(fx.commands).toEqual(expect.arrayContaining([{ type: "cancelJob", attemptId: a }, expect.objectContaining({ type: "dispatch", attemptId: attemptId(e, "a") })]));
    expect(rec(e, "a").tries ?? 0).toBe(0);
  });

  const unknownTable: Array<{ row: string; reached: "READY" | "DISPATCHED" | "RUNNING" | "SUCCEEDED"; expect: { state: string; attempts: number; command: "same" | "new" | "none" } }> = [
    { row: "R10", reached: "READY", expect: { state: "READY", attempts: 1, command: "same" } },
    { row: "R10", reached: "DISPATCHED", expect: { state: "READY", attempts: 2, command: "new" } },
    { row: "R10", reached: "RUNNING", expect: { state: "READY", attempts: 2, command: "new" } },
    { row: "R10", reached: "SUCCEEDED", expect: { state: "SUCCEEDED", attempts: 1, command: "none" } },
  ];
  for (const t of unknownTable) {
    it(`${t.row}: an attempt no supervisor knows, of a ${t.reached} step -> ${t.expect.command === "same" ? "sent again under the same id" : t.expect.command === "new" ? "lost, a new attempt" : "ignored"}`, () => {
      const e = fromYaml(retry("max_attempts: 1"));
      step(e, { type: "start" });
      const a = attemptId(e, "a");
      if (t.reached !== "READY") step(e, { type: "accepted", attemptId: a, supervisor: "s" });
      if (t.reached === "RUNNING" || t.reached === "SUCCEEDED") step(e, { type: "started", attemptId: a });
      if (t.reached === "SUCCEEDED") step(e, { type: "finished", attemptId: a, ok: true, output: 1 });
      const fx = step(e, { type: "unknownAttempt", attemptId: a, reason: "no supervisor knows the attempt" });
      expect(state(e, "a")).toBe(t.expect.state);
      expect(rec(e, "a").attempts).toHaveLength(t.expect.attempts);
      expect(rec(e, "a").tries ?? 0).toBe(0);
      const sent = ofType(fx.commands, "dispatch").map((c) => c.attemptId);
      if (t.expect.command === "same") {
        // Nothing to store: the command alone, for the attempt already recorded.
        expect(sent).toEqual([a]);
        expect([fx.events, [...fx.changed]]).toEqual([[], []]);
      } else if (t.expect.command === "new") {
        expect(sent).toEqual([attemptId(e, "a")]);
        expect(rec(e, "a").attempts[0]!.error).toEqual({ code: "ATTEMPT_LOST", message: "no supervisor knows the attempt" });
      } else {
        expect(fx.commands).toEqual([]);
      }
    });
  }

  it("R10: a READY sub-workflow step's unknown attempt asks for its child again under the same attempt", () => {
    const e = fromYaml("    - id: a\n      workflow: {steps: [{id: x, runner: noop}]}\n");
    step(e, { type: "start" });
    const a = attemptId(e, "a");
    const fx = step(e, { type: "unknownAttempt", attemptId: a, reason: "gone" });
    expect(ofType(fx.commands, "startChild").map((c) => c.attemptId)).toEqual([a]);
  });

  it("R6: a rejected attempt counts like a failed one", () => {
    const e = fromYaml(retry("max_attempts: 2"));
    step(e, { type: "start" });
    step(e, { type: "rejected", attemptId: attemptId(e, "a"), error: { code: "NO_RUNNER", message: "none" } });
    expect(state(e, "a")).toBe("PENDING");
    step(e, { type: "retryDue", step: 0, attempt: 1 });
    step(e, { type: "rejected", attemptId: attemptId(e, "a"), error: { code: "NO_RUNNER", message: "none" } });
    expect(state(e, "a")).toBe("FAILED");
  });

  it("R7: failures the engine finds itself (when, for_each) are not retried", () => {
    const e = fromYaml(noop("a", `retry: {max_attempts: 5}, when: "inputs.missing.x"`));
    step(e, { type: "start" });
    expect(state(e, "a")).toBe("FAILED");
    expect(rec(e, "a").error!.code).toBe("CONDITION_ERROR");
  });

  it("R8: the workflow default applies to every step; a step overrides field by field", () => {
    const e = fromYaml(noop("a") + noop("b", "retry: {max_attempts: 1}") + noop("c", "retry: {initial_backoff: 5s}"), "  retry: {max_attempts: 2, initial_backoff: 1s}\n");
    expect(e.plan.retry.map((r) => [r.maxAttempts, r.initialBackoffMs])).toEqual([
      [2, 1000],
      [1, 1000],
      [2, 5000],
    ]);
  });

  it("R9: a retry timer that no longer matches (stale, duplicate) is ignored", () => {
    const e = fromYaml(retry("max_attempts: 3"));
    step(e, { type: "start" });
    fail(e, "a");
    expect(step(e, { type: "retryDue", step: 0, attempt: 7 }).events).toEqual([]);
    step(e, { type: "retryDue", step: 0, attempt: 1 });
    expect(step(e, { type: "retryDue", step: 0, attempt: 1 }).events).toEqual([]);
    expect(rec(e, "a").attempts).toHaveLength(2);
  });
});

describe("D: timeouts", () => {
  it("D1: an attempt's clock starts when a supervisor accepts it; past the timeout it is cancelled and fails with DEADLINE_EXCEEDED, then retries", () => {
    const e = fromYaml(noop("a", "timeout: 30s, retry: {max_attempts: 2, initial_backoff: 1s}"));
    const start = step(e, { type: "start" }, 0);
    expect(ofType(start.commands, "dispatch")[0]).toMatchObject({ attemptId: "wf_1.a.1", timeoutMs: 30_000 });
    const acc = step(e, { type: "accepted", attemptId: "wf_1.a.1", supervisor: "s1" }, 50);
    expect(ofType(acc.commands, "wake")).toEqual([{ type: "wake", at: 30_050, input: { type: "attemptTimedOut", attemptId: "wf_1.a.1" } }]);
    const fx = step(e, { type: "attemptTimedOut", attemptId: "wf_1.a.1" }, 30_050);
    expect(ofType(fx.commands, "cancelJob")).toEqual([{ type: "cancelJob", attemptId: "wf_1.a.1", supervisor: "s1" }]);
    expect(rec(e, "a").attempts[0]!.error).toEqual({ code: "DEADLINE_EXCEEDED", message: "the attempt ran longer than its timeout of 30s" });
    expect(state(e, "a")).toBe("PENDING");
    // The job's own late result no longer counts.
    expect(step(e, { type: "finished", attemptId: "wf_1.a.1", ok: true, output: 1 }, 30_100).events).toEqual([]);
    step(e, { type: "retryDue", step: 0, attempt: 1 }, 31_050);
    step(e, { type: "accepted", attemptId: "wf_1.a.2", supervisor: "s1" }, 31_100);
    step(e, { type: "attemptTimedOut", attemptId: "wf_1.a.2" }, 61_100);
    expect(state(e, "a")).toBe("FAILED");
    expect(e.record.error).toMatch(/DEADLINE_EXCEEDED/);
  });

  it("D1: a timer for an attempt that already ended is ignored", () => {
    const e = fromYaml(noop("a", "timeout: 1s"));
    step(e, { type: "start" });
    succeed(e, "a");
    expect(step(e, { type: "attemptTimedOut", attemptId: "wf_1.a.1" }).events).toEqual([]);
  });

  it("D2: the workflow timeout cancels what runs and fails the workflow with DEADLINE_EXCEEDED", () => {
    const e = fromYaml(noop("a") + noop("b") + noop("c", "depends_on: [a]"), "  timeout: 1m\n");
    const start = step(e, { type: "start" }, 1000);
    expect(ofType(start.commands, "wake")).toEqual([{ type: "wake", at: 61_000, input: { type: "workflowTimedOut", startedAt: 1000 } }]);
    succeed(e, "a", 1, 2000);
    step(e, { type: "accepted", attemptId: attemptId(e, "b"), supervisor: "s" }, 3000);
    const fx = step(e, { type: "workflowTimedOut", startedAt: 1000 }, 61_000);
    expect(ofType(fx.commands, "cancelJob").map((c) => c.attemptId).sort()).toEqual(["wf_1.b.1", "wf_1.c.1"]);
    expect(e.record.steps.map((s) => S[s.state])).toEqual(["SUCCEEDED", "CANCELLED", "CANCELLED"]);
    expect(rec(e, "b").error!.code).toBe("DEADLINE_EXCEEDED");
    expect(wfState(e)).toBe("FAILED");
    expect(e.record.error).toBe("DEADLINE_EXCEEDED: the workflow ran longer than its timeout of 1m");
  });

  it("D2: a workflow timer from an earlier run (before RetryWorkflow) is ignored", () => {
    const e = fromYaml(noop("a"), "  timeout: 1m\n");
    step(e, { type: "start" }, 0);
    expect(step(e, { type: "workflowTimedOut", startedAt: 5 }, 60_000).events).toEqual([]);
  });

  it("D3: pendingTimers re-arms retries, attempt timeouts and the workflow timeout after a restart", () => {
    const e = fromYaml(noop("a", "retry: {max_attempts: 2, initial_backoff: 1s}") + noop("b", "timeout: 10s"), "  timeout: 1h\n");
    step(e, { type: "start" }, 0);
    fail(e, "a", "X", 100);
    step(e, { type: "accepted", attemptId: attemptId(e, "b"), supervisor: "s" }, 200);
    const loaded = createEngineState(structuredClone(e.record), e.plan);
    expect(pendingTimers(loaded)).toEqual([
      { type: "wake", at: 3_600_000, input: { type: "workflowTimedOut", startedAt: 0 } },
      { type: "wake", at: 1100, input: { type: "retryDue", step: 0, attempt: 1 } },
      { type: "wake", at: 10_200, input: { type: "attemptTimedOut", attemptId: "wf_1.b.1" } },
    ]);
  });
});

describe("H: on_failure steps", () => {
  const handlers = (lines: string) => `  on_failure:\n${lines}`;

  it("H1-H3: handlers run once the main steps are done and one failed; they get input.failure; the workflow still fails", () => {
    const e = fromYaml(noop("a") + noop("b"), handlers(noop("notify") + noop("after", "depends_on: [notify]")));
    expect(e.record.steps.map((s) => s.id)).toEqual(["a", "b", "notify", "after"]);
    step(e, { type: "start" });
    fail(e, "a", "SCRIPT_ERROR", 5);
    expect(state(e, "notify")).toBe("PENDING"); // b still runs
    const fx = succeed(e, "b");
    const d = ofType(fx.commands, "dispatch");
    expect(d).toEqual([{ type: "dispatch", step: 2, planIndex: 2, attemptId: "wf_1.notify.1", attempt: 1, extraInput: { failure: { step: "a", code: "SCRIPT_ERROR", message: "a broke" } } }]);
    expect(jobInput(e, 2, d[0]!.extraInput)).toEqual({ failure: { step: "a", code: "SCRIPT_ERROR", message: "a broke" } });
    expect(wfState(e)).toBe("RUNNING");
    succeed(e, "notify", { sent: true });
    expect(jobInput(e, 3)).toEqual({ notify: { sent: true } });
    succeed(e, "after");
    expect(wfState(e)).toBe("FAILED");
    expect(e.record.error).toBe('step "a" failed: SCRIPT_ERROR: a broke');
  });

  it("H2: a handler's `when` sees input.failure", () => {
    const e = fromYaml(noop("a"), handlers(noop("page", `when: "input.failure.code == 'OOM'"`) + noop("log", `when: "input.failure.step == 'a'"`)));
    step(e, { type: "start" });
    fail(e, "a", "SCRIPT_ERROR");
    expect([state(e, "page"), state(e, "log")]).toEqual(["SKIPPED", "READY"]);
  });

  const recovery = [
    { row: "H4", outputs: [{ recovered: true }], expect: "SUCCEEDED" },
    { row: "H4", outputs: [{ recovered: "yes" }], expect: "FAILED" },
    { row: "H4", outputs: [{ recovered: true }, "FAIL"], expect: "FAILED" },
    { row: "H3", outputs: [null], expect: "FAILED" },
  ];
  for (const t of recovery) {
    it(`${t.row}: handler outputs ${JSON.stringify(t.outputs)} -> workflow ${t.expect}`, () => {
      const e = fromYaml(noop("a"), handlers(t.outputs.map((_, k) => noop(`h${k}`)).join("")));
      step(e, { type: "start" });
      fail(e, "a");
      t.outputs.forEach((o, k) => (o === "FAIL" ? fail(e, `h${k}`) : succeed(e, `h${k}`, o as never)));
      expect(wfState(e)).toBe(t.expect);
    });
  }

  it("H5: handlers of a workflow that succeeds are skipped as NOT_NEEDED", () => {
    const e = fromYaml(noop("a"), handlers(noop("h")));
    step(e, { type: "start" });
    succeed(e, "a");
    expect(wfState(e)).toBe("SUCCEEDED");
    expect(rec(e, "h").error!.code).toBe("NOT_NEEDED");
  });

  it("H6: handlers run after a workflow timeout; a second timeout while they run ends the workflow", () => {
    const e = fromYaml(noop("a"), "  timeout: 10s\n" + handlers(noop("h")));
    step(e, { type: "start" }, 0);
    step(e, { type: "workflowTimedOut", startedAt: 0 }, 10_000);
    expect(state(e, "h")).toBe("READY");
    expect(rec(e, "h").attempts).toHaveLength(1);
    expect(jobInput(e, 1, { failure: e.failureInfo! }).failure).toEqual({ step: "", code: "DEADLINE_EXCEEDED", message: "the workflow ran longer than its timeout of 10s" });
    step(e, { type: "workflowTimedOut", startedAt: 0 }, 20_000);
    expect(state(e, "h")).toBe("CANCELLED");
    expect(wfState(e)).toBe("FAILED");
  });

  it("H7: cancel does not run handlers", () => {
    const e = fromYaml(noop("a"), handlers(noop("h")));
    step(e, { type: "start" });
    step(e, { type: "cancel", reason: "user" });
    expect([state(e, "a"), state(e, "h"), wfState(e)]).toEqual(["CANCELLED", "CANCELLED", "CANCELLED"]);
  });
});

describe("C: conditions", () => {
  const table: Array<{ row: string; when: string; inputs: JsonMap; expect: string }> = [
    { row: "C1", when: "inputs.env == 'prod'", inputs: { env: "prod" }, expect: "READY" },
    { row: "C1", when: "inputs.env == 'prod'", inputs: { env: "dev" }, expect: "SKIPPED:CONDITION_FALSE" },
    { row: "C1", when: "input.a.rows.size() > 2", inputs: {}, expect: "READY" },
    { row: "C1", when: "input.a.rows.exists(r, r * 2 == 6)", inputs: {}, expect: "READY" },
    { row: "C2", when: "inputs.n", inputs: { n: 3 }, expect: "FAILED:CONDITION_ERROR" },
    { row: "C2", when: "inputs.missing > 1", inputs: {}, expect: "FAILED:CONDITION_ERROR" },
  ];
  for (const t of table) {
    it(`${t.row}: when "${t.when}" with inputs ${JSON.stringify(t.inputs)} -> ${t.expect}`, () => {
      const e = fromYaml(noop("a") + noop("b", `depends_on: [a], when: "${t.when}"`), "", t.inputs);
      step(e, { type: "start" });
      succeed(e, "a", { rows: [1, 2, 3] });
      const b = rec(e, "b");
      expect(b.error ? `${S[b.state]}:${b.error.code}` : S[b.state]).toBe(t.expect);
    });
  }

  for (const [field, code] of [["when", "CONDITION_ERROR"], ["for_each", "FOR_EACH_ERROR"]] as const) {
    it(`C4: a ${field} that blows its cost budget at run time fails the step with ${code}, and the workflow goes on`, () => {
      const expr = "input.a.map(x, input.a.map(y, input.a.map(z, x)))" + (field === "when" ? ".size() > 0" : "");
      const e = fromYaml(noop("a") + noop("b", `depends_on: [a], ${field}: "${expr}"`) + noop("c", "depends_on: [a]"));
      step(e, { type: "start" });
      succeed(e, "a", Array.from({ length: 300 }, (_, i) => i));
      expect([state(e, "b"), rec(e, "b").error!.code]).toEqual(["FAILED", code]);
      expect(rec(e, "b").error!.message).toMatch(/expression exceeded its cost budget/);
      succeed(e, "c");
      expect(wfState(e)).toBe("FAILED");
    });
  }

  it("C1: a step skipped by its condition counts as skipped, not failed, downstream (T0)", () => {
    const e = fromYaml(noop("a", `when: "false"`) + noop("b", "depends_on: [a], trigger: none_failed") + noop("c", "depends_on: [a]"));
    step(e, { type: "start" });
    expect([state(e, "a"), state(e, "b"), state(e, "c")]).toEqual(["SKIPPED", "READY", "SKIPPED"]);
    expect(rec(e, "c").error).toEqual({ code: "DEPENDENCY_SKIPPED", message: 'skipped because step "a" was skipped' });
    succeed(e, "b");
    expect(wfState(e)).toBe("SUCCEEDED");
  });
});

describe("F: for_each", () => {
  it("F1-F4: one instance per item with item and index; dependents get the outputs in order", () => {
    const e = fromYaml(noop("list") + noop("each", "depends_on: [list], for_each: input.list") + noop("sum", "depends_on: [each]"));
    step(e, { type: "start" });
    const fx = succeed(e, "list", ["x", "y", "z"]);
    expect(state(e, "each")).toBe("RUNNING");
    const d = ofType(fx.commands, "dispatch");
    expect(d.map((c) => [c.step, c.planIndex, c.attemptId, c.extraInput])).toEqual([
      [3, 1, "wf_1.each[0].1", { item: "x", index: 0 }],
      [4, 1, "wf_1.each[1].1", { item: "y", index: 1 }],
      [5, 1, "wf_1.each[2].1", { item: "z", index: 2 }],
    ]);
    // F3: an instance gets its item and index, not the dependency outputs.
    expect(jobInput(e, 4, d[1]!.extraInput)).toEqual({ item: "y", index: 1 });
    expect(fx.events.filter((ev) => ev.kind === "step" && ev.instance !== undefined).map((ev) => ev.kind === "step" && ev.instance)).toEqual([0, 1, 2]);
    // Finish out of order: the output keeps item order.
    succeed(e, "each", "Z", 0, 2);
    succeed(e, "each", "X", 0, 0);
    expect(state(e, "each")).toBe("RUNNING");
    succeed(e, "each", "Y", 0, 1);
    expect(rec(e, "each").output).toEqual(["X", "Y", "Z"]);
    expect(jobInput(e, 2)).toEqual({ each: ["X", "Y", "Z"] });
    succeed(e, "sum");
    expect(wfState(e)).toBe("SUCCEEDED");
  });

  it("F2: max_parallel bounds the instances in flight", () => {
    const e = fromYaml(noop("each", `for_each: "[1, 2, 3, 4, 5]", max_parallel: 2`));
    const fx = step(e, { type: "start" });
    expect(ofType(fx.commands, "dispatch").map((c) => c.extraInput!.index)).toEqual([0, 1]);
    const next = succeed(e, "each", 1, 0, 0);
    expect(ofType(next.commands, "dispatch").map((c) => c.extraInput!.index)).toEqual([2]);
    // A retry waiting keeps its slot.
    e.plan.retry[0] = { ...e.plan.retry[0]!, maxAttempts: 2 };
    expect(ofType(fail(e, "each", "X", 0, 1).commands, "dispatch")).toEqual([]);
    expect(state(e, "each", 1)).toBe("PENDING");
  });

  it("F5: an empty list succeeds at once with output []", () => {
    const e = fromYaml(noop("each", `for_each: "[]"`) + noop("b", "depends_on: [each]"));
    step(e, { type: "start" });
    expect(rec(e, "each")).toMatchObject({ state: S.SUCCEEDED, output: [] });
    expect(state(e, "b")).toBe("READY");
  });

  it("F6: a failed instance fails the step; instances not started are skipped, running ones finish", () => {
    const e = fromYaml(noop("each", `for_each: "[1, 2, 3, 4]", max_parallel: 2`) + noop("b", "depends_on: [each]"));
    step(e, { type: "start" });
    fail(e, "each", "BOOM", 0, 0);
    expect(state(e, "each")).toBe("FAILED");
    expect(rec(e, "each").error).toEqual({ code: "BOOM", message: "instance 0 failed: each broke" });
    expect([state(e, "each", 2), state(e, "each", 3)]).toEqual(["SKIPPED", "SKIPPED"]);
    expect(state(e, "b")).toBe("SKIPPED");
    expect(wfState(e)).toBe("RUNNING"); // instance 1 still runs
    succeed(e, "each", 1, 0, 1);
    expect(state(e, "each")).toBe("FAILED");
    expect(wfState(e)).toBe("FAILED");
  });

  const errors = [
    { row: "F7", expr: "'not a list'", expect: "FOR_EACH_ERROR" },
    { row: "F7", expr: "inputs.nope.x", expect: "FOR_EACH_ERROR" },
    { row: "F7", expr: "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]", expect: "FOR_EACH_TOO_LARGE" },
  ];
  for (const t of errors) {
    it(`${t.row}: for_each "${t.expr}" fails the step with ${t.expect}`, () => {
      const e = fromYaml(noop("each", `for_each: "${t.expr}"`));
      e.plan.maxForEachItems = 10;
      step(e, { type: "start" });
      expect([state(e, "each"), rec(e, "each").error!.code]).toEqual(["FAILED", t.expect]);
    });
  }

  it("F8: 10,000 items expand, run and collect in O(items)", () => {
    const e = fromYaml(noop("list") + noop("each", "depends_on: [list], for_each: input.list, max_parallel: 100") + noop("b", "depends_on: [each]"));
    step(e, { type: "start" });
    const items = Array.from({ length: 10_000 }, (_, i) => i);
    let queue = ofType(succeed(e, "list", items).commands, "dispatch");
    let ran = 0;
    const t0 = performance.now();
    while (queue.length > 0) {
      const next: typeof queue = [];
      for (const c of queue) {
        transition(e, { type: "accepted", attemptId: c.attemptId, supervisor: "s" }, 1);
        next.push(...ofType(transition(e, { type: "finished", attemptId: c.attemptId, ok: true, output: (c.extraInput!.item as number) * 2 }, 1).commands, "dispatch"));
        ran++;
      }
      queue = next.filter((c) => c.planIndex === 1);
    }
    expect(ran).toBe(10_000);
    const out = rec(e, "each").output as number[];
    expect(out).toHaveLength(10_000);
    expect(out[9_999]).toBe(19_998);
    expect(state(e, "b")).toBe("READY");
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it("F9: each instance has its own retry budget and attempt ids", () => {
    const e = fromYaml(noop("each", `for_each: "['a', 'b']", retry: {max_attempts: 2}`));
    step(e, { type: "start" });
    fail(e, "each", "X", 0, 1);
    expect(state(e, "each", 1)).toBe("PENDING");
    const i1 = e.record.steps.findIndex((s) => s.instance === 1);
    step(e, { type: "retryDue", step: i1, attempt: 1 });
    expect(attemptId(e, "each", 1)).toBe("wf_1.each[1].2");
    succeed(e, "each", 1, 0, 0);
    succeed(e, "each", 2, 0, 1);
    expect(rec(e, "each").output).toEqual([1, 2]);
  });
});

describe("X: RetryWorkflow", () => {
  it("X1: resets failed, skipped and cancelled steps and their descendants; keeps outputs and history; same id", () => {
    const e = fromYaml(noop("a") + noop("b") + noop("c", "depends_on: [a]") + noop("d", "depends_on: [c, b]") + noop("cleanup", "depends_on: [a], trigger: all_done"));
    step(e, { type: "start" }, 0);
    succeed(e, "b", "B");
    fail(e, "a");
    succeed(e, "cleanup");
    expect(wfState(e)).toBe("FAILED");
    const fx = step(e, { type: "retryWorkflow" }, 100);
    expect(wfState(e)).toBe("RUNNING");
    expect(e.record.id).toBe("wf_1");
    expect(e.record.startedAt).toBe(100);
    expect(e.record.error).toBeUndefined();
    expect(ofType(fx.commands, "dispatch").map((c) => c.attemptId)).toEqual(["wf_1.a.2"]);
    // b kept its output and its single attempt; cleanup (a descendant) waits to run again.
    expect(rec(e, "b")).toMatchObject({ state: S.SUCCEEDED, output: "B" });
    expect(rec(e, "b").attempts).toHaveLength(1);
    expect([state(e, "c"), state(e, "d"), state(e, "cleanup")]).toEqual(["PENDING", "PENDING", "PENDING"]);
    expect(rec(e, "a").attempts.map((x) => S[x.state])).toEqual(["FAILED", "READY"]);
    succeed(e, "a");
    succeed(e, "c");
    succeed(e, "cleanup");
    expect(jobInput(e, 3)).toEqual({ c: "c", b: "B" });
    succeed(e, "d");
    expect(wfState(e)).toBe("SUCCEEDED");
  });

  it("X2: a for_each step keeps its expansion when its inputs are kept, and re-runs only instances that did not succeed", () => {
    const e = fromYaml(noop("each", `for_each: "[1, 2, 3]"`));
    step(e, { type: "start" });
    succeed(e, "each", 10, 0, 0);
    fail(e, "each", "X", 0, 1);
    succeed(e, "each", 30, 0, 2);
    expect(wfState(e)).toBe("FAILED");
    const fx = step(e, { type: "retryWorkflow" });
    expect(ofType(fx.commands, "dispatch").map((c) => c.attemptId)).toEqual(["wf_1.each[1].2"]);
    expect(rec(e, "each", 0).attempts).toHaveLength(1);
    succeed(e, "each", 20, 0, 1);
    expect(rec(e, "each").output).toEqual([10, 20, 30]);
    expect(wfState(e)).toBe("SUCCEEDED");
  });

  it("X2: a for_each step downstream of a reset step expands again; old instances are superseded", () => {
    const e = fromYaml(noop("a") + noop("each", "depends_on: [a], for_each: input.a, trigger: all_done"));
    step(e, { type: "start" });
    fail(e, "a");
    expect(rec(e, "each").state).toBe(S.FAILED); // null is not a list
    step(e, { type: "retryWorkflow" });
    succeed(e, "a", [1, 2]);
    expect(rec(e, "each").instances).toEqual({ first: 2, count: 2 });
    succeed(e, "each", "p", 0, 0);
    succeed(e, "each", "q", 0, 1);
    expect(wfState(e)).toBe("SUCCEEDED");
  });

  it("X3: a reset step gets a fresh retry budget", () => {
    const e = fromYaml(noop("a", "retry: {max_attempts: 2}"));
    step(e, { type: "start" });
    fail(e, "a");
    step(e, { type: "retryDue", step: 0, attempt: 1 });
    fail(e, "a");
    expect(state(e, "a")).toBe("FAILED");
    step(e, { type: "retryWorkflow" });
    fail(e, "a");
    expect(state(e, "a")).toBe("PENDING");
    expect(rec(e, "a").attempts).toHaveLength(3);
  });

  it("X4: only a FAILED or CANCELLED workflow can be retried; a cancelled one runs its cancelled steps again", () => {
    const e = fromYaml(noop("a") + noop("b"));
    expect(() => step(e, { type: "retryWorkflow" })).toThrow(/illegal workflow transition PENDING -> RUNNING/);
    step(e, { type: "start" });
    succeed(e, "a");
    expect(() => step(e, { type: "retryWorkflow" })).toThrow(/only a FAILED or CANCELLED/);
    step(e, { type: "cancel", reason: "oops" });
    step(e, { type: "retryWorkflow" });
    expect([state(e, "a"), state(e, "b")]).toEqual(["SUCCEEDED", "READY"]);
  });

  it("X5: on_failure steps are reset and run again only if the retried run fails", () => {
    const e = fromYaml(noop("a"), `  on_failure:\n${noop("h")}`);
    step(e, { type: "start" });
    fail(e, "a");
    succeed(e, "h");
    step(e, { type: "retryWorkflow" });
    expect(state(e, "h")).toBe("PENDING");
    succeed(e, "a");
    expect(wfState(e)).toBe("SUCCEEDED");
    expect(rec(e, "h").error!.code).toBe("NOT_NEEDED");
  });
});

describe("K: cancel", () => {
  it("K1: cancel stops every running job, child workflow and waiting retry; late results are ignored", () => {
    const e = fromYaml(noop("a") + noop("b", "retry: {max_attempts: 3}") + `    - {id: c, workflow: {template: child}}\n` + noop("d", "depends_on: [a]"));
    step(e, { type: "start" });
    step(e, { type: "accepted", attemptId: "wf_1.a.1", supervisor: "s1" });
    fail(e, "b");
    step(e, { type: "childStarted", attemptId: "wf_1.c.1", workflowId: "wf_child" });
    const fx = step(e, { type: "cancel", reason: "user" });
    expect(fx.commands).toEqual([
      { type: "cancelJob", attemptId: "wf_1.a.1", supervisor: "s1" },
      { type: "cancelChild", attemptId: "wf_1.c.1", workflowId: "wf_child" },
    ]);
    expect(e.record.steps.map((s) => S[s.state])).toEqual(["CANCELLED", "CANCELLED", "CANCELLED", "CANCELLED"]);
    expect(step(e, { type: "retryDue", step: 1, attempt: 1 }).events).toEqual([]);
    expect(step(e, { type: "childFinished", attemptId: "wf_1.c.1", ok: true, output: 1 }).events).toEqual([]);
    expect(wfState(e)).toBe("CANCELLED");
  });
});

describe("W: sub-workflow steps", () => {
  it("W2: a workflow step asks for a child run and takes its result as output", () => {
    const e = fromYaml(noop("a") + `    - {id: c, depends_on: [a], workflow: {steps: [{id: x, runner: noop}]}}\n` + noop("d", "depends_on: [c]"));
    step(e, { type: "start" });
    const fx = succeed(e, "a", { n: 1 });
    expect(fx.commands).toEqual([{ type: "startChild", step: 1, planIndex: 1, attemptId: "wf_1.c.1", attempt: 1 }]);
    expect(jobInput(e, 1)).toEqual({ a: { n: 1 } });
    step(e, { type: "childStarted", attemptId: "wf_1.c.1", workflowId: "wf_2" });
    expect(state(e, "c")).toBe("RUNNING");
    expect(rec(e, "c").attempts[0]!.childWorkflowId).toBe("wf_2");
    step(e, { type: "childFinished", attemptId: "wf_1.c.1", ok: true, output: { x: null } });
    expect(rec(e, "c").output).toEqual({ x: null });
    expect(state(e, "d")).toBe("READY");
  });

  it("W3: a failed child fails the step under its retry policy; a timeout cancels the child", () => {
    const e = fromYaml(`    - {id: c, timeout: 5s, retry: {max_attempts: 2}, workflow: {template: t, version: 3}}\n`);
    step(e, { type: "start" }, 0);
    step(e, { type: "childStarted", attemptId: "wf_1.c.1", workflowId: "wf_2" }, 0);
    step(e, { type: "childFinished", attemptId: "wf_1.c.1", ok: false, error: { code: "CHILD_FAILED", message: "x" } }, 1);
    expect(state(e, "c")).toBe("PENDING");
    step(e, { type: "retryDue", step: 0, attempt: 1 }, 1001);
    step(e, { type: "childStarted", attemptId: "wf_1.c.2", workflowId: "wf_3" }, 1001);
    const fx = step(e, { type: "attemptTimedOut", attemptId: "wf_1.c.2" }, 6001);
    expect(fx.commands).toEqual([{ type: "cancelChild", attemptId: "wf_1.c.2", workflowId: "wf_3" }]);
    expect(state(e, "c")).toBe("FAILED");
  });

  it("W4: WORKFLOW_TOO_DEEP is never retried, whatever the retry policy", () => {
    const e = fromYaml(`    - {id: c, retry: {max_attempts: 5}, workflow: {template: t}}\n`);
    step(e, { type: "start" }, 0);
    step(e, { type: "childFinished", attemptId: "wf_1.c.1", ok: false, error: { code: "WORKFLOW_TOO_DEEP", message: "x" } }, 1);
    expect([state(e, "c"), rec(e, "c").error!.code, wfState(e)]).toEqual(["FAILED", "WORKFLOW_TOO_DEEP", "FAILED"]);
  });
});

describe("Q: quarantine", () => {
  it("Q1: a running workflow ends FAILED with INTERNAL; unfinished steps are CANCELLED and their running attempts listed to stop", () => {
    const e = fromYaml(noop("a") + noop("b") + noop("c", "depends_on: [a]") + `    - {id: d, workflow: {template: t}}\n`);
    step(e, { type: "start" });
    succeed(e, "a");
    step(e, { type: "accepted", attemptId: attemptId(e, "b"), supervisor: "s1" });
    step(e, { type: "childStarted", attemptId: attemptId(e, "d"), workflowId: "wf_child" });
    const q = quarantine(e.record, "its \"finished\" transition threw: boom", 7);
    expect(wfState(e)).toBe("FAILED");
    expect(e.record.error).toBe(`${quarantineError('its "finished" transition threw: boom')}`);
    expect(e.record.error).toMatch(/^INTERNAL: .*boom$/);
    expect(e.record.steps.map((s) => [s.id, S[s.state], s.error?.code ?? ""])).toEqual([["a", "SUCCEEDED", ""], ["b", "CANCELLED", "INTERNAL"], ["c", "CANCELLED", "INTERNAL"], ["d", "CANCELLED", "INTERNAL"]]);
    expect(q.changed).toEqual([1, 2, 3]);
    expect(q.stops).toEqual([{ attemptId: "wf_1.b.1", supervisor: "s1" }, { attemptId: "wf_1.c.1" }, { attemptId: "wf_1.d.1", childWorkflowId: "wf_child" }]);
    expect(q.events.at(-1)).toMatchObject({ kind: "workflow", state: W.FAILED, time: 7 });
  });

  it("Q1: a record the engine could not read (attempts not a list) is normalized, and a finished workflow is left alone", () => {
    const e = fromYaml(noop("a"));
    (e.record.steps[0] as { attempts: unknown }).attempts = null;
    const q = quarantine(e.record, "bad record", 1);
    expect([wfState(e), e.record.steps[0]!.attempts, q.changed]).toEqual(["FAILED", [], [0]]);
    expect(quarantine(e.record, "again", 2)).toEqual({ events: [], changed: [], stops: [] });
  });
});

describe("store records", () => {
  it("stay JSON-safe and rebuild to the same counters, with appended records reported as changed", () => {
    const e = fromYaml(noop("list") + noop("each", "depends_on: [list], for_each: input.list, max_parallel: 1") + noop("b", "depends_on: [each]"), `  on_failure:\n${noop("h")}`);
    const start = step(e, { type: "start" });
    expect([...start.changed]).toContain(3); // the on_failure record appended by createEngineState
    const fx = succeed(e, "list", [1, 2]);
    expect([...fx.changed]).toEqual(expect.arrayContaining([4, 5]));
    const copy = createEngineState(JSON.parse(JSON.stringify(e.record)), e.plan);
    expect(copy.unfinished).toBe(e.unfinished);
    expect(copy.mainUnfinished).toBe(e.mainUnfinished);
    const view = (f: { waiting: number[]; head: number; active: number; succeeded: number }) => ({ waiting: f.waiting.slice(f.head), active: f.active, succeeded: f.succeeded });
    expect(view(copy.fanOuts.get(1)!)).toEqual(view(e.fanOuts.get(1)!));
    succeed(copy, "each", 1, 0, 0);
    succeed(copy, "each", 2, 0, 1);
    expect(rec(copy, "each").output).toEqual([1, 2]);
    expect(W[copy.record.state]).toBe("RUNNING");
  });
});

describe("examples, simulated", () => {
  // The engine's view of the feature examples: runner outcomes are made up,
  // the scheduling is real.
  const load = (name: string, inputs: JsonMap = {}) => {
    const parsed = parseWorkflowYaml(readFileSync(`examples/${name}.yaml`, "utf8"));
    const { plan } = validateAndPlan(parsed.definition!);
    return createEngineState({ id: "wf_1", name, state: W.PENDING, definition: plan!.definition, levels: plan!.level, steps: plan!.definition.steps.map((s) => ({ id: s.id, state: S.PENDING, attempts: [] })), inputs, labels: {}, createdAt: 0 }, plan!);
  };

  it("T1-T5: trigger-rules.yaml ends as its comments say", () => {
    const e = load("trigger-rules");
    step(e, { type: "start" });
    fail(e, "build", "EXIT_CODE");
    succeed(e, "lint");
    succeed(e, "notify-failure");
    succeed(e, "any-check");
    succeed(e, "cleanup");
    expect(Object.fromEntries(e.record.steps.map((s) => [s.id, s.error ? `${S[s.state]}:${s.error.code}` : S[s.state]]))).toEqual({
      build: "FAILED:EXIT_CODE",
      lint: "SUCCEEDED",
      test: "SKIPPED:DEPENDENCY_FAILED",
      "notify-failure": "SUCCEEDED",
      cleanup: "SUCCEEDED",
      publish: "SKIPPED:DEPENDENCY_FAILED",
      "any-check": "SUCCEEDED",
    });
    expect(wfState(e)).toBe("FAILED");
  });

  it("C1: when.yaml skips deploy and runs alert and summary", () => {
    const e = load("when", { env: "prod" });
    step(e, { type: "start" });
    succeed(e, "measure", { errors: 3, rows: [1, 2, 3] });
    expect([state(e, "deploy"), state(e, "alert")]).toEqual(["SKIPPED", "READY"]);
    succeed(e, "alert");
    succeed(e, "summary");
    expect(wfState(e)).toBe("SUCCEEDED");
  });

  it("F1: for-each.yaml fans out over the even numbers, four at a time", () => {
    const e = load("for-each");
    step(e, { type: "start" });
    const fx = succeed(e, "numbers", { values: Array.from({ length: 20 }, (_, i) => i + 1) });
    expect(ofType(fx.commands, "dispatch").map((c) => c.extraInput!.item)).toEqual([2, 4, 6, 8]);
    expect(rec(e, "square").instances!.count).toBe(10);
  });
});

// Table tests of the commit queue: ordering, merging, urgency and lease loss,
// driven step by step with its ticks, timers and writes in the test's hands.
import { describe, expect, it } from "vitest";
import { LAZY_COMMIT_MS, createCommitQueue, isUrgent, type PendingCommit } from "../../src/coordinator/executor/commit-queue.js";
import type { EngineInput } from "../../src/engine/engine.js";
import { LeaseLostError } from "../../src/store/store.js";

/**
 * One script step:
 * - "u1", "p1": a transition that is urgent / only reports progress adds event 1;
 * - "tick": the current task ends (callbacks given to `soon` run);
 * - "timer": the lazy timer fires;
 * - "stored", "lost", "broken": the write in flight resolves, or rejects
 *   with a LeaseLostError or another error;
 * - "flush": queue.flush() (draining).
 */
type Step = `u${number}` | `p${number}` | "tick" | "timer" | "stored" | "lost" | "broken" | "flush";

interface Outcome {
  /** Each write started, as the event numbers it carries, in order. */
  writes: number[][];
  /** A write is in flight. */
  inFlight: boolean;
  /** The lazy timer is armed. */
  timer: boolean;
  /** leaseLost / failed calls. */
  lost: number;
  failed: number;
  dropped: boolean;
}

async function run(script: Step[]): Promise<Outcome> {
  const soon: Array<() => void> = [];
  let timer: { fn: () => void; ms: number } | undefined;
  let inFlight: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  const out: Outcome = { writes: [], inFlight: false, timer: false, lost: 0, failed: 0, dropped: false };
  const q = createCommitQueue({
    write(p: PendingCommit) {
      // One at a time, in order: a second write while one is in flight is a bug.
      expect(inFlight).toBeUndefined();
      out.writes.push(p.events.map((e) => e.time));
      return new Promise<void>((resolve, reject) => (inFlight = { resolve, reject }));
    },
    leaseLost: () => void out.lost++,
    failed: () => void out.failed++,
    soon: (fn) => void soon.push(fn),
    setTimer: (fn, ms) => (timer = { fn, ms }),
    clearTimer: (t) => {
      if (t === timer) timer = undefined;
    },
  });
  const settle = () => new Promise((r) => setImmediate(r));
  for (const s of script) {
    if (s === "tick") for (const fn of soon.splice(0)) fn();
    else if (s === "timer") {
      const t = timer!;
      expect(t.ms).toBe(LAZY_COMMIT_MS);
      timer = undefined;
      t.fn();
    } else if (s === "stored" || s === "lost" || s === "broken") {
      const w = inFlight!;
      inFlight = undefined;
      if (s === "stored") w.resolve();
      else w.reject(s === "lost" ? new LeaseLostError("wf_1") : new Error("store down"));
      await settle();
    } else if (s === "flush") q.flush();
    else q.pending(s[0] === "u").events.push({ kind: "workflow", time: Number(s.slice(1)), state: 1 });
  }
  return { ...out, inFlight: inFlight !== undefined, timer: timer !== undefined, dropped: q.dropped };
}

const idle = { inFlight: false, timer: false, lost: 0, failed: 0, dropped: false };

describe("commit queue", () => {
  const table: Array<{ name: string; script: Step[]; expect: Partial<Outcome> }> = [
    { name: "an urgent transition is written once the current task ends, not before", script: ["u1"], expect: { writes: [], timer: false } },
    { name: "transitions of one task make one commit, in the order applied", script: ["u1", "p2", "u3", "tick", "stored"], expect: { ...idle, writes: [[1, 2, 3]] } },
    { name: "what is applied while a commit is written goes into the next one, merged", script: ["u1", "tick", "u2", "u3", "tick", "stored", "stored"], expect: { ...idle, writes: [[1], [2, 3]] } },
    { name: "the next commit waits for the one in flight (ordered writes)", script: ["u1", "tick", "u2", "tick"], expect: { writes: [[1]], inFlight: true } },
    { name: "progress alone waits LAZY_COMMIT_MS, then is written", script: ["p1", "p2", "tick"], expect: { writes: [], timer: true } },
    { name: "progress alone is written when its timer fires", script: ["p1", "p2", "timer", "stored"], expect: { ...idle, writes: [[1, 2]] } },
    { name: "progress rides with an urgent transition; its timer is cancelled", script: ["p1", "u2", "tick", "stored"], expect: { ...idle, writes: [[1, 2]] } },
    { name: "progress applied during a commit arms no timer while the commit is in flight", script: ["u1", "tick", "p2"], expect: { writes: [[1]], timer: false, inFlight: true } },
    { name: "progress applied during a commit waits for company after it", script: ["u1", "tick", "p2", "stored"], expect: { writes: [[1]], timer: true, inFlight: false } },
    { name: "progress then urgent during a commit: written right after it", script: ["u1", "tick", "p2", "u3", "stored", "stored"], expect: { ...idle, writes: [[1], [2, 3]] } },
    { name: "flush writes progress now (draining)", script: ["p1", "flush", "stored"], expect: { ...idle, writes: [[1]] } },
    { name: "flush with nothing pending writes nothing", script: ["flush"], expect: { ...idle, writes: [] } },
    { name: "a lost lease drops the queue: what waits is forgotten, nothing more is written", script: ["u1", "tick", "u2", "p3", "lost", "u4", "tick", "p5"], expect: { writes: [[1]], lost: 1, dropped: true, timer: false, inFlight: false } },
    { name: "another store error is reported and the queue goes on", script: ["u1", "tick", "u2", "broken", "stored"], expect: { ...idle, writes: [[1], [2]], failed: 1 } },
  ];
  for (const t of table) {
    it(t.name, async () => {
      expect(await run(t.script)).toMatchObject(t.expect);
    });
  }

  it("a queue dropped by its owner while a write is in flight does not report that write's lost lease", async () => {
    const rejections: Array<(err: unknown) => void> = [];
    let lost = 0;
    const q = createCommitQueue({ write: () => new Promise<void>((_, reject) => void rejections.push(reject)), leaseLost: () => void lost++, failed: () => undefined, soon: (fn) => fn() });
    q.pending(true);
    q.drop();
    rejections[0]!(new LeaseLostError("wf_1"));
    await q.writing;
    expect(lost).toBe(0);
  });

  it("writing resolves only after leaseLost's work (a reload) is done", async () => {
    let reloaded = false;
    const q = createCommitQueue({
      write: () => Promise.reject(new LeaseLostError("wf_1", true)),
      leaseLost: async () => {
        await new Promise((r) => setImmediate(r));
        reloaded = true;
      },
      failed: () => undefined,
      soon: (fn) => fn(),
    });
    q.pending(true);
    await q.writing;
    expect(reloaded).toBe(true);
  });

  const urgency: Array<{ input: EngineInput["type"]; workflowChanged: boolean; urgent: boolean }> = [
    { input: "accepted", workflowChanged: false, urgent: false },
    { input: "started", workflowChanged: false, urgent: false },
    { input: "waiting", workflowChanged: false, urgent: false },
    // A progress report that ended the workflow (say, its timeout passed meanwhile) is not one.
    { input: "started", workflowChanged: true, urgent: true },
    { input: "finished", workflowChanged: false, urgent: true },
    { input: "lost", workflowChanged: false, urgent: true },
    { input: "unknownAttempt", workflowChanged: false, urgent: true },
    { input: "cancel", workflowChanged: true, urgent: true },
  ];
  for (const t of urgency) {
    it(`isUrgent(${t.input}, workflow changed: ${t.workflowChanged}) is ${t.urgent}`, () => {
      expect(isUrgent(t.input, t.workflowChanged)).toBe(t.urgent);
    });
  }
});

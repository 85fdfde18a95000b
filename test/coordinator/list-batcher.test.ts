// WatchWorkflows' sending rule: progress waits for its window, an end goes
// out at the next turn with everything gathered so far.
import { describe, expect, it } from "vitest";
import { createListBatch, decideListSend, type ListBatch } from "../../src/coordinator/list-batcher.js";

const batch = (ids: string[], urgent: boolean, since?: number): ListBatch => ({ dirty: new Set(ids), urgent, ...(since !== undefined ? { since } : {}) });

describe("decideListSend", () => {
  const cases: Array<[string, ListBatch, number, number, ReturnType<typeof decideListSend>]> = [
    ["nothing gathered: wait for a change", batch([], false), 1_000, 100, { kind: "idle" }],
    ["progress only: at the end of its window", batch(["a"], false, 1_000), 1_010, 100, { kind: "at", at: 1_100 }],
    ["progress whose window has passed: now", batch(["a"], false, 1_000), 1_100, 100, { kind: "soon" }],
    ["an end: now, however young the window", batch(["a", "b"], true, 1_000), 1_000, 100, { kind: "soon" }],
    ["an end with a window of an hour: still now", batch(["a"], true, 0), 1, 3_600_000, { kind: "soon" }],
    ["no window: progress goes at the next turn too", batch(["a"], false, 5), 5, 0, { kind: "soon" }],
  ];
  for (const [name, b, now, windowMs, want] of cases) {
    it(name, () => expect(decideListSend(b, now, windowMs)).toEqual(want));
  }
});

describe("createListBatch", () => {
  it("keeps ids in first-seen order, counts the window from the first change, and resets once all are taken", () => {
    let now = 100;
    const b = createListBatch(() => now);
    b.add("x", false);
    now = 150;
    b.add("y", false);
    b.add("x", false);
    expect(b.state).toEqual({ dirty: new Set(["x", "y"]), urgent: false, since: 100 });
    b.add("z", true);
    expect(b.state.urgent).toBe(true);
    expect(b.take(2)).toEqual(["x", "y"]);
    // What is left is still urgent: the end has not been sent yet.
    expect(b.state).toEqual({ dirty: new Set(["z"]), urgent: true, since: 100 });
    expect(b.take(10)).toEqual(["z"]);
    expect(b.state).toEqual({ dirty: new Set(), urgent: false });
    now = 400;
    b.add("w", false);
    expect(b.state.since).toBe(400);
  });
});

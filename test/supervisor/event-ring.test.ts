import { describe, expect, it } from "vitest";
import { EventRing } from "../../src/supervisor/event-ring.js";

function kept(ring: EventRing<string>): string[] {
  return ring.slice(ring.oldestSeq, 1_000);
}

describe("EventRing", () => {
  it("keeps the newest `capacity` events with contiguous sequence numbers", () => {
    const ring = new EventRing<string>(3);
    expect([ring.lastSeq, ring.oldestSeq, ring.size]).toEqual([0, 1, 0]);
    for (const e of ["a", "b", "c", "d", "e"]) ring.push(e);
    expect(kept(ring)).toEqual(["c", "d", "e"]);
    expect([ring.oldestSeq, ring.lastSeq]).toEqual([3, 5]);
    expect(ring.slice(4, 10)).toEqual(["d", "e"]);
    expect(ring.slice(1, 1)).toEqual(["c"]);
  });

  it("drops the oldest events past its byte budget, keeps the newest even when it alone is over", () => {
    const ring = new EventRing<string>(100, 10);
    const cases: Array<[string, number, string[], number]> = [
      // event, bytes, kept afterwards, bytes held
      ["a", 4, ["a"], 4],
      ["b", 4, ["a", "b"], 8],
      ["c", 4, ["b", "c"], 8],
      ["d", 0, ["b", "c", "d"], 8],
      ["big", 25, ["big"], 25],
      ["e", 1, ["e"], 1],
      ["f", 9, ["e", "f"], 10],
    ];
    for (const [event, bytes, want, held] of cases) {
      ring.push(event, bytes);
      expect([kept(ring), ring.bytes]).toEqual([want, held]);
      expect(ring.oldestSeq + ring.size - 1).toBe(ring.lastSeq);
    }
  });

  it("grows again in order after byte evictions left it partly empty", () => {
    const ring = new EventRing<string>(5, 3);
    for (const e of ["a", "b", "c"]) ring.push(e, 1);
    ring.push("d", 2); // evicts a, b
    for (const e of ["e", "f", "g", "h"]) ring.push(e, 0);
    expect(kept(ring)).toEqual(["d", "e", "f", "g", "h"]);
    ring.push("i", 0); // at capacity: evicts d
    expect(kept(ring)).toEqual(["e", "f", "g", "h", "i"]);
    expect(ring.bytes).toBe(0);
  });
});

// Table tests of the credit allocation (src/supervisor/credits.ts): how one
// runner's slots are shared among Link streams.
import { describe, expect, it } from "vitest";
import { allocateCredits, type RunnerCreditInput } from "../../src/supervisor/credits.js";

const L = (outstanding: number, demand = 0) => ({ outstanding, demand });

describe("allocateCredits", () => {
  const cases: Array<{ name: string; input: RunnerCreditInput; want: number[] }> = [
    { name: "no links, nothing to grant", input: { capacity: 8, held: 0, links: [] }, want: [] },
    { name: "an idle supervisor pre-grants one link everything", input: { capacity: 8, held: 0, links: [L(0)] }, want: [8] },
    { name: "an idle supervisor pre-grants two links a fair share each", input: { capacity: 8, held: 0, links: [L(0), L(0)] }, want: [4, 4] },
    { name: "the pre-grant share rounds down (capacity / links)", input: { capacity: 7, held: 0, links: [L(0), L(0), L(0)] }, want: [2, 2, 2] },
    { name: "held jobs leave less to pre-grant", input: { capacity: 8, held: 6, links: [L(0), L(0)] }, want: [2, 0] },
    { name: "held jobs leave less to pre-grant (rotated start)", input: { capacity: 8, held: 6, links: [L(0), L(0)], start: 1 }, want: [0, 2] },
    { name: "a pre-grant is not topped beyond the share", input: { capacity: 8, held: 0, links: [L(4), L(1)] }, want: [4, 4] },
    { name: "a new link gets its share from one that had everything", input: { capacity: 8, held: 0, links: [L(8), L(0)] }, want: [4, 4] },
    { name: "a share is not taken from under a link's demand", input: { capacity: 8, held: 0, links: [L(8, 6), L(0)] }, want: [6, 2] },
    { name: "demand gets every free slot", input: { capacity: 8, held: 0, links: [L(0, 100)] }, want: [8] },
    { name: "demand is met exactly when it is small", input: { capacity: 8, held: 2, links: [L(0, 3), L(0, 0)] }, want: [3, 0] },
    { name: "two waiting links share the free slots equally", input: { capacity: 8, held: 0, links: [L(0, 50), L(0, 50)] }, want: [4, 4] },
    { name: "water-filling: what a small demand leaves goes to the larger", input: { capacity: 10, held: 0, links: [L(0, 2), L(0, 50), L(0, 50)] }, want: [2, 4, 4] },
    { name: "an odd slot goes to the link the rotation starts at", input: { capacity: 3, held: 0, links: [L(0, 9), L(0, 9)], start: 1 }, want: [1, 2] },
    { name: "a full runner grants nothing", input: { capacity: 8, held: 8, links: [L(0, 5), L(0, 5)] }, want: [0, 0] },
    { name: "credit already granted counts against the free slots", input: { capacity: 8, held: 2, links: [L(3, 3), L(0, 9)] }, want: [3, 3] },
    { name: "an unused pre-grant is taken back for a link that waits", input: { capacity: 8, held: 0, links: [L(8, 0), L(0, 5)] }, want: [3, 5] },
    { name: "a pre-grant beyond demand is taken back, the demand-backed part kept", input: { capacity: 8, held: 0, links: [L(8, 2), L(0, 9)] }, want: [2, 6] },
    { name: "demand-backed credit is never taken back", input: { capacity: 8, held: 0, links: [L(8, 8), L(0, 5)] }, want: [8, 0] },
    { name: "jobs sent without credit (unary) over-fill: spare pre-grants shrink", input: { capacity: 8, held: 7, links: [L(4, 0), L(4, 0)] }, want: [0, 1] },
    { name: "over-filled with demand-backed credit: nothing more, nothing taken", input: { capacity: 4, held: 10, links: [L(2, 2)] }, want: [2] },
    { name: "zero capacity grants nothing", input: { capacity: 0, held: 0, links: [L(0, 3), L(0)] }, want: [0, 0] },
    { name: "more links than slots: the pre-grant share is 0", input: { capacity: 2, held: 0, links: [L(0), L(0), L(0)] }, want: [0, 0, 0] },
    { name: "more links than slots with demand: the rotation decides", input: { capacity: 2, held: 0, links: [L(0, 1), L(0, 1), L(0, 1)], start: 2 }, want: [1, 0, 1] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(allocateCredits(c.input)).toEqual(c.want);
    });
  }

  it("never grants more than the free capacity in total, whatever the links", () => {
    // A deterministic sweep over small states: the sum of credit plus held
    // jobs stays within capacity unless it was already over (demand-backed
    // credit or jobs sent without credit), and then nothing is added.
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    for (let k = 0; k < 5_000; k++) {
      const capacity = rnd(12);
      const held = rnd(14);
      const links = Array.from({ length: 1 + rnd(4) }, () => L(rnd(6), rnd(10)));
      const before = links.reduce((s, l) => s + l.outstanding, 0);
      const out = allocateCredits({ capacity, held, links, start: rnd(5) });
      const after = out.reduce((s, x) => s + x, 0);
      if (held + before <= capacity) expect(held + after).toBeLessThanOrEqual(capacity);
      else expect(after).toBeLessThanOrEqual(before);
      out.forEach((x, i) => {
        expect(x).toBeGreaterThanOrEqual(0);
        // Demand-backed credit is kept.
        expect(x).toBeGreaterThanOrEqual(Math.min(links[i]!.outstanding, links[i]!.demand));
      });
    }
  });
});

// The cost budget of CEL evaluations (docs/semantics.md C4): what cannot fit
// is rejected at validation, what blows up at run time fails the evaluation
// with "expression exceeded its cost budget", and ordinary expressions keep
// working.
import { celList } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { compileCel } from "../../src/workflow/cel.js";
import { DEFAULT_CEL_BUDGET, Meter, estimateCost } from "../../src/workflow/cel-budget.js";
import { parse } from "@bufbuild/cel";

const literal = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(", ")}]`;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function evaluate(source: string, input: Record<string, unknown>, budget = DEFAULT_CEL_BUDGET) {
  const c = compileCel(source, budget);
  if ("error" in c) throw new Error(c.error);
  return c.program({ input: input as never, inputs: {} });
}

describe("C4: static cost estimate", () => {
  const table = [
    { expr: `${literal(300)}.map(a, ${literal(300)}.map(b, ${literal(300)}.map(c, a))).size() > 0`, rejected: true },
    // The 1 KB shape: four nested comprehensions over 60 items.
    { expr: `${literal(60)}.map(a, ${literal(60)}.map(b, ${literal(60)}.map(c, ${literal(60)}.exists(d, a + b + c + d == 0)))).size() > 0`, rejected: true },
    { expr: `${literal(100)}.map(a, ${literal(100)}.map(b, a)).size() > 0`, rejected: false },
    { expr: `input.xs.map(a, input.xs.map(b, input.xs.map(c, a))).size() > 0`, rejected: false },
    { expr: `inputs.n > 3`, rejected: false },
  ];
  for (const t of table) {
    it(`C4: ${t.expr.slice(0, 50)}… is ${t.rejected ? "rejected" : "accepted"} at compile time`, () => {
      const c = compileCel(t.expr);
      if (t.rejected) expect("error" in c && c.error).toMatch(/exceeds its cost budget: it takes at least \d+ evaluation steps/);
      else expect("program" in c).toBe(true);
    });
  }

  it("C4: the estimate multiplies nested comprehensions over literals and counts an input range as empty", () => {
    const one = estimateCost(parse(`${literal(10)}.all(x, x > 0)`).expr);
    const two = estimateCost(parse(`${literal(10)}.all(x, ${literal(10)}.all(y, y > x))`).expr);
    const unknown = estimateCost(parse(`input.xs.all(x, ${literal(10)}.all(y, y > x))`).expr);
    expect(two).toBeGreaterThan(10 * one - 100);
    expect(unknown).toBeLessThan(one);
  });
});

describe("C4: run-time budget", () => {
  it("C4: nested maps over an input list fail the evaluation instead of running for minutes", () => {
    const r = evaluate("input.xs.map(a, input.xs.map(b, input.xs.map(c, a))).size() > 0", { xs: range(300) });
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.message).toMatch(/^expression exceeded its cost budget \((more than 1000000 evaluation steps|ran longer than)/);
  });

  it("C4: a comprehension that builds too large a value fails on its size", () => {
    const r = evaluate("input.xs.map(a, input.big).size() > 0", { xs: range(300), big: range(100_000) }, { ...DEFAULT_CEL_BUDGET, maxSteps: Number.MAX_SAFE_INTEGER });
    expect(!r.ok && r.message).toMatch(/^expression exceeded its cost budget \(built a value of size \d+, more than the limit of 1000000\)/);
  });

  it("C4: comparing values that share parts is charged by their full size", () => {
    const r = evaluate("input.xs.map(a, input.big) == input.xs.map(a, input.big)", { xs: range(9), big: range(100_000) });
    expect(!r.ok && r.message).toMatch(/^expression exceeded its cost budget \(more than 1000000 evaluation steps\)/);
  });

  it("C4: a result built from one input list many times over is measured before it is copied out", () => {
    const r = evaluate("input.xs.map(a, input.big)", { xs: range(20), big: range(100_000) }, { ...DEFAULT_CEL_BUDGET, maxSize: 500_000 });
    expect(!r.ok && r.message).toMatch(/built a value of size/);
  });

  it("C4: matches() is charged by text length times pattern length", () => {
    const r = evaluate("input.s.matches('(a+)+$')", { s: "a".repeat(100_000) }, { ...DEFAULT_CEL_BUDGET, maxSteps: 100_000 });
    expect(!r.ok && r.message).toMatch(/more than 100000 evaluation steps/);
  });

  it("C4: the wall-clock limit stops an evaluation whose steps are within budget", () => {
    const r = evaluate("input.xs.map(a, input.xs.map(b, a)).size() > 0", { xs: range(2_000) }, { maxSteps: Number.MAX_SAFE_INTEGER, maxSize: Number.MAX_SAFE_INTEGER, maxMillis: 0 });
    expect(!r.ok && r.message).toMatch(/ran longer than 0 ms/);
  });

  it("C4: ordinary expressions fit: a map over 10,000 items and a scan of 10 tags of 2,000 rows", () => {
    const rows = range(2_000).map((i) => ({ id: i, tags: ["a", "b", "c", "d", "e", "f", "g", "h", "i", i % 2 === 0 ? "x" : "y"] }));
    expect(evaluate("input.rows.filter(r, r.tags.exists(t, t == 'x')).size() == 1000", { rows })).toEqual({ ok: true, value: true });
    expect(evaluate("input.xs.map(x, x * 2)[9999] == 19998", { xs: range(10_000) })).toEqual({ ok: true, value: true });
    // CEL error absorption in exists() is unchanged by the metering.
    expect(evaluate("[0, 1].exists(x, 1 / x > 0)", {})).toEqual({ ok: true, value: true });
  });

  it("C4: a compiled program is reusable after one evaluation ran over its budget", () => {
    const c = compileCel("input.xs.map(a, input.xs.map(b, a)).size()", { ...DEFAULT_CEL_BUDGET, maxSteps: 50_000 });
    if ("error" in c) throw new Error(c.error);
    expect(c.program({ input: { xs: range(1_000) }, inputs: {} }).ok).toBe(false);
    expect(c.program({ input: { xs: range(10) }, inputs: {} })).toEqual({ ok: true, value: 10 });
  });
});

describe("Meter.size", () => {
  const table: Array<{ name: string; value: () => unknown; size: number }> = [
    { name: "a scalar", value: () => 7n, size: 1 },
    { name: "a string, one per 16 characters", value: () => "x".repeat(64), size: 5 },
    { name: "a flat list", value: () => celList([1n, 2n, 3n]), size: 4 },
    { name: "a list holding one list twice", value: () => { const l = celList([1n, 2n]); return celList([l, l]); }, size: 7 },
  ];
  for (const t of table) {
    it(`${t.name} has size ${t.size}`, () => {
      expect(new Meter(DEFAULT_CEL_BUDGET).size(t.value())).toBe(t.size);
    });
  }
});

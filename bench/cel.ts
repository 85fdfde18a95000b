// The cost of the CEL budget (src/workflow/cel-budget.ts): a normal `when:`
// and a 10,000-item map, metered (as the engine runs them) against the
// library's own unmetered evaluation of the same expression on the same
// values; and how long the worst shapes of issue 15 run before their budget
// stops them.
import { celEnv, celList, celMap, parse, plan, type CelInput, type CelValue } from "@bufbuild/cel";
import type { JsonMap, JsonValue } from "../src/common/json.js";
import { compileCel } from "../src/workflow/cel.js";

export interface CelFigures {
  /** µs per evaluation of a normal when, unmetered and metered (inputs converted in both). */
  when: { plainUs: number; meteredUs: number };
  /** ms per evaluation of `input.xs.map(x, x * 2)` over 10,000 items. */
  map10k: { plainMs: number; meteredMs: number };
  /** ms until the budget stopped three nested maps over a 300-item input list. */
  poisonMs: number;
  /** ms until the budget stopped four nested comprehensions over a 60-item input list. */
  fourDeepMs: number;
}

/** JSON to CEL values, as the engine's conversion does (integral numbers are ints). */
function toCel(v: JsonValue): CelInput {
  if (typeof v === "number") return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return celList(v.map(toCel));
  if (v !== null && typeof v === "object") return celMap(new Map(Object.entries(v).map(([k, x]) => [k, toCel(x as JsonValue) as CelValue])));
  return v;
}

function perRun(runs: number, fn: () => unknown): number {
  for (let i = 0; i < Math.min(runs, 200); i++) fn();
  const start = performance.now();
  for (let i = 0; i < runs; i++) fn();
  return (performance.now() - start) / runs;
}

function pair(source: string, input: JsonMap, inputs: JsonMap, runs: number): { plain: number; metered: number } {
  const unmetered = plan(celEnv(), parse(source)) as (ctx: Record<string, CelInput>) => unknown;
  const compiled = compileCel(source);
  if ("error" in compiled) throw new Error(compiled.error);
  const plain = perRun(runs, () => unmetered({ input: toCel(input), inputs: toCel(inputs) }));
  const metered = perRun(runs, () => {
    const r = compiled.program({ input, inputs });
    if (!r.ok) throw new Error(r.message);
  });
  return { plain, metered };
}

function untilStopped(source: string, input: JsonMap): number {
  const compiled = compileCel(source);
  if ("error" in compiled) throw new Error(compiled.error);
  const start = performance.now();
  const r = compiled.program({ input, inputs: {} });
  if (r.ok) throw new Error(`${source} was not stopped`);
  return performance.now() - start;
}

export function timeCel(quick: boolean): CelFigures {
  const when = pair("input.check.ok == true && inputs.env == 'prod' && inputs.n > 3", { check: { ok: true, rows: 12 } }, { env: "prod", n: 5 }, quick ? 2_000 : 50_000);
  const xs = Array.from({ length: 10_000 }, (_, i) => i);
  const map = pair("input.xs.map(x, x * 2)", { xs }, {}, quick ? 3 : 20);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  return {
    when: { plainUs: when.plain * 1000, meteredUs: when.metered * 1000 },
    map10k: { plainMs: map.plain, meteredMs: map.metered },
    poisonMs: untilStopped("input.a.map(x, input.a.map(y, input.a.map(z, x))).size() > 0", { a: range(300) }),
    fourDeepMs: untilStopped("input.a.map(p, input.a.map(q, input.a.map(r, input.a.exists(s, p + q + r + s < 0)))).size() > 0", { a: range(60) }),
  };
}

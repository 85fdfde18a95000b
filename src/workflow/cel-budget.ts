// The cost budget of a CEL evaluation. @bufbuild/cel 0.6.1 has no cost
// tracking or interruption hook, and the engine evaluates `when` and
// `for_each` inside the coordinator's event loop, so an expression like
// `L.map(a, L.map(b, L.map(c, a)))` over a 300-item list would run for
// minutes and grow the heap until the process dies. Three bounds, all in
// this module:
//
// - Before it runs (at validation): a lower bound of the cost, counting
//   comprehensions over list literals, whose sizes are known. What cannot
//   fit is rejected with the step and field (estimateCost).
// - While it runs: every comprehension iteration is charged the size of its
//   loop body, and every function call is charged the size of its arguments
//   (equality, `in`, concatenation and `matches` are linear in them), so
//   the step count tracks the work done. The values a comprehension builds
//   are measured (deeply, counting shared parts each time they are
//   reachable) after every iteration, and the clock is read every 32
//   charges. Going over any limit throws out of the library's evaluator at
//   once; compileCel turns that into a failed evaluation.
// - Work between two charges is one operation on values no larger than the
//   size limit, so the overshoot past the wall-clock limit is bounded too.
//   What a regular expression costs is bounded because the library's RE2
//   port runs in linear time.
//
// Charges are made by wrapping the library's function groups (what its
// planner calls for every call node) and by calls the compiler inserts into
// each comprehension; the user cannot name either (the names are unknown
// to validation).
import { isCelList, isCelMap, type CelEnv, type CelValue } from "@bufbuild/cel";

/** Limits of one evaluation. */
export interface CelBudget {
  /**
   * Evaluation steps: each comprehension iteration costs the number of
   * expression nodes in its loop body, each function call the size of its
   * list, map and string arguments (default 1,000,000: about 100-300 ms on
   * the slowest shapes, more on a loaded machine; scanning 10 tags of each of 10,000 rows takes
   * about 800,000).
   */
  maxSteps: number;
  /**
   * Size of any list a comprehension builds and of the result: elements and
   * map entries, counted through nested lists and maps, plus one per 16
   * characters of a string (default 1,000,000).
   */
  maxSize: number;
  /** Wall-clock limit of one evaluation in ms (default 5,000): the backstop for work the step count undercharges; generous, because on a loaded machine a map over 10,000 items took 2 s and must not fail. */
  maxMillis: number;
}

export const DEFAULT_CEL_BUDGET: CelBudget = { maxSteps: 1_000_000, maxSize: 1_000_000, maxMillis: 5_000 };

/** Thrown out of the evaluator when a limit is passed; its message says which. */
export class BudgetExceeded extends Error {
  override name = "BudgetExceeded";
}

/** The message every budget failure starts with (CONDITION_ERROR / FOR_EACH_ERROR). */
export const BUDGET_MESSAGE = "expression exceeded its cost budget";

/** Names of the calls the compiler inserts; `@` keeps them out of what a user can write. */
export const TICK_PREFIX = "@horus_tick_";
export const BUILT = "@horus_built";

/** The running evaluation's meter (evaluations are synchronous and never nest). */
let current: Meter | undefined;

export class Meter {
  steps = 0;
  private charges = 0;
  private readonly deadline: number;
  /** Deep sizes of the lists and maps seen, by identity (a Map: a WeakMap of many keys is several times slower, and a meter lives for one evaluation). */
  private readonly sizes = new Map<object, number>();
  /** Set once a limit was passed: later charges throw again, whatever caught the first. */
  exceeded: string | undefined;

  constructor(readonly budget: CelBudget) {
    this.deadline = performance.now() + budget.maxMillis;
  }

  /** Runs `fn` with this meter charged by the evaluator's calls. */
  run<T>(fn: () => T): T {
    const previous = current;
    current = this;
    try {
      return fn();
    } finally {
      current = previous;
    }
  }

  charge(n: number): void {
    this.steps += n;
    if (this.exceeded !== undefined) throw new BudgetExceeded(this.exceeded);
    if (this.steps > this.budget.maxSteps) this.fail(`more than ${this.budget.maxSteps} evaluation steps`);
    // The clock every 32 charges: reading it on each would be a third of a small loop's time.
    if ((++this.charges & 31) === 0 && performance.now() > this.deadline) this.fail(`ran longer than ${this.budget.maxMillis} ms`);
  }

  /** What an argument adds to a call's cost: the size of a list or map, 1 per 16 characters of a string; scalars nothing. */
  weight(v: unknown): number {
    if (typeof v === "string") return v.length >> 4;
    return typeof v === "object" && v !== null ? this.size(v) : 0;
  }

  /** Checks the size of a value being built (an accumulator, the result). */
  built(v: unknown): void {
    const size = this.size(v);
    if (size > this.budget.maxSize) this.fail(`built a value of size ${size}, more than the limit of ${this.budget.maxSize}`);
  }

  private fail(why: string): never {
    this.exceeded = `${BUDGET_MESSAGE} (${why})`;
    throw new BudgetExceeded(this.exceeded);
  }

  /** Deep size, memoized per object; the walk is iterative (lists built by map() nest one level per item). */
  size(v: unknown): number {
    if (typeof v === "string") return 1 + (v.length >> 4);
    if (typeof v !== "object" || v === null) return 1;
    if (v instanceof Uint8Array) return 1 + (v.length >> 4);
    const known = this.sizes.get(v);
    if (known !== undefined) return known;
    // Post-order: an object is measured once all its object parts are; it is looked at at most twice.
    const stack: object[] = [v];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (this.sizes.has(top)) {
        stack.pop();
        continue;
      }
      const concat = isConcat(top);
      const parts = partsOf(top);
      let total = concat ? 0 : 1;
      let missing = false;
      for (const p of parts) {
        if (typeof p !== "object" || p === null || p instanceof Uint8Array) {
          total += this.size(p);
          continue;
        }
        const n = this.sizes.get(p);
        if (n === undefined) {
          stack.push(p);
          missing = true;
        } else total += n;
      }
      if (missing) continue;
      stack.pop();
      // Saturate: a DAG of shared parts can be astronomically large.
      this.sizes.set(top, Math.min(total, Number.MAX_SAFE_INTEGER));
    }
    return this.sizes.get(v)!;
  }
}

/**
 * `_lists` is an internal field of @bufbuild/cel 0.6.1's ConcatList (pinned;
 * cel.ts's flatten relies on it too, and test/workflow/cel.test.ts fails if it moves).
 */
function isConcat(v: object): boolean {
  return Array.isArray((v as { _lists?: unknown })._lists);
}

/** Direct parts of a value: a concatenation's lists, a list's elements, a map's keys and values. */
function partsOf(v: object): unknown[] {
  const lists = (v as { _lists?: unknown })._lists;
  if (Array.isArray(lists)) return lists;
  if (isCelList(v)) {
    // By index: the list's generator is several times slower.
    const out = new Array<unknown>(v.size);
    for (let i = 0; i < v.size; i++) out[i] = v.get(i);
    return out;
  }
  if (isCelMap(v)) {
    const out: unknown[] = [];
    for (const [k, x] of v) out.push(k, x);
    return out;
  }
  return [];
}

/** Calls whose cost does not grow with their arguments (sizes are stored, conversions take scalars). */
const CONSTANT_COST = new Set(["size", "int", "uint", "double", "bool", "dyn", "type", "!_", "-_", "_?_:_"]);

type Group = { name: string; call(id: number, target: CelValue | undefined, args: CelValue[]): unknown };

/**
 * The environment the planner sees: the library's functions, each charged
 * to the running meter, plus the calls the compiler inserts.
 */
export function meteredEnv(base: CelEnv): CelEnv {
  const wrapped = new Map<string, Group | undefined>();
  const funcs = {
    find(name: string): Group | undefined {
      if (wrapped.has(name)) return wrapped.get(name);
      let g: Group | undefined;
      if (name.startsWith(TICK_PREFIX)) {
        const weight = Number(name.slice(TICK_PREFIX.length));
        // The loop condition passes through; the iteration is charged first.
        g = { name, call: (_id, _t, args) => (current?.charge(weight), args[0]) };
      } else if (name === BUILT) {
        g = { name, call: (_id, _t, args) => (current?.built(args[0]), args[0]) };
      } else {
        const inner = base.funcs.find(name) as Group | undefined;
        if (inner) {
          const constant = CONSTANT_COST.has(name);
          const isMatch = name === "matches";
          const isAdd = name === "_+_";
          g = {
            name,
            call(id, target, args) {
              const m = current;
              if (m) {
                // The call itself is paid for by its node in the loop body's weight; what is charged here grows with the arguments.
                let cost = 0;
                if (isMatch && typeof target === "string" && typeof args[0] === "string") {
                  // RE2 is linear, in the product of the text's and the pattern's length (measured: about one step's time per pair).
                  cost = target.length * Math.max(1, args[0].length);
                } else if (isAdd && isCelList(args[0])) {
                  // Concatenation keeps the left list as it is (a map() accumulator): only the new part costs.
                  cost = m.weight(args[1]);
                } else if (!constant) {
                  if (target !== undefined) cost += m.weight(target);
                  for (const a of args) cost += m.weight(a);
                }
                m.charge(cost);
              }
              return inner.call(id, target, args);
            },
          };
          // The planner iterates nothing else of a group.
          Object.assign(g, { [Symbol.iterator]: () => (inner as unknown as Iterable<unknown>)[Symbol.iterator]() });
        }
      }
      wrapped.set(name, g);
      return g;
    },
  };
  return { namespace: base.namespace, registry: base.registry, funcs, variables: base.variables } as unknown as CelEnv;
}

/** The AST node type, taken from the library's own types. */
type Expr = ReturnType<typeof import("@bufbuild/cel").parse>["expr"];

/** Number of nodes of an expression (iteratively: expressions can nest deeply). */
export function nodeCount(root: Expr | undefined): number {
  let n = 0;
  const stack: Array<Expr | undefined> = [root];
  while (stack.length > 0) {
    const e = stack.pop();
    if (!e) continue;
    n++;
    stack.push(...children(e));
  }
  return n;
}

function children(e: Expr): Array<Expr | undefined> {
  const k = e.exprKind;
  switch (k.case) {
    case "selectExpr":
      return [k.value.operand];
    case "callExpr":
      return [k.value.target, ...k.value.args];
    case "listExpr":
      return k.value.elements;
    case "structExpr":
      return k.value.entries.flatMap((en) => [en.keyKind.case === "mapKey" ? en.keyKind.value : undefined, en.value]);
    case "comprehensionExpr":
      return [k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result];
    default:
      return [];
  }
}

/**
 * Rewrites every comprehension so its loop condition charges the
 * iteration (weighted by the loop body's size) and its step reports the
 * accumulator it built. Mutates `root`.
 */
export function instrument(root: Expr): void {
  const stack: Expr[] = [root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    for (const c of children(e)) if (c) stack.push(c);
    const k = e.exprKind;
    if (k.case !== "comprehensionExpr") continue;
    const c = k.value;
    const weight = Math.max(1, nodeCount(c.loopCondition) + nodeCount(c.loopStep));
    if (c.loopCondition) c.loopCondition = call(`${TICK_PREFIX}${weight}`, c.loopCondition);
    if (c.loopStep) c.loopStep = call(BUILT, c.loopStep);
  }
}

function call(fn: string, arg: Expr): Expr {
  // The shape the library's parser produces; the planner reads only these fields.
  return { $typeName: "cel.expr.Expr", id: arg.id, exprKind: { case: "callExpr", value: { $typeName: "cel.expr.Expr.Call", function: fn, args: [arg] } } } as unknown as Expr;
}

/**
 * A lower bound of the steps an evaluation takes, whatever its inputs:
 * comprehensions over list literals run once per element, nested ones
 * multiply; a range whose size depends on the inputs counts as empty.
 */
export function estimateCost(root: Expr): number {
  // Post-order with results on a side stack; iterative for deep expressions.
  const memo = new Map<Expr, { cost: number; size: number | undefined }>();
  const stack: Array<{ e: Expr; done: boolean }> = [{ e: root, done: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    const kids = children(top.e).filter((x): x is Expr => x !== undefined);
    if (!top.done) {
      stack.push({ e: top.e, done: true });
      for (const c of kids) stack.push({ e: c, done: false });
      continue;
    }
    const of = (x: Expr | undefined) => (x ? memo.get(x)! : { cost: 0, size: undefined });
    const k = top.e.exprKind;
    let cost = 1;
    let size: number | undefined;
    if (k.case === "comprehensionExpr") {
      const c = k.value;
      const n = of(c.iterRange).size ?? 0;
      const body = Math.max(1, nodeCount(c.loopCondition) + nodeCount(c.loopStep));
      cost = of(c.iterRange).cost + of(c.accuInit).cost + n * (body + of(c.loopCondition).cost + of(c.loopStep).cost) + of(c.result).cost;
    } else {
      for (const c of kids) cost += of(c).cost;
      if (k.case === "listExpr") size = k.value.elements.length;
      else if (k.case === "structExpr" && k.value.messageName === "") size = k.value.entries.length;
    }
    memo.set(top.e, { cost: Math.min(cost, Number.MAX_SAFE_INTEGER), size });
  }
  return memo.get(root)!.cost;
}

// CEL expressions of `when:` and `for_each:`. Compiled (parsed and planned)
// once at validation time so a bad expression is a Problem before anything
// runs; evaluation is pure computation, so the engine may call it.
//
// JSON and CEL disagree about numbers: JSON has one number type, CEL has int
// and double and no mixed arithmetic (`1.0 * 2` is an error). Integral JSON
// numbers therefore become CEL ints, so `inputs.n > 3` and
// `input.fetch.rows.map(x, x * 2)` work as users expect; fractional numbers
// stay doubles.
//
// Every evaluation runs under a cost budget (cel-budget.ts): a too costly
// expression fails its evaluation, never the process.
import { celEnv, celList, celMap, isCelError, isCelList, isCelMap, isCelUint, parse, plan, type CelInput, type CelList, type CelValue } from "@bufbuild/cel";
import type { JsonMap, JsonValue } from "../common/json.js";
import { BUDGET_MESSAGE, DEFAULT_CEL_BUDGET, Meter, estimateCost, instrument, meteredEnv, type CelBudget } from "./cel-budget.js";

/** Variables an expression may read. `item`/`index` are not among them: they exist only inside instances. */
export const CEL_VARIABLES = ["input", "inputs"] as const;

export interface CelVars {
  /** Outputs of the step's direct dependencies, by step id (null for one that did not succeed). */
  input: JsonMap;
  /** The workflow's submitted inputs. */
  inputs: JsonMap;
}

export type CelProgram = (vars: CelVars) => { ok: true; value: JsonValue } | { ok: false; message: string };

const env = celEnv();
/** What programs are planned against: the same functions, charged to the evaluation's meter. */
const metered = meteredEnv(env);

/** The AST node type, taken from parse() so @bufbuild/cel-spec need not be a direct dependency. */
type Expr = ReturnType<typeof parse>["expr"];

/**
 * Parses and plans `source`; an error text names what is wrong. `budget`
 * limits every evaluation of the program; an expression that needs more
 * steps than it allows whatever the inputs is an error here already.
 */
export function compileCel(source: string, budget: CelBudget = DEFAULT_CEL_BUDGET): { program: CelProgram } | { error: string } {
  const literal = intListLiteral(source, budget);
  if (literal) return literal;
  let parsed;
  try {
    parsed = parse(source);
  } catch (err) {
    // "<input>:1:9: found + ..." -> "at line 1, column 9: found + ..."
    return { error: (err as Error).message.replace(/^<input>:(\d+):(\d+): /, "at line $1, column $2: ") };
  }
  const unknownFns = calledFunctions(parsed.expr).filter((n) => env.funcs.find(n) === undefined);
  if (unknownFns.length > 0) {
    return { error: `unknown function${unknownFns.length > 1 ? "s" : ""} ${unknownFns.map((n) => `"${n}"`).join(", ")}` };
  }
  const unknown = freeIdents(parsed.expr).filter((n) => !(CEL_VARIABLES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    return { error: `unknown variable${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `"${n}"`).join(", ")} (expressions can read ${CEL_VARIABLES.join(" and ")})` };
  }
  const least = estimateCost(parsed.expr);
  if (least > budget.maxSteps) return { error: overBudget(least, budget) };
  instrument(parsed.expr);
  let run: (ctx: Record<string, CelInput>) => unknown;
  try {
    run = plan(metered, parsed) as (ctx: Record<string, CelInput>) => unknown;
  } catch (err) {
    return { error: (err as Error).message };
  }
  const program: CelProgram = (vars) => {
    const meter = new Meter(budget);
    let result: unknown;
    try {
      result = meter.run(() => run({ input: toCel(vars.input), inputs: toCel(vars.inputs) }));
      // The library turns what its evaluator throws into an error value; whatever absorbed it, over budget is over budget.
      if (meter.exceeded !== undefined) return { ok: false, message: meter.exceeded };
      if (isCelError(result)) return { ok: false, message: result.message };
      // The result may share parts many times over (a list of the same input list): measured before it is copied out.
      meter.built(result);
      return { ok: true, value: fromCel(result as CelValue) };
    } catch (err) {
      return { ok: false, message: meter.exceeded ?? (err as Error).message };
    }
  };
  return { program };
}

function overBudget(least: number, budget: CelBudget): string {
  return `the expression exceeds its cost budget: it takes at least ${least} evaluation steps whatever the inputs, more than the limit of ${budget.maxSteps} (comprehensions over list literals multiply: nest fewer or use shorter lists)`;
}

/** CEL whitespace, and a decimal int literal without sign (no leading zeros, as CEL has it) that a double holds exactly. */
const WS = "[ \\t\\n\\f\\r]*";
const INT = "(?:0|[1-9][0-9]{0,14})";
const INT_LIST = new RegExp(`^${WS}\\[${WS}(?:(${INT}(?:${WS},${WS}${INT})*)${WS},?${WS})?\\]${WS}$`);

/**
 * A list of non-negative int literals, such as a for_each over
 * `[0, 1, ..., 9999]`, read without the CEL parser: it takes 20-90 us per
 * element, which was 0.2-0.9 s of a 10,000-item for_each's submission.
 * The same value, cost and budget checks as the general path: a list
 * literal of n constants costs 1 + n steps and builds a value of size
 * 1 + n (test/workflow/cel-literal.test.ts compares the two paths). Anything else
 * (signs, doubles, strings, comments) goes to the parser.
 */
export function intListLiteral(source: string, budget: CelBudget): { program: CelProgram } | { error: string } | undefined {
  const m = INT_LIST.exec(source);
  if (!m) return undefined;
  const items = m[1] === undefined ? [] : m[1].split(",").map((x) => Number(x.trim()));
  const cost = 1 + items.length;
  if (cost > budget.maxSteps) return { error: overBudget(cost, budget) };
  const program: CelProgram = () => {
    if (cost > budget.maxSize) return { ok: false, message: `${BUDGET_MESSAGE} (built a value of size ${cost}, more than the limit of ${budget.maxSize})` };
    return { ok: true, value: items.slice() };
  };
  return { program };
}

/** Named functions and methods called (operators like _+_ are left out: the parser only makes valid ones). */
function calledFunctions(root: Expr): string[] {
  const found = new Set<string>();
  const stack: Expr[] = [root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    const k = e.exprKind;
    if (k.case === "callExpr") {
      if (/^[A-Za-z]/.test(k.value.function)) found.add(k.value.function);
      if (k.value.target) stack.push(k.value.target);
      stack.push(...k.value.args);
    } else if (k.case === "selectExpr" && k.value.operand) stack.push(k.value.operand);
    else if (k.case === "listExpr") stack.push(...k.value.elements);
    else if (k.case === "structExpr") {
      for (const en of k.value.entries) {
        if (en.keyKind.case === "mapKey") stack.push(en.keyKind.value);
        if (en.value) stack.push(en.value);
      }
    } else if (k.case === "comprehensionExpr") {
      for (const x of [k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result]) if (x) stack.push(x);
    }
  }
  return [...found];
}

/** Identifiers not bound by a comprehension (macros like map/exists/all expand to those). */
function freeIdents(root: Expr): string[] {
  const found = new Set<string>();
  const walk = (e: Expr | undefined, bound: ReadonlySet<string>): void => {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case "identExpr":
        if (!bound.has(k.value.name)) found.add(k.value.name);
        break;
      case "selectExpr":
        walk(k.value.operand, bound);
        break;
      case "callExpr":
        walk(k.value.target, bound);
        for (const a of k.value.args) walk(a, bound);
        break;
      case "listExpr":
        for (const a of k.value.elements) walk(a, bound);
        break;
      case "structExpr":
        for (const en of k.value.entries) {
          if (en.keyKind.case === "mapKey") walk(en.keyKind.value, bound);
          walk(en.value, bound);
        }
        break;
      case "comprehensionExpr": {
        const c = k.value;
        walk(c.iterRange, bound);
        walk(c.accuInit, bound);
        const inner = new Set(bound);
        for (const v of [c.iterVar, c.iterVar2, c.accuVar]) if (v) inner.add(v);
        walk(c.loopCondition, inner);
        walk(c.loopStep, inner);
        walk(c.result, inner);
        break;
      }
      default:
        break;
    }
  };
  walk(root, new Set());
  return [...found];
}

/**
 * JSON to CEL values. Lists and maps become the library's own objects here,
 * once, so each keeps its identity however often it is read (the meter
 * measures each once).
 */
function toCel(v: JsonValue): CelInput {
  if (typeof v === "number") return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return celList(v.map(toCel));
  if (v !== null && typeof v === "object") {
    const m = new Map<string, CelInput>();
    for (const [k, x] of Object.entries(v)) m.set(k, toCel(x as JsonValue));
    return celMap(m as Map<string, CelValue>);
  }
  return v;
}

function fromCel(v: CelValue): JsonValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`the result contains ${v}, which JSON cannot hold`);
    return v;
  }
  if (typeof v === "bigint") return Number(v);
  if (isCelUint(v)) return Number(v.value);
  if (isCelList(v)) return flatten(v).map(fromCel);
  if (isCelMap(v)) {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of v) out[String(isCelUint(k) ? k.value : k)] = fromCel(x);
    return out;
  }
  throw new Error(`the result is a CEL value JSON cannot hold`);
}

/**
 * The items of a CEL list. A list built by a macro (`map`, `filter`) is a
 * chain of concatenations one level deep per item, and iterating it with the
 * library's nested generators overflows the stack near 10,000 items; walk the
 * chain with an explicit stack instead. `_lists` is an internal field of
 * @bufbuild/cel 0.6.1 (pinned); test/workflow/cel.test.ts fails if it moves.
 */
function flatten(list: CelList): CelValue[] {
  const out: CelValue[] = [];
  const stack: CelList[] = [list];
  while (stack.length > 0) {
    const l = stack.pop()!;
    const parts = (l as unknown as { _lists?: unknown })._lists;
    if (Array.isArray(parts)) {
      for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i] as CelList);
    } else {
      for (const x of l) out.push(x);
    }
  }
  return out;
}

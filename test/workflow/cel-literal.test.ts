// compileCel reads lists of int literals without the CEL parser (a
// 10,000-item for_each spent up to 0.9 s parsing its list): the result,
// the cost check and the size check must be the general path's. The
// general path is reached with the same list in parentheses, which the
// literal reader does not take.
import { describe, expect, it } from "vitest";
import { compileCel, intListLiteral } from "../../src/workflow/cel.js";
import { DEFAULT_CEL_BUDGET, type CelBudget } from "../../src/workflow/cel-budget.js";

const vars = { input: {}, inputs: {} };

function both(list: string, budget: CelBudget = DEFAULT_CEL_BUDGET) {
  const run = (source: string) => {
    const c = compileCel(source, budget);
    return "error" in c ? { error: c.error } : c.program(vars);
  };
  return { literal: run(list), parsed: run(`(${list})`) };
}

describe("compileCel: lists of int literals", () => {
  // "[,]" and "[01]" are the parser's (which takes both); the rest are read directly.
  const lists = ["[]", "[,]", "[01]", "[0]", "[1, 2, 3]", " [ 7 ,8,\n9 , ] ", `[${Array.from({ length: 1000 }, (_, i) => i).join(",")}]`, "[999999999999999, 0]"];
  for (const list of lists) {
    it(`${JSON.stringify(list.slice(0, 20))}: the general path's value`, () => {
      const { literal, parsed } = both(list);
      expect(parsed).toMatchObject({ ok: true });
      expect(literal).toEqual(parsed);
    });
  }

  it("reads int lists directly, and only those", () => {
    for (const list of ["[]", "[0]", " [ 7 ,8,\n9 , ] ", "[999999999999999, 0]"]) expect(intListLiteral(list, DEFAULT_CEL_BUDGET)).toHaveProperty("program");
    for (const other of ["[,]", "[01]", "[-1]", "[1.5]", "['a']", "[1] + [2]", "[1] // c", "[1000000000000000]", "([1])"]) expect(intListLiteral(other, DEFAULT_CEL_BUDGET)).toBeUndefined();
  });

  it("refuses what the cost budget refuses, with the same words", () => {
    const { literal, parsed } = both("[1, 2, 3, 4]", { ...DEFAULT_CEL_BUDGET, maxSteps: 4 });
    expect(literal).toEqual({ error: expect.stringContaining("at least 5 evaluation steps") });
    // The parenthesised form is one node more; the words are the same.
    expect((parsed as { error: string }).error.replace(/\d+ evaluation/, "N evaluation")).toBe((literal as { error: string }).error.replace(/\d+ evaluation/, "N evaluation"));
  });

  it("fails an evaluation whose list is over the size budget, as the general path does", () => {
    const { literal, parsed } = both("[1, 2, 3, 4]", { ...DEFAULT_CEL_BUDGET, maxSize: 3 });
    expect(parsed).toMatchObject({ ok: false });
    expect(literal).toEqual(parsed);
  });

  it("leaves everything else to the parser: its errors and other literals", () => {
    for (const bad of ["[1,,2]", "[1 2]", "[1, 2"]) expect(compileCel(bad)).toMatchObject({ error: expect.stringMatching(/^at line 1/) });
    for (const other of ["[-1, 2]", "[1.5]", "['a']", "[1, 2] + [3]"]) {
      const c = compileCel(other);
      expect("program" in c && c.program(vars).ok).toBe(true);
    }
  });
});

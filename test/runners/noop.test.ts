import { describe, expect, it } from "vitest";
import { builtinRunners } from "../../src/runners/index.js";
import { createNoopRunner } from "../../src/runners/noop.js";
import { output, run } from "./helpers.js";

describe("noop runner", () => {
  it("returns the dependency outputs at once", async () => {
    const r = await run(createNoopRunner(), "ignored", { input: { a: { rows: [1] }, b: "x" } });
    expect(output(r)).toEqual({ a: { rows: [1] }, b: "x" });
    expect(r.logs).toEqual([]);
  });
});

describe("builtinRunners", () => {
  it("offers js, shell and noop", async () => {
    const runners = builtinRunners();
    expect([...runners.keys()].sort()).toEqual(["js", "noop", "shell"]);
    for (const [name, runner] of runners) expect(runner.name).toBe(name);
    await Promise.all([...runners.values()].map((r) => r.close?.()));
  });
});

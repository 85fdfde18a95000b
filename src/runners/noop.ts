// The noop runner: does no work and answers at once with the outputs of the
// step's dependencies, which makes it the cheapest way to join branches of a
// DAG and the benchmark baseline for the dispatch path itself.
import type { Runner, RunContext, RunResult } from "./types.js";

export function createNoopRunner(): Runner {
  return {
    name: "noop",
    run(ctx: RunContext): Promise<RunResult> {
      return Promise.resolve({ ok: true, output: ctx.job.input });
    },
  };
}

import type { JsonValue } from "../../src/common/json.js";
import type { JobInput, LogStreamName, Runner, RunResult } from "../../src/runners/types.js";

let counter = 0;

export function makeJob(payload: string, over: Partial<JobInput> = {}): JobInput {
  counter++;
  return {
    attemptId: `att-${counter}`,
    workflowId: "wf-1",
    stepId: "step",
    attempt: 1,
    runner: "test",
    payload,
    input: {},
    inputs: {},
    timeoutMs: 10_000,
    ...over,
  };
}

export interface Ran {
  result: RunResult;
  logs: Array<{ stream: LogStreamName; line: string }>;
}

export async function run(
  runner: Runner,
  payload: string,
  over: Partial<JobInput> = {},
  opts: { signal?: AbortSignal; onLog?: (stream: LogStreamName, line: string) => void } = {},
): Promise<Ran> {
  const logs: Ran["logs"] = [];
  const result = await runner.run({
    job: makeJob(payload, over),
    signal: opts.signal ?? new AbortController().signal,
    log(stream, line) {
      logs.push({ stream, line });
      opts.onLog?.(stream, line);
    },
  });
  return { result, logs };
}

export function output(r: Ran): JsonValue {
  if (!r.result.ok) throw new Error(`expected success, got ${r.result.error.code}: ${r.result.error.message}`);
  return r.result.output;
}


export async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

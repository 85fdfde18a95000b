import { afterAll, describe, expect, it } from "vitest";
import { createJsRunner } from "../../src/runners/js/runner.js";
import { processGone } from "../helpers/wait.js";
import { output, run, waitFor } from "./helpers.js";

/** A payload's way out of node:vm to the process that runs it (node:vm is no sandbox). */
const PROCESS = "this.constructor.constructor('return process')()";

describe("js runner", () => {
  const runner = createJsRunner({ maxOldGenerationSizeMb: 64 });
  afterAll(() => runner.close?.());

  it("returns an object literal", async () => {
    expect(output(await run(runner, "({ rows: [1, 2, 3] })"))).toEqual({ rows: [1, 2, 3] });
  });

  it("binds input (dependency outputs) and returns the completion value", async () => {
    const r = await run(runner, "let data = input.fetch;\ndata.rows.map((x) => x * 2)", {
      input: { fetch: { rows: [1, 2, 3] } },
    });
    expect(output(r)).toEqual([2, 4, 6]);
  });

  it("binds inputs (workflow inputs)", async () => {
    const r = await run(runner, "`${inputs.greeting}, ${inputs.who}!`", { inputs: { greeting: "hello", who: "horus" } });
    expect(output(r)).toBe("hello, horus!");
  });

  it("gives every job a fresh context", async () => {
    expect(output(await run(runner, "globalThis.leak = 42; let x = 1; x"))).toBe(1);
    expect(output(await run(runner, "let x = 2; typeof globalThis.leak"))).toBe("undefined");
  });

  it("sends console output as log lines, in order", async () => {
    const r = await run(runner, 'console.log("one"); console.info("two", 2); console.warn("three"); console.error("four\\nfive"); console.debug({ a: 1 }); 7');
    expect(output(r)).toBe(7);
    expect(r.logs).toEqual([
      { stream: "stdout", line: "one" },
      { stream: "stdout", line: "two 2" },
      { stream: "stderr", line: "three" },
      { stream: "stderr", line: "four" },
      { stream: "stderr", line: "five" },
      { stream: "stdout", line: "{ a: 1 }" },
    ]);
  });

  it("turns a thrown error into SCRIPT_ERROR with its message and line", async () => {
    const r = await run(runner, 'const a = 1;\nthrow new Error("boom\\nsecond line")');
    expect(r.result.ok).toBe(false);
    if (r.result.ok) return;
    expect(r.result.error.code).toBe("SCRIPT_ERROR");
    expect(r.result.error.message).toBe("Error: boom (line 2)");
  });

  it("reports syntax errors and thrown non-errors", async () => {
    const syntax = await run(runner, "let x = ;");
    expect(syntax.result).toMatchObject({ ok: false, error: { code: "SCRIPT_ERROR" } });
    if (!syntax.result.ok) expect(syntax.result.error.message).toMatch(/^SyntaxError: .*\(line 1\)$/);
    const str = await run(runner, 'throw "plain"');
    expect(str.result).toEqual({ ok: false, error: { code: "SCRIPT_ERROR", message: "plain" } });
  });

  it("awaits a promise result", async () => {
    const r = await run(runner, "(async () => { await new Promise((r) => setTimeout(r, 20)); return { done: input.n + 1 }; })()", {
      input: { n: 1 },
    });
    expect(output(r)).toEqual({ done: 2 });
  });

  it("fails with SCRIPT_ERROR when the promise rejects", async () => {
    const r = await run(runner, 'Promise.reject(new TypeError("nope"))');
    expect(r.result).toEqual({ ok: false, error: { code: "SCRIPT_ERROR", message: "TypeError: nope (line 1)" } });
  });

  it("turns undefined into null", async () => {
    expect(output(await run(runner, "undefined"))).toBeNull();
    expect(output(await run(runner, "let y = 3;"))).toBeNull();
    expect(output(await run(runner, "({ a: undefined, b: 1 })"))).toEqual({ b: 1 });
  });

  it("times out a runaway loop without stalling other jobs", async () => {
    const started = Date.now();
    const [loop, ok] = await Promise.all([
      run(runner, "while (true) {}", { timeoutMs: 500 }),
      run(runner, "let s = 0; for (let i = 0; i < 1000; i++) s += i; s"),
    ]);
    expect(loop.result.ok).toBe(false);
    if (!loop.result.ok) expect(loop.result.error.code).toBe("TIMEOUT");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(output(ok)).toBe(499500);
    // The runner still works afterwards.
    expect(output(await run(runner, "1 + 1"))).toBe(2);
  });

  it("fails with MEMORY_LIMIT when a job exhausts its heap", async () => {
    const r = await run(runner, "const keep = []; while (true) keep.push(new Array(100000).fill({ x: Math.random() }));", {
      timeoutMs: 20_000,
    });
    expect(r.result.ok).toBe(false);
    if (!r.result.ok) expect(r.result.error.code).toBe("MEMORY_LIMIT");
    expect(output(await run(runner, '"still alive"'))).toBe("still alive");
  });

  it("cancels a running job via the signal", async () => {
    const controller = new AbortController();
    const pending = run(runner, 'console.log("spinning"); while (true) {}', {}, {
      signal: controller.signal,
      onLog: () => controller.abort("user asked"),
    });
    const r = await pending;
    expect(r.result).toEqual({ ok: false, error: { code: "CANCELLED", message: "cancelled: user asked" } });
  });

  it("answers CANCELLED at once for an already aborted signal", async () => {
    const controller = new AbortController();
    controller.abort();
    const r = await run(runner, "1", {}, { signal: controller.signal });
    expect(r.result).toMatchObject({ ok: false, error: { code: "CANCELLED" } });
  });

  it("rejects outputs that are not JSON or too large", async () => {
    const circular = await run(runner, "const o = {}; o.self = o; o");
    expect(circular.result).toMatchObject({ ok: false, error: { code: "SCRIPT_ERROR" } });
    const small = createJsRunner({ maxOutputBytes: 100 });
    try {
      const big = await run(small, '"x".repeat(200)');
      expect(big.result).toMatchObject({ ok: false, error: { code: "OUTPUT_TOO_LARGE" } });
    } finally {
      await small.close?.();
    }
  });

  it("clears timers a job leaves behind", async () => {
    const r = await run(runner, 'setInterval(() => console.log("tick"), 1); setTimeout(() => console.log("late"), 5); "done"');
    expect(output(r)).toBe("done");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(r.logs).toEqual([]);
  });

  it("runs many jobs concurrently", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => run(runner, `${i} * 2`)));
    expect(results.map(output)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });
});

describe("js runner: environment and memory of the job process", () => {
  it("a job's process.env and /proc/self/environ hold only the minimal set and --inherit-env names", async () => {
    process.env.HORUS_TOKENS = "secret-token-js admin";
    process.env.JS_TEST_SECRET = "secret-config";
    process.env.JS_TEST_PASSED = "passed-on";
    const runner = createJsRunner({ inheritEnv: ["JS_TEST_PASSED"] });
    try {
      const env = output(await run(runner, `${PROCESS}.env`, { workflowId: "wf-e", stepId: "s", attempt: 2, input: { a: 1 } })) as Record<string, string>;
      const allowed = ["PATH", "HOME", "LANG", "TZ", "JS_TEST_PASSED", "HORUS_WORKFLOW_ID", "HORUS_STEP_ID", "HORUS_ATTEMPT", "HORUS_ATTEMPT_ID", "HORUS_INPUT", "HORUS_INPUTS"];
      expect(Object.keys(env).filter((k) => !allowed.includes(k))).toEqual([]);
      expect(env).toMatchObject({ JS_TEST_PASSED: "passed-on", HORUS_WORKFLOW_ID: "wf-e", HORUS_ATTEMPT: "2", HORUS_INPUT: '{"a":1}' });
      // The process's initial environment, which process.env edits cannot hide.
      const environ = output(await run(runner, `${PROCESS}.getBuiltinModule("fs").readFileSync("/proc/self/environ", "utf8")`)) as string;
      expect(environ).toContain("JS_TEST_PASSED=passed-on");
      for (const secret of ["secret-token-js", "secret-config", "HORUS_TOKENS"]) expect(environ).not.toContain(secret);
    } finally {
      await runner.close?.();
      delete process.env.HORUS_TOKENS;
      delete process.env.JS_TEST_SECRET;
      delete process.env.JS_TEST_PASSED;
    }
  });

  it("a timed-out job's process takes the processes it started with it", async () => {
    const runner = createJsRunner();
    try {
      let child = 0;
      const r = await run(runner, `const c = ${PROCESS}.getBuiltinModule("child_process").spawn("sleep", ["1000"], { stdio: "ignore" }); console.log("child " + c.pid); while (true) {}`, { timeoutMs: 1_000 }, {
        onLog: (_s, line) => (child ||= Number(/^child (\d+)$/.exec(line)?.[1] ?? 0)),
      });
      expect(r.result).toMatchObject({ ok: false, error: { code: "TIMEOUT" } });
      expect(child).toBeGreaterThan(0);
      await waitFor(() => processGone(child));
    } finally {
      await runner.close?.();
    }
  });

  it("fails with MEMORY_LIMIT when a job fills ArrayBuffers outside its heap, and the runner goes on", async () => {
    const runner = createJsRunner({ maxMemoryMb: 200 });
    const rssBefore = process.memoryUsage.rss();
    try {
      // Each Uint8Array is 1 MiB outside the V8 heap; the heap itself stays small.
      const r = await run(runner, "const keep = []; while (true) keep.push(new Uint8Array(1 << 20).fill(1));", { timeoutMs: 15_000 });
      expect(r.result).toMatchObject({ ok: false, error: { code: "MEMORY_LIMIT" } });
      if (!r.result.ok) expect(r.result.error.message).toMatch(/200 MB/);
      expect(output(await run(runner, '"still alive"'))).toBe("still alive");
      // None of it was this process's memory.
      expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(100 * 1024 * 1024);
    } finally {
      await runner.close?.();
    }
  });
});

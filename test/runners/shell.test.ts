import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createShellRunner } from "../../src/runners/shell.js";
import { processGone } from "../helpers/wait.js";
import { output, run, waitFor } from "./helpers.js";

describe("shell runner", () => {
  const runner = createShellRunner();
  afterAll(() => runner.close?.());

  it("parses JSON stdout", async () => {
    expect(output(await run(runner, `echo '{"rows": [1, 2, 3]}'`))).toEqual({ rows: [1, 2, 3] });
    expect(output(await run(runner, "echo 42"))).toBe(42);
  });

  it("returns plain stdout as a trimmed string", async () => {
    expect(output(await run(runner, "echo '  hello world  '; echo"))).toBe("hello world");
    expect(output(await run(runner, "true"))).toBe("");
  });

  it("passes input on stdin and in HORUS_INPUT, inputs in HORUS_INPUTS", async () => {
    const over = { input: { fetch: { n: 1 } }, inputs: { who: "horus" }, stepId: "s1", workflowId: "wf-9", attempt: 3 };
    expect(output(await run(runner, "cat", over))).toEqual({ fetch: { n: 1 } });
    expect(output(await run(runner, 'printf %s "$HORUS_INPUT"', over))).toEqual({ fetch: { n: 1 } });
    expect(output(await run(runner, 'printf %s "$HORUS_INPUTS"', over))).toEqual({ who: "horus" });
    expect(output(await run(runner, 'echo "$HORUS_WORKFLOW_ID/$HORUS_STEP_ID/$HORUS_ATTEMPT"', over))).toBe("wf-9/s1/3");
  });

  it("logs stdout and stderr lines", async () => {
    const r = await run(runner, "echo out1; echo err1 >&2; echo out2; printf 'err2' >&2");
    expect(r.logs.filter((l) => l.stream === "stdout").map((l) => l.line)).toEqual(["out1", "out2"]);
    expect(r.logs.filter((l) => l.stream === "stderr").map((l) => l.line)).toEqual(["err1", "err2"]);
  });

  it("fails with EXIT_CODE, the code and the stderr tail", async () => {
    const r = await run(runner, "echo partial; echo 'something broke' >&2; exit 3");
    expect(r.result).toEqual({ ok: false, error: { code: "EXIT_CODE", message: "exit code 3: something broke" } });
  });

  it("keeps only the end of a long stderr in the message", async () => {
    const r = await run(runner, "i=0; while [ $i -lt 300 ]; do echo \"line $i of noise\" >&2; i=$((i+1)); done; exit 1");
    expect(r.result.ok).toBe(false);
    if (r.result.ok) return;
    expect(r.result.error.message.startsWith("exit code 1: ")).toBe(true);
    expect(r.result.error.message.length).toBeLessThan(1200);
    expect(r.result.error.message.endsWith("line 299 of noise")).toBe(true);
  });

  it("says when the script was killed by a signal", async () => {
    const r = await run(runner, "kill -TERM $$");
    expect(r.result).toMatchObject({ ok: false, error: { code: "EXIT_CODE" } });
    if (!r.result.ok) expect(r.result.error.message).toMatch(/signal SIGTERM/);
  });

  it("times out and kills the whole process group", async () => {
    let child = 0;
    const started = Date.now();
    const r = await run(runner, "sleep 30 & echo \"child $!\"; wait", { timeoutMs: 500 }, {
      onLog: (_s, line) => {
        const m = /^child (\d+)$/.exec(line);
        if (m) child = Number(m[1]);
      },
    });
    expect(r.result).toMatchObject({ ok: false, error: { code: "TIMEOUT" } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(child).toBeGreaterThan(0);
    await waitFor(() => processGone(child));
  });

  it("cancels via the signal and kills the process group", async () => {
    const controller = new AbortController();
    let child = 0;
    const r = await run(runner, "sleep 100 & echo \"child $!\"; wait", {}, {
      signal: controller.signal,
      onLog: (_s, line) => {
        const m = /^child (\d+)$/.exec(line);
        if (m) {
          child = Number(m[1]);
          controller.abort("stop it");
        }
      },
    });
    expect(r.result).toEqual({ ok: false, error: { code: "CANCELLED", message: "cancelled: stop it" } });
    expect(child).toBeGreaterThan(0);
    await waitFor(() => processGone(child));
  });

  it("kills background processes left behind by a finished script", async () => {
    let child = 0;
    const r = await run(runner, "sleep 100 >/dev/null 2>&1 & echo $!");
    child = output(r) as number;
    expect(child).toBeGreaterThan(0);
    await waitFor(() => processGone(child));
  });

  it("fails with OUTPUT_TOO_LARGE past the stdout cap", async () => {
    const small = createShellRunner({ maxOutputBytes: 1000 });
    const started = Date.now();
    const r = await run(small, "yes hello");
    expect(r.result).toMatchObject({ ok: false, error: { code: "OUTPUT_TOO_LARGE" } });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("answers RUNNER_ERROR when the shell cannot start", async () => {
    const broken = createShellRunner({ shell: "/nonexistent/sh" });
    const r = await run(broken, "echo hi");
    expect(r.result).toMatchObject({ ok: false, error: { code: "RUNNER_ERROR" } });
  });
});

describe("shell runner with large inputs", () => {
  const runner = createShellRunner();

  it("passes a large input on stdin and through HORUS_INPUT_FILE", async () => {
    const big = "x".repeat(300 * 1024);
    const over = { input: { big }, inputs: { big } };
    expect(output(await run(runner, "echo ok", over))).toBe("ok");
    expect(output(await run(runner, "wc -c", over))).toBe(JSON.stringify({ big }).length);
    expect(output(await run(runner, 'cat "$HORUS_INPUT_FILE"', over))).toEqual({ big });
    expect(output(await run(runner, 'cat "$HORUS_INPUTS_FILE"', over))).toEqual({ big });
    const file = output(await run(runner, 'echo "$HORUS_INPUT_FILE"', over)) as string;
    await waitFor(() => !existsSync(file));
  });
});

describe("shell runner: processes that leave the job's session", () => {
  const runner = createShellRunner();
  afterAll(() => runner.close?.());
  const escapee = (line: string) => Number(/^escaped (\d+)$/.exec(line)?.[1] ?? 0);

  it("a timed-out job's setsid child is killed with it", async () => {
    let pid = 0;
    const r = await run(runner, 'setsid sleep 1000 & echo "escaped $!"; sleep 1000', { timeoutMs: 1_000 }, { onLog: (_s, line) => (pid ||= escapee(line)) });
    expect(r.result).toMatchObject({ ok: false, error: { code: "TIMEOUT" } });
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => processGone(pid));
  });

  it("a cancelled job's setsid child, and that child's own children, are killed with it", async () => {
    const controller = new AbortController();
    const pids: number[] = [];
    const r = await run(runner, `setsid sh -c 'sleep 1000 & echo "escaped $!"; echo "escaped $$"; wait' & sleep 1000`, {}, {
      signal: controller.signal,
      onLog: (_s, line) => {
        if (escapee(line)) pids.push(escapee(line));
        if (pids.length === 2) controller.abort("stop");
      },
    });
    expect(r.result).toMatchObject({ ok: false, error: { code: "CANCELLED" } });
    for (const pid of pids) await waitFor(() => processGone(pid));
  });

  it("a setsid child seen while the job ran is killed when the job ends, though its parent is gone by then", async () => {
    // The guard looks at /proc every 250 ms: the script lives long enough to be seen.
    const r = await run(runner, "setsid sleep 1000 >/dev/null 2>&1 & echo $!; sleep 1");
    const pid = output(r) as number;
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => processGone(pid));
  });
});

describe("shell runner environment", () => {
  it("gives a job only PATH, HOME, LANG, TZ, its HORUS_* variables and the --inherit-env names", async () => {
    process.env.HORUS_TOKENS = "secret-token-sh admin";
    process.env.HORUS_REDIS_URL = "redis://:secret-password@localhost:6379";
    process.env.SH_TEST_PASSED = "passed-on";
    const runner = createShellRunner({ inheritEnv: ["SH_TEST_PASSED"] });
    try {
      const r = await run(runner, "env", { workflowId: "wf-e", stepId: "s", attempt: 2 });
      const lines = (r.logs.filter((l) => l.stream === "stdout").map((l) => l.line));
      const names = lines.map((l) => l.slice(0, l.indexOf("="))).filter((n) => n !== "");
      // sh itself adds PWD (and SHLVL, _ in some shells).
      const allowed = ["PATH", "HOME", "LANG", "TZ", "SH_TEST_PASSED", "HORUS_WORKFLOW_ID", "HORUS_STEP_ID", "HORUS_ATTEMPT", "HORUS_ATTEMPT_ID", "HORUS_INPUT", "HORUS_INPUTS", "PWD", "SHLVL", "_"];
      expect(names.filter((n) => !allowed.includes(n))).toEqual([]);
      expect(lines).toContain("SH_TEST_PASSED=passed-on");
      expect(lines).toContain("HORUS_WORKFLOW_ID=wf-e");
      for (const secret of ["secret-token-sh", "secret-password"]) expect(lines.join("\n")).not.toContain(secret);
    } finally {
      await runner.close?.();
      delete process.env.HORUS_TOKENS;
      delete process.env.HORUS_REDIS_URL;
      delete process.env.SH_TEST_PASSED;
    }
  });
});

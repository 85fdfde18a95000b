// The shell runner: runs the payload with `/bin/sh -c` in its own session
// and process group, so timeout and cancellation can kill everything the
// script started (pipelines, background jobs) with one signal. The process
// guard (process-guard/) adds what one signal misses: processes that left
// the group with setsid, found through /proc, and every job's processes when
// the supervisor dies, even by SIGKILL. The step's input arrives as JSON on
// stdin and in HORUS_INPUT; its stdout is the output.
//
// Environment of a job: the minimal set of env.ts (PATH, HOME, LANG, TZ and
// the names passed with --inherit-env, never the supervisor's whole
// environment), HORUS_INPUT (dependency outputs, the same JSON as on stdin),
// HORUS_INPUTS (workflow inputs), HORUS_WORKFLOW_ID, HORUS_STEP_ID,
// HORUS_ATTEMPT, HORUS_ATTEMPT_ID. Linux refuses a single environment string
// over 128 KiB, so a JSON value larger than ENV_VALUE_MAX is written to a
// temporary file instead, named by HORUS_INPUT_FILE / HORUS_INPUTS_FILE.
import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { baseEnvironment, jobVariables } from "./env.js";
import { LineSplitter } from "./lines.js";
import { createProcessGuard } from "./process-guard/guard.js";
import { cancelMessage, failure, timerDelay, type Runner, type RunContext, type RunResult } from "./types.js";
import type { JsonValue } from "../common/json.js";
import { StepFailureCode } from "../common/failure-codes.js";

export interface ShellRunnerOptions {
  /** Shell that runs the payload as `<shell> -c <payload>` (default "/bin/sh"). */
  shell?: string;
  /**
   * Most stdout bytes kept as the output (default 1 MiB). Outputs travel in
   * job events and are stored by the coordinator, so a runaway `cat` must not
   * be able to flood them; past the cap the job is killed with OUTPUT_TOO_LARGE.
   */
  maxOutputBytes?: number;
  /** Run the payload as this user and group (`horus supervisor --run-as USER`); needs root. */
  runAs?: { uid: number; gid: number };
  /** How much of the end of stderr goes into an EXIT_CODE message (default 1024 bytes). */
  stderrTailBytes?: number;
  /** Extra environment variables for every job (applied before the HORUS_* ones). */
  env?: Record<string, string>;
  /**
   * Names of the supervisor's environment variables that jobs also get,
   * besides PATH, HOME, LANG and TZ (`--inherit-env NAME`). Nothing else of
   * the supervisor's environment reaches a job (env.ts says why).
   */
  inheritEnv?: readonly string[];
  /** Working directory of the scripts (default: the supervisor's). */
  cwd?: string;
  /**
   * After the shell exits, how long to wait for its stdout/stderr to close
   * (default 2000 ms). The rest of its process group is killed on exit, but
   * a process that escaped the group (setsid) may still hold the pipes; the
   * job must not hang on it.
   */
  exitGraceMs?: number;
}

/** Largest JSON value passed in an environment variable rather than a file. */
const ENV_VALUE_MAX = 64 * 1024;

export function createShellRunner(options: ShellRunnerOptions = {}): Runner {
  const shell = options.shell ?? "/bin/sh";
  const maxOutput = options.maxOutputBytes ?? 1024 * 1024;
  const tailBytes = options.stderrTailBytes ?? 1024;
  const exitGraceMs = options.exitGraceMs ?? 2000;
  const jobBaseEnv = baseEnvironment(options.inheritEnv, options.env);
  /** Jobs still running, with how to stop each, so close() can end them. */
  const live = new Map<ChildProcess, (result: RunResult) => void>();
  const guard = createProcessGuard();
  let nextId = 0;

  async function run(ctx: RunContext): Promise<RunResult> {
    // Before the first job: a job must not start before the guard that
    // kills it with the supervisor is listening.
    await guard.ready();
    return runGuarded(ctx);
  }

  function runGuarded(ctx: RunContext): Promise<RunResult> {
    const { job, signal } = ctx;
    if (signal.aborted) return Promise.resolve(failure(StepFailureCode.CANCELLED, cancelMessage(signal)));
    return new Promise<RunResult>((resolve) => {
      const inputJson = JSON.stringify(job.input);
      // Secrets after the base set (a secret may be named like an inherited
      // variable and then wins), before the HORUS_* ones they cannot shadow.
      const env: NodeJS.ProcessEnv = { ...jobBaseEnv, ...job.secrets, ...jobVariables(job) };
      let tempDir: string | undefined;
      const removeTemp = (): void => {
        if (tempDir) rmSync(tempDir, { recursive: true, force: true });
        tempDir = undefined;
      };

      let child: ChildProcess;
      try {
        for (const [key, json, file] of [
          ["HORUS_INPUT", inputJson, "input.json"],
          ["HORUS_INPUTS", JSON.stringify(job.inputs), "inputs.json"],
        ] as const) {
          if (Buffer.byteLength(json, "utf8") <= ENV_VALUE_MAX) {
            env[key] = json;
          } else {
            tempDir ??= mkdtempSync(join(tmpdir(), "horus-job-"));
            writeFileSync(join(tempDir, file), json);
            if (options.runAs) {
              chownSync(tempDir, options.runAs.uid, options.runAs.gid);
              chownSync(join(tempDir, file), options.runAs.uid, options.runAs.gid);
            }
            env[`${key}_FILE`] = join(tempDir, file);
            ctx.log("system", `${key} is too large for the environment; it is in ${key}_FILE`);
          }
        }
        // The script waits on fd 3 for a go-ahead, sent once the process
        // guard knows the job: a supervisor killed before that leaves
        // nothing running (read sees end of file, and the shell exits).
        child = spawn(shell, ["-c", `read -r _ <&3 || exit 125; exec 3<&-; ${job.payload}`], {
          detached: true,
          stdio: ["pipe", "pipe", "pipe", "pipe"],
          env,
          cwd: options.cwd,
          ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
        });
      } catch (err) {
        removeTemp();
        resolve(failure(StepFailureCode.RUNNER_ERROR, `cannot start ${shell}: ${errorText(err)}`));
        return;
      }

      /** Set by whatever ended the job early (timeout, cancel, output cap). */
      let outcome: RunResult | undefined;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let spawnError: Error | undefined;
      let settled = false;
      const stdoutChunks: Buffer[] = [];
      let stdoutBytes = 0;
      let stderrTail: Buffer = Buffer.alloc(0);
      let graceTimer: NodeJS.Timeout | undefined;

      const guardId = String(++nextId);
      const go = child.stdio[3] as Writable | null;
      go?.on("error", () => {});
      if (child.pid !== undefined) void guard.track(guardId, child.pid).then(() => go?.end("\n"));
      else go?.destroy();
      const signalGroup = (signal: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          // ESRCH: the group is already gone.
        }
      };
      const stopEarly = (result: RunResult): void => {
        outcome ??= result;
        // Stopped, not killed, while the guard reads the tree: a killed
        // parent would orphan a child that left the session with setsid,
        // and the guard would no longer find it through its parent.
        signalGroup("SIGSTOP");
        void guard.kill(guardId).then(() => signalGroup("SIGKILL"));
      };

      live.set(child, stopEarly);

      const out = new LineSplitter((line) => ctx.log("stdout", line));
      const err = new LineSplitter((line) => ctx.log("stderr", line));

      child.stdout!.on("data", (chunk: Buffer) => {
        if (outcome) return;
        if (stdoutBytes + chunk.length > maxOutput) {
          stopEarly(failure(StepFailureCode.OUTPUT_TOO_LARGE, `stdout exceeded the limit of ${maxOutput} bytes`));
          return;
        }
        stdoutBytes += chunk.length;
        stdoutChunks.push(chunk);
        out.push(chunk);
      });
      child.stderr!.on("data", (chunk: Buffer) => {
        err.push(chunk);
        const joined = stderrTail.length === 0 ? chunk : Buffer.concat([stderrTail, chunk]);
        stderrTail = joined.length > tailBytes ? joined.subarray(joined.length - tailBytes) : joined;
      });
      // A script that never reads stdin makes the write fail with EPIPE; that
      // is the script's choice, not an error of the job.
      child.stdin!.on("error", () => {});
      child.stdin!.end(inputJson);

      const timer = setTimeout(() => {
        stopEarly(failure(StepFailureCode.TIMEOUT, `step exceeded its time limit of ${job.timeoutMs} ms`));
      }, timerDelay(job.timeoutMs));
      const onAbort = (): void => stopEarly(failure(StepFailureCode.CANCELLED, cancelMessage(signal)));
      signal.addEventListener("abort", onAbort, { once: true });

      child.on("error", (e) => {
        spawnError = e;
        // A failed spawn may never emit "close".
        if (child.pid === undefined) finish();
      });
      child.on("exit", (code, sig) => {
        exit = { code, signal: sig };
        // Background processes the script left behind die with it, once the
        // guard has read their tree (stopped meanwhile, as in stopEarly).
        signalGroup("SIGSTOP");
        void guard.end(guardId).then(() => signalGroup("SIGKILL"));
        graceTimer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, exitGraceMs);
      });
      child.on("close", finish);

      function finish(): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        signal.removeEventListener("abort", onAbort);
        live.delete(child);
        guard.end(guardId);
        removeTemp();
        out.end();
        err.end();
        resolve(result());
      }

      function result(): RunResult {
        if (outcome) return outcome;
        if (spawnError && !exit) return failure(StepFailureCode.RUNNER_ERROR, `cannot start ${shell}: ${spawnError.message}`);
        const tail = tailText(stderrTail);
        if (exit?.code === 0) return { ok: true, output: parseOutput(Buffer.concat(stdoutChunks, stdoutBytes).toString("utf8")) };
        if (exit?.signal) return failure(StepFailureCode.EXIT_CODE, `killed by signal ${exit.signal}${tail ? `: ${tail}` : ""}`);
        return failure(StepFailureCode.EXIT_CODE, `exit code ${exit?.code ?? "unknown"}${tail ? `: ${tail}` : ""}`);
      }
    });
  }

  return {
    name: "shell",
    run,
    async close() {
      for (const stop of live.values()) stop(failure(StepFailureCode.CANCELLED, "cancelled: runner closed"));
      guard.close();
    },
  };
}

/** Trimmed stdout, as JSON when it parses, else as the string. */
function parseOutput(text: string): JsonValue {
  const trimmed = text.trim();
  if (trimmed === "") return "";
  try {
    return JSON.parse(trimmed) as JsonValue;
  } catch {
    return trimmed;
  }
}

function tailText(buf: Buffer): string {
  // The cut may fall inside a multi-byte character; drop its remains.
  return buf.toString("utf8").replace(/^\uFFFD+/, "").trim();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

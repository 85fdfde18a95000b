// The js runner: evaluates the payload as a script whose completion value is
// the output, with `input` and `inputs` as globals. Each job runs in a
// worker thread of a child process (child-host.mjs) so that a runaway loop
// or a memory blow-up only costs that process: the runner kills it and
// answers TIMEOUT, MEMORY_LIMIT or CANCELLED, while the supervisor's own
// event loop and memory are untouched. Memory is bounded twice: the V8 heap
// by the worker's resource limits, and everything else (ArrayBuffers,
// native memory) by the host watching its resident memory. Processes that
// finish a job cleanly are kept for the next one, since starting one costs
// tens of milliseconds; each job still gets a fresh vm context.
import { fork, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import type { JsonValue } from "../../common/json.js";
import { baseEnvironment, jobVariables } from "../env.js";
import { cancelMessage, failure, timerDelay, type JobInput, type LogStreamName, type Runner, type RunContext, type RunResult } from "../types.js";
import { StepFailureCode } from "../../common/failure-codes.js";

export interface JsRunnerOptions {
  /**
   * Heap (old generation) limit of each worker in MB (default 128). A job
   * that needs more fails with MEMORY_LIMIT.
   */
  maxOldGenerationSizeMb?: number;
  /**
   * Resident memory of the process running a job in MB, everything counted:
   * heap, ArrayBuffers, native memory and Node itself (default 512; about
   * 60 MB of it is Node). Past it the process is killed and the job fails
   * with MEMORY_LIMIT, usually within tens of milliseconds.
   */
  maxMemoryMb?: number;
  /** Young generation limit of each worker in MB (default: Node's). */
  maxYoungGenerationSizeMb?: number;
  /** Stack size of each worker in MB (default 4), bounding runaway recursion. */
  stackSizeMb?: number;
  /**
   * Idle processes kept for reuse (default 16). A process start costs tens
   * of milliseconds of CPU, so a busy supervisor keeps one per concurrent
   * job; each idle one holds about 60 MB, so those beyond `minIdleWorkers`
   * are ended after `idleRetireMs` without a job.
   */
  maxIdleWorkers?: number;
  /** Idle processes kept however long they wait (default 4). */
  minIdleWorkers?: number;
  /** How long an idle process beyond `minIdleWorkers` is kept (default 10,000 ms). */
  idleRetireMs?: number;
  /** Largest output, as JSON bytes (default 1 MiB); larger ones fail with OUTPUT_TOO_LARGE. */
  maxOutputBytes?: number;
  /**
   * Run the job processes as this user and group (`horus supervisor
   * --run-as USER`). Needs the supervisor to run as root (or as that uid).
   */
  runAs?: { uid: number; gid: number };
  /**
   * Names of the supervisor's environment variables the job processes also
   * get, besides PATH, HOME, LANG and TZ (`--inherit-env NAME`; env.ts).
   */
  inheritEnv?: readonly string[];
  /** Extra environment variables for every job. */
  env?: Record<string, string>;
}

/** What the pool needs of a worker process. */
interface WorkerLike {
  postMessage(msg: unknown): void;
  on(event: "message", fn: (msg: WorkerMessage) => void): unknown;
  on(event: "ready", fn: () => void): unknown;
  on(event: "error", fn: (err: unknown) => void): unknown;
  on(event: "exit", fn: (code: number) => void): unknown;
  terminate(): Promise<unknown>;
  ref(): void;
  unref(): void;
}

const HOST_PATH = fileURLToPath(new URL("./child-host.mjs", import.meta.url));
/** Error code of a job process that passed maxMemoryMb. */
const RSS_LIMIT = "HORUS_RSS_LIMIT";
/** How long a new job process may take to start before its job fails. */
const START_TIMEOUT_MS = 30_000;

interface HostConfig {
  resourceLimits: Record<string, number>;
  maxRssBytes: number;
}

/** worker.mjs in a thread of a child process (child-host.mjs). */
class ChildWorker extends EventEmitter implements WorkerLike {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  constructor(config: HostConfig, env: Record<string, string>, runAs: { uid: number; gid: number } | undefined) {
    super();
    this.child = fork(HOST_PATH, [JSON.stringify(config)], {
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      cwd: "/",
      execArgv: [],
      // Its own session: a terminal's Ctrl-C reaches the supervisor, which
      // cancels its jobs, not the jobs directly. It still dies with the
      // supervisor, by the IPC channel closing.
      detached: true,
      serialization: "advanced",
      stdio: ["ignore", "ignore", "ignore", "ipc"],
      env,
    });
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
    type HostMessage = WorkerMessage | { type: "__ready" } | { type: "__error"; code?: string; message: string } | { type: "__memory"; rss: number };
    this.child.on("message", (msg: HostMessage) => {
      if (msg.type === "__ready") this.emit("ready");
      else if (msg.type === "__error") this.emit("error", Object.assign(new Error(msg.message), { code: msg.code }));
      else if (msg.type === "__memory") this.emit("error", Object.assign(new Error(`resident memory ${msg.rss} bytes`), { code: RSS_LIMIT }));
      else this.emit("message", msg);
    });
    this.child.on("error", (err) => this.emit("error", err));
    this.child.on("exit", (code, signal) => this.emit("exit", code ?? (signal ? 128 : 1)));
  }
  postMessage(msg: unknown): void {
    this.child.send(msg as object);
  }
  terminate(): Promise<void> {
    // The whole process group: processes a job started (node:vm is no
    // sandbox) end with it.
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, "SIGKILL");
    } catch {
      this.child.kill("SIGKILL");
    }
    return this.exited;
  }
  ref(): void {
    this.child.ref();
    this.child.channel?.ref();
  }
  unref(): void {
    this.child.unref();
    this.child.channel?.unref();
  }
}

/** Messages from worker.mjs. */
type WorkerMessage =
  | { type: "log"; id: number; stream: "stdout" | "stderr"; lines: string[] }
  | { type: "result"; id: number; ok: true; json: string }
  | { type: "result"; id: number; ok: false; code: typeof StepFailureCode.SCRIPT_ERROR | typeof StepFailureCode.OUTPUT_TOO_LARGE; message: string };

/** What the worker is doing for the runner right now. */
interface Assignment {
  id: number;
  onMessage(msg: WorkerMessage): void;
  /** The worker failed or exited; `error` is what it reported, if anything. */
  onDeath(error: unknown, exitCode: number | undefined): void;
}

interface PooledWorker {
  worker: WorkerLike;
  current?: Assignment;
  dead: boolean;
  /** When it was last put back idle. */
  idleSince?: number;
  /** The worker thread is up; a job's time limit starts counting then. */
  ready: boolean;
  onReady?: () => void;
}

/** Largest JSON value passed in HORUS_INPUT / HORUS_INPUTS (as in the shell runner). */
const ENV_VALUE_MAX = 64 * 1024;

export function createJsRunner(options: JsRunnerOptions = {}): Runner {
  const maxIdle = options.maxIdleWorkers ?? 16;
  const minIdle = Math.min(maxIdle, options.minIdleWorkers ?? 4);
  const idleRetireMs = options.idleRetireMs ?? 10_000;
  const maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
  const resourceLimits = {
    maxOldGenerationSizeMb: options.maxOldGenerationSizeMb ?? 128,
    stackSizeMb: options.stackSizeMb ?? 4,
    ...(options.maxYoungGenerationSizeMb !== undefined ? { maxYoungGenerationSizeMb: options.maxYoungGenerationSizeMb } : {}),
  };
  const maxRssBytes = (options.maxMemoryMb ?? 512) * 1024 * 1024;
  const hostConfig: HostConfig = { resourceLimits, maxRssBytes };
  const processEnv = baseEnvironment(options.inheritEnv, options.env);
  const idle: PooledWorker[] = [];
  const busy = new Set<PooledWorker>();
  let nextId = 0;
  let closed = false;
  // Ends the processes idle the longest (the front of `idle`: acquire takes from the back) beyond minIdle.
  const retire = setInterval(() => {
    const t = Date.now();
    while (idle.length > minIdle && t - (idle[0]!.idleSince ?? t) >= idleRetireMs) discard(idle.shift()!);
  }, Math.max(100, Math.floor(idleRetireMs / 2)));
  retire.unref();

  function spawnWorker(): PooledWorker {
    const worker: WorkerLike = new ChildWorker(hostConfig, processEnv, options.runAs);
    const pw: PooledWorker = { worker, dead: false, ready: false };
    pw.worker.on("ready", () => {
      pw.ready = true;
      const onReady = pw.onReady;
      pw.onReady = undefined;
      onReady?.();
    });
    pw.worker.on("message", (msg: WorkerMessage) => {
      if (pw.current && msg.id === pw.current.id) pw.current.onMessage(msg);
    });
    pw.worker.on("error", (err) => die(pw, err, undefined));
    pw.worker.on("exit", (code) => die(pw, undefined, code));
    return pw;
  }

  function die(pw: PooledWorker, error: unknown, exitCode: number | undefined): void {
    const first = !pw.dead;
    pw.dead = true;
    const at = idle.indexOf(pw);
    if (at >= 0) idle.splice(at, 1);
    busy.delete(pw);
    const current = pw.current;
    pw.current = undefined;
    if (current) current.onDeath(error, exitCode);
    else if (first && error !== undefined) void pw.worker.terminate();
  }

  function acquire(): PooledWorker {
    const pw = idle.pop() ?? spawnWorker();
    // Idle workers are unref'd so a pool never keeps the process alive.
    pw.worker.ref();
    busy.add(pw);
    return pw;
  }

  function release(pw: PooledWorker): void {
    busy.delete(pw);
    pw.current = undefined;
    if (closed || pw.dead || idle.length >= maxIdle) {
      discard(pw);
      return;
    }
    pw.worker.unref();
    pw.idleSince = Date.now();
    idle.push(pw);
  }

  function discard(pw: PooledWorker): void {
    busy.delete(pw);
    pw.current = undefined;
    pw.dead = true;
    pw.worker.terminate().catch(() => {});
  }

  function run(ctx: RunContext): Promise<RunResult> {
    const { job, signal } = ctx;
    if (signal.aborted) return Promise.resolve(failure(StepFailureCode.CANCELLED, cancelMessage(signal)));
    if (closed) return Promise.resolve(failure(StepFailureCode.RUNNER_ERROR, "js runner is closed"));
    return new Promise<RunResult>((resolve) => {
      let pw: PooledWorker;
      try {
        pw = acquire();
      } catch (err) {
        resolve(failure(StepFailureCode.RUNNER_ERROR, `cannot start a worker: ${errorText(err)}`));
        return;
      }
      const id = ++nextId;
      let done = false;

      const finish = (result: RunResult, reuse: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        pw.onReady = undefined;
        signal.removeEventListener("abort", onAbort);
        if (reuse) release(pw);
        else discard(pw);
        resolve(result);
      };

      pw.current = {
        id,
        onMessage(msg) {
          if (msg.type === "log") {
            const stream: LogStreamName = msg.stream;
            for (const line of msg.lines) ctx.log(stream, line);
          } else if (msg.ok) {
            let output: JsonValue;
            try {
              output = JSON.parse(msg.json) as JsonValue;
            } catch (err) {
              finish(failure(StepFailureCode.RUNNER_ERROR, `bad output from worker: ${errorText(err)}`), false);
              return;
            }
            finish({ ok: true, output }, true);
          } else {
            finish(failure(msg.code, msg.message), true);
          }
        },
        onDeath(error, exitCode) {
          if (isOutOfMemory(error)) {
            finish(failure(StepFailureCode.MEMORY_LIMIT, `step exceeded the heap limit of ${resourceLimits.maxOldGenerationSizeMb} MB`), false);
          } else if (errorCode(error) === RSS_LIMIT) {
            finish(failure(StepFailureCode.MEMORY_LIMIT, `step exceeded the memory limit of ${options.maxMemoryMb ?? 512} MB (resident memory, ArrayBuffers included)`), false);
          } else if (closed) {
            finish(failure(StepFailureCode.CANCELLED, "cancelled: runner closed"), false);
          } else if (error !== undefined) {
            finish(failure(StepFailureCode.RUNNER_ERROR, `worker failed: ${errorText(error)}`), false);
          } else {
            finish(failure(StepFailureCode.RUNNER_ERROR, `worker exited unexpectedly (code ${exitCode ?? "unknown"})`), false);
          }
        },
      };

      // The worker is terminated, not asked: a `while (true) {}` never
      // returns to its event loop to hear a message. The limit counts from
      // when the worker is up, so a process start-up on a busy host is not
      // charged to the step; the start-up has a bound of its own.
      let timer: NodeJS.Timeout | undefined;
      const startTimer = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          finish(failure(StepFailureCode.TIMEOUT, `step exceeded its time limit of ${job.timeoutMs} ms`), false);
        }, timerDelay(job.timeoutMs));
      };
      if (pw.ready) {
        startTimer();
      } else {
        pw.onReady = startTimer;
        timer = setTimeout(() => {
          finish(failure(StepFailureCode.RUNNER_ERROR, `the job process did not start within ${START_TIMEOUT_MS} ms`), false);
        }, START_TIMEOUT_MS);
      }
      const onAbort = (): void => finish(failure(StepFailureCode.CANCELLED, cancelMessage(signal)), false);
      signal.addEventListener("abort", onAbort, { once: true });

      try {
        pw.worker.postMessage({
          type: "run",
          id,
          code: job.payload,
          filename: scriptName(job.stepId),
          input: job.input,
          inputs: job.inputs,
          secrets: job.secrets ?? {},
          maxOutputBytes,
          env: jobEnvironment(job),
        });
      } catch (err) {
        finish(failure(StepFailureCode.RUNNER_ERROR, `cannot send the job to a worker: ${errorText(err)}`), false);
      }
    });
  }

  /** process.env of a job: the process's minimal set, its ids, and its inputs when small. */
  function jobEnvironment(job: JobInput): Record<string, string> {
    const env: Record<string, string> = { ...processEnv, ...jobVariables(job) };
    for (const [key, value] of [["HORUS_INPUT", job.input], ["HORUS_INPUTS", job.inputs]] as const) {
      const json = JSON.stringify(value);
      if (json.length <= ENV_VALUE_MAX) env[key] = json;
    }
    return env;
  }

  return {
    name: "js",
    run,
    async close() {
      closed = true;
      clearInterval(retire);
      const all = [...idle, ...busy];
      idle.length = 0;
      // Busy workers report CANCELLED through their exit.
      await Promise.all(all.map((pw) => pw.worker.terminate().catch(() => {})));
    },
  };
}

/** Name of the script in stack traces; error messages point at its lines. */
function scriptName(stepId: string): string {
  return `step-${stepId.replace(/[^A-Za-z0-9_.-]/g, "_")}.js`;
}

function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
}

function isOutOfMemory(error: unknown): boolean {
  return errorCode(error) === "ERR_WORKER_OUT_OF_MEMORY";
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// Large definitions are read and validated in worker threads, so that one
// big document (a request of a few megabytes takes the yaml package seconds,
// and protobuf most of one) never holds up the coordinator's other requests.
// Small ones stay on the main thread, where they cost less than a message to
// a worker. Two kinds of job: a YAML text (the service found it in a
// request), and a whole request message still encoded (large-requests.ts
// hands it over before Connect decodes it).
//
// Workers start when needed and exit after a while idle. Each has a heap
// limit and a time limit per document: a document that needs more fails
// with a problem, never the coordinator.
//
// A worker that is up and idle also encodes WatchWorkflow snapshots
// (encodeWorkflow), which otherwise cost the main thread a millisecond or
// more per watched workflow of a hundred steps, on the thread running it.
import { Worker } from "node:worker_threads";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Problem, ValidationLimits } from "../workflow/definition.js";
import { checkDefinition, checkedOffThread, type CheckedDefinition, type Definition } from "./check-definition.js";
import type { WorkflowRecord } from "../engine/model.js";
import type { ConvertOptions } from "./convert.js";
import {
  DEFINITION_WORKER,
  WORKER_READY,
  type DefinitionJob,
  type DefinitionMethod,
  type DefinitionReply,
  type EncodeReply,
  type WorkerJob,
} from "./definition-worker.js";

export interface DefinitionPoolOptions {
  /** YAML texts of at least this many characters go to a worker (default 32 KiB, ~30 ms of parsing). */
  offloadChars?: number;
  /** Request messages of at least this many bytes go to a worker (default 64 KiB, ~10-15 ms of decoding 2,000 steps of binary). */
  offloadBytes?: number;
  /** Worker threads at most (default 2). */
  size?: number;
  /** Documents waiting for a worker; more are refused with RESOURCE_EXHAUSTED (default 8). */
  maxQueued?: number;
  /** Heap of each worker, MiB (default 1,024): a document that needs more is refused. */
  maxHeapMb?: number;
  /** Longest a worker may spend on one document (default 60 s). */
  maxMs?: number;
  /** A worker idle this long exits (default 30 s). */
  idleMs?: number;
  /**
   * encodeWorkflow leaves workflows with fewer step records than this to
   * the caller (default 8): below it, encoding here costs the main thread
   * under 0.1 ms more than a worker's copy and reply do, and the worker's
   * answer comes later than that.
   */
  encodeMinSteps?: number;
}

export interface DefinitionPool {
  /** Whether a YAML text of this length is read by a worker. */
  offloads(yaml: string): boolean;
  /** Parses and validates in a worker: the problems, and the definition unless it is over the step limit and invalid. */
  check(yaml: string, limits: Partial<ValidationLimits>): Promise<Omit<DefinitionReply, "id">>;
  /** Request messages of at least this many bytes are decoded by checkRequest. */
  readonly offloadBytes: number;
  /**
   * Decodes a request message (`bytes`, transferred: unusable here after)
   * and checks its definition in a worker: as `check`, plus the request
   * without its definition (`message`), or why it is refused (`error`).
   */
  checkRequest(method: DefinitionMethod, format: "binary" | "json", bytes: Uint8Array, limits: Partial<ValidationLimits>): Promise<Omit<DefinitionReply, "id">>;
  /**
   * The protobuf binary of `workflowToProto(record, options)` as a Workflow
   * message, encoded by a worker, when one is started, ready and idle;
   * otherwise `undefined`, and the caller encodes it itself (this never
   * waits for a worker to start or for definitions ahead of it). The record
   * is copied when this is called: later changes to it are not seen. The
   * promise is rejected when the worker fails (it stops, runs out of memory
   * or time, or encoding throws); the caller can then encode it itself.
   *
   * When no worker was ready for this call and another in the last
   * `idleMs`, one starts in the background for the next calls.
   */
  encodeWorkflow(record: WorkflowRecord, options: ConvertOptions): Promise<Uint8Array> | undefined;
  /** Stops every worker; pending documents get a problem. */
  close(): Promise<void>;
}

// Running from sources (vitest transforms src/*.ts), a worker cannot load
// TypeScript: it runs the compiled copy, which the tests' global setup builds.
const WORKER_URL = import.meta.url.endsWith(".ts")
  ? new URL("../../dist/src/coordinator/definition-worker.js", import.meta.url)
  : new URL("./definition-worker.js", import.meta.url);

interface Pending {
  job: WorkerJob;
  /** The worker's reply to `job`. */
  reply(reply: DefinitionReply | EncodeReply): void;
  /** The job has no reply: its worker failed, or the pool closes. */
  lost(why: Failure): void;
}

interface Slot {
  worker: Worker;
  pending?: Pending;
  /** Idle exit, or the document's time limit while busy. */
  timer?: NodeJS.Timeout;
  dead: boolean;
  /** The worker has loaded its modules and listens (it posted WORKER_READY). */
  ready: boolean;
}

/** Why a job has no reply. */
type Failure =
  | { kind: "memory"; maxHeapMb: number }
  | { kind: "time"; maxMs: number }
  | { kind: "error"; message: string }
  | { kind: "stopped" }
  | { kind: "closing" };

const problem = (message: string): Problem => ({ stepId: "", field: "", message });

/** A definition job's failure, as the problem its caller reports. */
function definitionFailure(job: DefinitionJob, why: Failure): string {
  const what = job.kind === "yaml" ? "YAML document" : "request";
  switch (why.kind) {
    case "memory":
      return `the ${what} needs more than the ${why.maxHeapMb} MiB of memory a definition may use to be read; make it smaller`;
    case "time":
      return `the ${what} took longer than ${why.maxMs / 1000}s to read; make it smaller`;
    case "error":
      return `the ${what} could not be read: ${why.message}`;
    case "stopped":
      return `the ${what} could not be read: its worker stopped`;
    case "closing":
      return "the coordinator is shutting down";
  }
}

/** An encode job's failure, as its rejection's message. */
function encodeFailure(why: Failure): string {
  switch (why.kind) {
    case "memory":
      return `encoding the workflow snapshot needed more than the worker's ${why.maxHeapMb} MiB of memory`;
    case "time":
      return `encoding the workflow snapshot took longer than ${why.maxMs / 1000}s`;
    case "error":
      return `encoding the workflow snapshot failed: ${why.message}`;
    case "stopped":
      return "encoding the workflow snapshot failed: its worker stopped";
    case "closing":
      return "the coordinator is shutting down";
  }
}

export function createDefinitionPool(options: DefinitionPoolOptions = {}): DefinitionPool {
  const offloadChars = options.offloadChars ?? 32 * 1024;
  const offloadBytes = options.offloadBytes ?? 64 * 1024;
  const size = Math.max(1, options.size ?? 2);
  const maxQueued = options.maxQueued ?? 8;
  const maxHeapMb = options.maxHeapMb ?? 1024;
  const maxMs = options.maxMs ?? 60_000;
  const idleMs = options.idleMs ?? 30_000;
  const encodeMinSteps = options.encodeMinSteps ?? 8;
  const slots = new Set<Slot>();
  const idle: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;
  /** When encodeWorkflow last found no worker ready (-Infinity: never). */
  let lastMiss = -Infinity;

  function spawn(): Slot {
    const worker = new Worker(WORKER_URL, { workerData: DEFINITION_WORKER, resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } });
    // A worker never keeps the process alive: requests waiting on it do, through the server.
    worker.unref();
    const slot: Slot = { worker, dead: false, ready: false };
    slots.add(slot);
    worker.on("message", (reply: DefinitionReply | EncodeReply | typeof WORKER_READY) => {
      if (reply === WORKER_READY) {
        slot.ready = true;
        return;
      }
      const p = slot.pending;
      slot.pending = undefined;
      clearTimeout(slot.timer);
      p?.reply(reply);
      release(slot);
    });
    worker.on("error", (err: Error & { code?: string }) => {
      end(slot, err.code === "ERR_WORKER_OUT_OF_MEMORY" ? { kind: "memory", maxHeapMb } : { kind: "error", message: err.message.split("\n")[0]! });
    });
    worker.on("exit", () => end(slot, { kind: "stopped" }));
    return slot;
  }

  /** A worker is gone: its job is lost for `why`, and the queue moves on. */
  function end(slot: Slot, why: Failure): void {
    if (slot.dead) return;
    slot.dead = true;
    clearTimeout(slot.timer);
    slots.delete(slot);
    const at = idle.indexOf(slot);
    if (at >= 0) idle.splice(at, 1);
    const p = slot.pending;
    slot.pending = undefined;
    p?.lost(why);
    void slot.worker.terminate();
    pump();
  }

  function run(slot: Slot, p: Pending): void {
    clearTimeout(slot.timer);
    slot.pending = p;
    slot.timer = setTimeout(() => end(slot, { kind: "time", maxMs }), maxMs);
    slot.timer.unref();
    try {
      slot.worker.postMessage(p.job, p.job.kind === "request" ? [p.job.bytes.buffer as ArrayBuffer] : []);
    } catch (err) {
      // The job does not clone (a record holding something other than plain
      // data): the worker never saw it and stays usable.
      clearTimeout(slot.timer);
      slot.pending = undefined;
      p.lost({ kind: "error", message: err instanceof Error ? err.message : String(err) });
      release(slot);
    }
  }

  function release(slot: Slot): void {
    if (slot.dead) return;
    const next = queue.shift();
    if (next) return run(slot, next);
    idle.push(slot);
    slot.timer = setTimeout(() => {
      // Exits quietly: nothing is pending on an idle worker.
      slot.dead = true;
      slots.delete(slot);
      const at = idle.indexOf(slot);
      if (at >= 0) idle.splice(at, 1);
      void slot.worker.terminate();
    }, idleMs);
    slot.timer.unref();
  }

  function pump(): void {
    while (queue.length > 0 && !closed && (idle.length > 0 || slots.size < size)) {
      const slot = idle.pop() ?? spawn();
      run(slot, queue.shift()!);
    }
  }

  function submit(job: DefinitionJob): Promise<DefinitionReply> {
    if (closed) return Promise.reject(new ConnectError("the coordinator is shutting down", Code.Unavailable));
    if (idle.length === 0 && slots.size >= size && queue.length >= maxQueued) {
      return Promise.reject(new ConnectError(`too many large definitions are being read (${size} at a time, ${maxQueued} waiting); retry later`, Code.ResourceExhausted));
    }
    return new Promise((resolve) => {
      queue.push({
        job,
        reply: (reply) => resolve(reply as DefinitionReply),
        lost: (why) => resolve({ id: job.id, problems: [problem(definitionFailure(job, why))] }),
      });
      pump();
    });
  }

  function encodeWorkflow(record: WorkflowRecord, options: ConvertOptions): Promise<Uint8Array> | undefined {
    if (closed || record.steps.length < encodeMinSteps) return undefined;
    let at = idle.length - 1;
    while (at >= 0 && !idle[at]!.ready) at--;
    if (at < 0) {
      warmUp();
      return undefined;
    }
    const [slot] = idle.splice(at, 1);
    return new Promise((resolve, reject) => {
      run(slot!, {
        job: { id: nextId++, kind: "workflow", record, options },
        reply: (reply) => {
          const r = reply as EncodeReply;
          if (r.bytes) resolve(r.bytes);
          else reject(new Error(encodeFailure({ kind: "error", message: r.error ?? "no reply" })));
        },
        lost: (why) => reject(new Error(encodeFailure(why))),
      });
    });
  }

  /**
   * No worker was ready for a snapshot: start one for the next, when
   * snapshots come often enough to keep it (another missed within idleMs).
   * A worker's start costs tens of milliseconds of CPU, on another thread,
   * and saves a millisecond or more of this one per snapshot.
   */
  function warmUp(): void {
    const now = performance.now();
    const often = now - lastMiss < idleMs;
    lastMiss = now;
    if (!often || slots.size >= size || [...slots].some((s) => !s.ready)) return;
    release(spawn());
  }

  return {
    offloads: (yaml) => yaml.length >= offloadChars,
    offloadBytes,
    check: (yaml, limits) => submit({ id: nextId++, kind: "yaml", yaml, limits }),
    checkRequest: (method, format, bytes, limits) => submit({ id: nextId++, kind: "request", method, format, bytes, limits }),
    encodeWorkflow,

    async close() {
      closed = true;
      for (const p of queue.splice(0)) p.lost({ kind: "closing" });
      await Promise.all([...slots].map((s) => (end(s, { kind: "closing" }), s.worker.terminate())));
    },
  };
}

/** checkDefinition, with large YAML read and validated in a worker thread (definition-pool.ts). */
export async function checkDefinitionOffThread(definition: Definition, limits: Partial<ValidationLimits> | undefined, pool: DefinitionPool): Promise<CheckedDefinition> {
  if (definition.case !== "yaml" || !pool.offloads(definition.value)) return checkDefinition(definition, limits);
  return checkedOffThread(await pool.check(definition.value, limits ?? {}), limits);
}

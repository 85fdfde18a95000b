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
import { Worker } from "node:worker_threads";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Problem, ValidationLimits } from "../workflow/definition.js";
import { checkDefinition, checkedOffThread, type CheckedDefinition, type Definition } from "./check-definition.js";
import { DEFINITION_WORKER, type DefinitionJob, type DefinitionMethod, type DefinitionReply } from "./definition-worker.js";

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
  /** Stops every worker; pending documents get a problem. */
  close(): Promise<void>;
}

// Running from sources (vitest transforms src/*.ts), a worker cannot load
// TypeScript: it runs the compiled copy, which the tests' global setup builds.
const WORKER_URL = import.meta.url.endsWith(".ts")
  ? new URL("../../dist/src/coordinator/definition-worker.js", import.meta.url)
  : new URL("./definition-worker.js", import.meta.url);

interface Pending {
  job: DefinitionJob;
  resolve(reply: DefinitionReply): void;
}

interface Slot {
  worker: Worker;
  pending?: Pending;
  /** Idle exit, or the document's time limit while busy. */
  timer?: NodeJS.Timeout;
  dead: boolean;
}

const problem = (message: string): Problem => ({ stepId: "", field: "", message });

/** What a job is, in the problems its worker's failures become. */
const noun = (job: DefinitionJob) => (job.kind === "yaml" ? "YAML document" : "request");

export function createDefinitionPool(options: DefinitionPoolOptions = {}): DefinitionPool {
  const offloadChars = options.offloadChars ?? 32 * 1024;
  const offloadBytes = options.offloadBytes ?? 64 * 1024;
  const size = Math.max(1, options.size ?? 2);
  const maxQueued = options.maxQueued ?? 8;
  const maxHeapMb = options.maxHeapMb ?? 1024;
  const maxMs = options.maxMs ?? 60_000;
  const idleMs = options.idleMs ?? 30_000;
  const slots = new Set<Slot>();
  const idle: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const worker = new Worker(WORKER_URL, { workerData: DEFINITION_WORKER, resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } });
    // A worker never keeps the process alive: requests waiting on it do, through the server.
    worker.unref();
    const slot: Slot = { worker, dead: false };
    slots.add(slot);
    worker.on("message", (reply: DefinitionReply) => {
      const p = slot.pending;
      slot.pending = undefined;
      clearTimeout(slot.timer);
      p?.resolve(reply);
      release(slot);
    });
    worker.on("error", (err: Error & { code?: string }) => {
      end(slot, (what) => err.code === "ERR_WORKER_OUT_OF_MEMORY"
        ? `the ${what} needs more than the ${maxHeapMb} MiB of memory a definition may use to be read; make it smaller`
        : `the ${what} could not be read: ${err.message.split("\n")[0]}`);
    });
    worker.on("exit", () => end(slot, (what) => `the ${what} could not be read: its worker stopped`));
    return slot;
  }

  /** A worker is gone: its document gets `message` as its problem, and the queue moves on. */
  function end(slot: Slot, message: (what: string) => string): void {
    if (slot.dead) return;
    slot.dead = true;
    clearTimeout(slot.timer);
    slots.delete(slot);
    const at = idle.indexOf(slot);
    if (at >= 0) idle.splice(at, 1);
    const p = slot.pending;
    slot.pending = undefined;
    p?.resolve({ id: p.job.id, problems: [problem(message(noun(p.job)))] });
    void slot.worker.terminate();
    pump();
  }

  function run(slot: Slot, p: Pending): void {
    clearTimeout(slot.timer);
    slot.pending = p;
    slot.timer = setTimeout(() => end(slot, (what) => `the ${what} took longer than ${maxMs / 1000}s to read; make it smaller`), maxMs);
    slot.timer.unref();
    slot.worker.postMessage(p.job, p.job.kind === "request" ? [p.job.bytes.buffer as ArrayBuffer] : []);
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
      queue.push({ job, resolve });
      pump();
    });
  }

  return {
    offloads: (yaml) => yaml.length >= offloadChars,
    offloadBytes,
    check: (yaml, limits) => submit({ id: nextId++, kind: "yaml", yaml, limits }),
    checkRequest: (method, format, bytes, limits) => submit({ id: nextId++, kind: "request", method, format, bytes, limits }),

    async close() {
      closed = true;
      for (const p of queue.splice(0)) p.resolve({ id: p.job.id, problems: [problem("the coordinator is shutting down")] });
      await Promise.all([...slots].map((s) => (end(s, () => "the coordinator is shutting down"), s.worker.terminate())));
    },
  };
}

/** checkDefinition, with large YAML read and validated in a worker thread (definition-pool.ts). */
export async function checkDefinitionOffThread(definition: Definition, limits: Partial<ValidationLimits> | undefined, pool: DefinitionPool): Promise<CheckedDefinition> {
  if (definition.case !== "yaml" || !pool.offloads(definition.value)) return checkDefinition(definition, limits);
  return checkedOffThread(await pool.check(definition.value, limits ?? {}), limits);
}

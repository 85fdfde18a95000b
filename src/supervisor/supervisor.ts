// The reference supervisor: implements SupervisorService on top of a set of
// runners. It accepts batches of jobs (idempotently, by attempt id), queues
// them per runner until a slot is free, runs them, and publishes their
// events in one numbered stream that coordinators follow and resume.
//
// Everything here is per job O(1): a 2,000-job batch of noop steps must go
// through dispatch, run and event delivery without the supervisor becoming
// the bottleneck. Events are kept in a bounded ring; finished jobs stay
// answerable for a while and then are forgotten, oldest first.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  JobState,
  type CancelJobsRequest,
  type DispatchJobsRequest,
  type GetJobsRequest,
  type Job,
  type JobEvent,
  type JobStatusSchema,
  type SupervisorService,
  type WatchJobEventsResponseSchema,
} from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { LogStream, type StepError } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { durationMs, fromValueMap, nestsDeeperThan, toValue, ts, type JsonMap, type JsonValue } from "../common/json.js";
import { jsonOf } from "../common/lazy-field.js";
import { decodeJsonObject, encodeJson } from "../common/json-bytes.js";
import { MAX_OUTPUT_DEPTH } from "../common/depth.js";
import type { Logger } from "../common/logger.js";
import { builtinRunners } from "../runners/index.js";
import { SupersededStop, type JobInput, type LogStreamName, type Runner, type RunResult } from "../runners/types.js";
import { EventRing } from "./event-ring.js";
import { createLinkHub } from "./link.js";
import { InputsCache } from "./inputs-cache.js";
import { Fifo } from "./fifo.js";
import { finishedEvent, jsonOutput, logEvent, startedEvent, stepError } from "./messages.js";
import { createMasker, maskJson, type Masker } from "./mask.js";
import type { SecretSource } from "./secrets.js";
import { StepFailureCode } from "../common/failure-codes.js";

export interface SupervisorOptions {
  /** Name reported by DescribeSupervisor and used by coordinators in logs (default `supervisor-<hostname>`). */
  name?: string;
  /** Runners by the name jobs ask for (default: builtinRunners(), i.e. js, shell and noop). */
  runners?: Map<string, Runner>;
  /**
   * Jobs each runner may run at once; more wait in a FIFO queue. A number
   * applies to every runner, a record to the runners it names. Defaults:
   * noop 1000 (it does no work, a low cap would only add queueing),
   * every other runner 8.
   */
  capacity?: number | Record<string, number>;
  /** Free-form labels reported by DescribeSupervisor (e.g. zone, pool). */
  labels?: Record<string, string>;
  /** Time limit of a job whose dispatch carries no timeout (default 300,000 ms). */
  defaultTimeoutMs?: number;
  /**
   * Most job events kept for WatchJobEvents (default 100,000). A watcher
   * resuming from an older sequence number gets `gap` and must reconcile
   * with GetJobs.
   */
  eventBufferSize?: number;
  /**
   * How long a finished job stays answerable by GetJobs and protected from
   * being run again by a repeated dispatch (default 10 minutes). Long enough
   * for a restarted coordinator to re-attach.
   */
  finishedRetentionMs?: number;
  /** Most finished jobs remembered at once, whatever their age (default 100,000); bounds memory under load. */
  maxFinishedJobs?: number;
  /**
   * Most bytes (JSON) of outputs held for finished jobs (default 256 MiB);
   * past it the oldest finished jobs are forgotten, whatever their age. A
   * coordinator asking GetJobs about a forgotten job gets UNKNOWN and runs
   * the step again, so this trades memory for at-least-once re-execution.
   * The event buffer has the same budget of its own for the outputs and log
   * lines in its events (eventBufferBytes).
   */
  maxHeldOutputBytes?: number;
  /**
   * Most bytes of outputs and log lines kept in the event buffer (default
   * 256 MiB); past it the oldest events go, as past eventBufferSize.
   */
  eventBufferBytes?: number;
  /** Largest job output, as JSON bytes, from any runner (default 1 MiB); larger fails OUTPUT_TOO_LARGE. */
  maxOutputBytes?: number;
  /** Log lines longer than this many UTF-8 bytes are cut (default 16 KiB). */
  logLineMaxBytes?: number;
  /**
   * Most log lines one job may emit (default 10,000); the rest are dropped
   * with one system line saying so, so a chatty loop cannot push every other
   * job's events out of the buffer.
   */
  maxLogLinesPerJob?: number;
  /** On close(), how long running jobs may go on before they are cancelled (default 2,000 ms). */
  shutdownGraceMs?: number;
  /** Job lines (started, finished) at debug level with workflow, step and attempt ids; none when absent. */
  logger?: Logger;
  /**
   * Workflows whose inputs are kept for jobs that leave them out
   * (Job.inputs_omitted), and the most bytes (JSON) of them (defaults
   * 10,000 and 64 MiB). Those of workflows with jobs held here are kept
   * first; a job whose inputs are no longer kept is refused ("inputs
   * unknown") and its coordinator sends it again in full.
   */
  maxKeptInputs?: number;
  maxKeptInputsBytes?: number;
  /**
   * A Link stream that sends nothing, not even a ping, for this long is
   * closed and its credits go to the other links (default 15,000 ms).
   */
  linkSilenceLimitMs?: number;
  /**
   * Named secrets jobs may ask for (Job.secrets; secrets.ts): their names
   * are reported by DescribeSupervisor, their values given to the job's
   * runner and masked in its log lines, output and error (mask.ts). Read
   * when each job starts, so a reload applies to jobs not yet started.
   */
  secrets?: SecretSource;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

export interface RunnerStats {
  capacity: number;
  running: number;
  queued: number;
  /** Most jobs run at once since start. */
  maxRunning: number;
  /** Most jobs held at once (running + queued) since start: above capacity only when coordinators over-sent. */
  maxHeld: number;
  /** Jobs accepted since start. */
  accepted: number;
}

export interface SupervisorStats {
  name: string;
  instanceId: string;
  /** Sequence number of the latest event (0 before any). */
  lastSeq: number;
  /** Oldest sequence number still kept (lastSeq + 1 when none). */
  oldestSeq: number;
  /** Jobs known: queued, running, and finished ones still retained. */
  jobs: number;
  /** JSON bytes of the outputs of the finished jobs retained. */
  heldOutputBytes: number;
  /** Events kept for WatchJobEvents, and their bytes (outputs and log lines). */
  events: number;
  eventBytes: number;
  running: number;
  queued: number;
  /** Open WatchJobEvents streams, and watches on Link streams. */
  watchers: number;
  /** Open Link streams. */
  links: number;
  /** Workflows whose inputs are kept for jobs that leave them out. */
  keptInputs: number;
  /** Credit each open link holds per runner (jobs it may send without waiting). */
  linkCredits: Array<Record<string, number>>;
  runners: Record<string, RunnerStats>;
}

export interface Supervisor {
  /** The SupervisorService implementation; mount it on a Connect router or router transport. */
  readonly service: ServiceImpl<typeof SupervisorService>;
  readonly name: string;
  /** Random per process; tells coordinators when the supervisor restarted. */
  readonly instanceId: string;
  /**
   * Stops accepting jobs, cancels queued ones, lets running ones finish for
   * shutdownGraceMs then cancels them, closes the runners and ends every
   * event stream. Idempotent.
   */
  close(): Promise<void>;
  stats(): SupervisorStats;
}

/** What an event costs besides its output or log line (ids, timestamps, objects), for the byte budget. */
const EVENT_OVERHEAD_BYTES = 200;
/** Events per WatchJobEvents message, so one message stays a reasonable size. */
const MAX_EVENTS_PER_MESSAGE = 500;
/** After cancelling on close, how long to wait for runners to answer. */
const CANCEL_WAIT_MS = 5_000;
const DEFAULT_CAPACITY: Record<string, number> = { noop: 1000 };
const DEFAULT_RUNNER_CAPACITY = 8;

const STREAMS: Record<LogStreamName, LogStream> = {
  stdout: LogStream.STDOUT,
  stderr: LogStream.STDERR,
  system: LogStream.SYSTEM,
};

interface Slot {
  name: string;
  runner: Runner;
  capacity: number;
  running: number;
  /** Accepted jobs waiting for a free slot. Cancelled ones stay until shifted. */
  queue: Fifo<JobRecord>;
  queued: number;
  maxRunning: number;
  maxHeld: number;
  accepted: number;
}

interface JobRecord {
  attemptId: string;
  workflowId: string;
  stepId: string;
  slot: Slot;
  /** The job as the runner gets it; dropped once finished. */
  job: JobInput | undefined;
  state: JobState;
  startedAt?: number;
  finishedAt?: number;
  output?: JsonValue;
  /** JSON bytes of the output, counted in heldOutputBytes while the record is retained. */
  outputBytes: number;
  error?: StepError;
  /** Created when the runner first looks at its signal, or on cancel. */
  controller?: AbortController;
  logLines: number;
  /**
   * Why it was stopped when that was not the workflow's doing (the attempt
   * runs elsewhere, or this supervisor shuts down): it then finishes with
   * ATTEMPT_LOST, which runs the step again, rather than CANCELLED, which
   * fails it.
   */
  lostReason?: string;
  /** It counts in the inputs cache's hold on its workflow's inputs. */
  holdsInputs?: boolean;
  /** Names of the secrets the job asked for (none: undefined). */
  secretNames?: string[];
  /** Masks the values of its secrets in what it reports; set when it starts with secrets. */
  mask?: Masker;
}

interface Watcher {
  /** Set while the stream waits for new events. */
  wake: (() => void) | undefined;
}

export function createSupervisor(options: SupervisorOptions = {}): Supervisor {
  const name = options.name ?? `supervisor-${hostname()}`;
  const instanceId = randomUUID();
  const now = options.now ?? Date.now;
  const labels = { ...options.labels };
  const defaultTimeoutMs = positive(options.defaultTimeoutMs, 300_000);
  const retentionMs = options.finishedRetentionMs ?? 10 * 60_000;
  const maxFinished = options.maxFinishedJobs ?? 100_000;
  const maxHeldOutputBytes = positive(options.maxHeldOutputBytes, 256 * 1024 * 1024);
  const logLineMaxBytes = positive(options.logLineMaxBytes, 16 * 1024);
  const maxLogLines = options.maxLogLinesPerJob ?? 10_000;
  const maxOutputBytes = positive(options.maxOutputBytes, 1024 * 1024);
  const shutdownGraceMs = options.shutdownGraceMs ?? 2_000;
  const runners = options.runners ?? builtinRunners();
  const logger = options.logger;
  const secrets = options.secrets;

  const slots = new Map<string, Slot>();
  for (const [runnerName, runner] of runners) {
    slots.set(runnerName, {
      name: runnerName,
      runner,
      capacity: capacityOf(options.capacity, runnerName),
      running: 0,
      queue: new Fifo(),
      queued: 0,
      maxRunning: 0,
      maxHeld: 0,
      accepted: 0,
    });
  }
  const offered = [...slots.keys()].sort().join(", ");

  const jobs = new Map<string, JobRecord>();
  /** Finished jobs in the order they finished, for retention. */
  const finished = new Fifo<JobRecord>();
  /**
   * Attempts cancelled before they arrived (a cancel can overtake its
   * dispatch, or reach a supervisor a failed dispatch may or may not have
   * reached), by attempt id -> when. A dispatch of one of them later is
   * answered at once with CANCELLED instead of running it. Pruned like
   * finished jobs.
   */
  const cancelledEarly = new Map<string, { at: number; reason: string; superseded: boolean }>();
  const keptInputs = new InputsCache(positive(options.maxKeptInputs, 10_000), positive(options.maxKeptInputsBytes, 64 * 1024 * 1024));
  const events = new EventRing<JobEvent>(positive(options.eventBufferSize, 100_000), positive(options.eventBufferBytes, 256 * 1024 * 1024));
  /** JSON bytes of the outputs of retained finished jobs. */
  let heldOutputBytes = 0;
  const watchers = new Set<Watcher>();
  let running = 0;
  let queued = 0;
  let accepting = true;
  let streamsClosed = false;
  let closing: Promise<void> | undefined;
  let wakeScheduled = false;
  let pumpScheduled = false;
  const dirtySlots = new Set<Slot>();
  /** Resolved whenever no job is running, for close(). */
  let idleWaiters: Array<() => void> = [];

  // Expiry also happens on every dispatch; the timer covers quiet periods.
  const pruneTimer = setInterval(prune, Math.max(1_000, Math.min(retentionMs, 60_000)));
  pruneTimer.unref();

  // ---- events ---------------------------------------------------------

  /** Appends an event; `bytes` is what it holds beyond its fixed fields (an output, a log line). */
  function emit(event: JobEvent, bytes = 0): void {
    events.push(event, EVENT_OVERHEAD_BYTES + bytes);
    if (watchers.size > 0 && !wakeScheduled) {
      // One wake-up per turn of the event loop: events emitted in the same
      // turn (a batch of starts, the finishes of a noop batch) go out as one
      // message, with no delay added.
      wakeScheduled = true;
      setImmediate(wakeWatchers);
    }
  }

  function wakeWatchers(): void {
    wakeScheduled = false;
    for (const w of watchers) {
      const wake = w.wake;
      w.wake = undefined;
      wake?.();
    }
  }

  function log(rec: JobRecord, stream: LogStreamName, line: string): void {
    if (rec.state !== JobState.RUNNING) return;
    rec.logLines++;
    if (rec.logLines > maxLogLines) {
      if (rec.logLines === maxLogLines + 1) {
        const line = `log limit of ${maxLogLines} lines reached; further lines are dropped`;
        emit(logEvent(events.lastSeq + 1, rec, now(), LogStream.SYSTEM, line), line.length);
      }
      return;
    }
    // Masked before it is cut, so a cut never leaves part of a value.
    const text = truncate(rec.mask ? rec.mask(String(line)) : String(line), logLineMaxBytes);
    emit(logEvent(events.lastSeq + 1, rec, now(), STREAMS[stream] ?? LogStream.SYSTEM, text), text.length);
  }

  // ---- job lifecycle ---------------------------------------------------

  function accept(job: Job, input: JsonMap, inputs: JsonMap): JobRecord {
    const timeout = durationMs(job.timeout);
    const rec: JobRecord = {
      attemptId: job.attemptId,
      workflowId: job.workflowId,
      stepId: job.stepId,
      slot: slots.get(job.runner)!,
      job: {
        attemptId: job.attemptId,
        workflowId: job.workflowId,
        stepId: job.stepId,
        attempt: job.attempt,
        runner: job.runner,
        payload: job.payload,
        input,
        inputs,
        timeoutMs: timeout !== undefined && timeout > 0 ? timeout : defaultTimeoutMs,
      },
      state: JobState.QUEUED,
      outputBytes: 0,
      logLines: 0,
      ...(job.secrets.length > 0 ? { secretNames: [...job.secrets] } : {}),
    };
    jobs.set(rec.attemptId, rec);
    if (keptInputs.has(rec.workflowId)) {
      keptInputs.hold(rec.workflowId);
      rec.holdsInputs = true;
    }
    rec.slot.queue.push(rec);
    rec.slot.queued++;
    rec.slot.accepted++;
    rec.slot.maxHeld = Math.max(rec.slot.maxHeld, rec.slot.queued + rec.slot.running);
    queued++;
    dirtySlots.add(rec.slot);
    links.changed();
    return rec;
  }

  /**
   * Keeps the inputs of a job's workflow when not kept yet; returns them
   * converted when it did. Throws JobInputError when inputs_json is not a
   * JSON object.
   */
  function keepInputs(job: Job): JsonMap | undefined {
    if (keptInputs.has(job.workflowId)) return undefined;
    if (job.inputsJson.length > 0) {
      const inputs = jsonField(job, "inputs_json");
      keptInputs.put(job.workflowId, inputs, job.inputsJson.length);
      return inputs;
    }
    for (const _ in job.inputs) {
      const inputs = fromValueMap(job.inputs);
      keptInputs.put(job.workflowId, inputs, Buffer.byteLength(JSON.stringify(inputs), "utf8"));
      return inputs;
    }
    return undefined;
  }

  /** The workflow inputs a job carries (inputs_json when set, else the Value map). */
  function inputsOf(job: Job): JsonMap {
    return job.inputsJson.length > 0 ? jsonField(job, "inputs_json") : fromValueMap(job.inputs);
  }

  /** The step input a job carries: input_json when set, else the Value map (as given, in process: lazy-field.ts). */
  function inputOf(job: Job): JsonMap {
    return job.inputJson.length > 0 ? jsonField(job, "input_json") : (jsonOf(job, "input", fromValueMap) as JsonMap);
  }

  /**
   * Accepts a job whose input could not be read, and fails it at once
   * without running it: the step fails with a reason saying what was wrong,
   * where refusing it would have its coordinator send it again and again.
   */
  function failUnreadable(job: Job, err: JobInputError): void {
    const rec = accept(job, {}, {});
    rec.slot.queued--;
    queued--;
    finish(rec, { ok: false, error: { code: StepFailureCode.RUNNER_ERROR, message: err.message } });
  }

  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    // Started after the DispatchJobs answer is on its way, so a coordinator
    // usually sees the ack before the first event of the batch.
    setImmediate(() => {
      pumpScheduled = false;
      for (const slot of dirtySlots) pump(slot);
      dirtySlots.clear();
    });
  }

  /** Starts queued jobs of a runner while it has free slots. */
  function pump(slot: Slot): void {
    while (accepting && slot.running < slot.capacity) {
      const rec = slot.queue.shift();
      if (!rec) return;
      if (rec.state !== JobState.QUEUED) continue; // cancelled while queued
      slot.queued--;
      queued--;
      start(rec);
    }
  }

  function start(rec: JobRecord): void {
    const job = rec.job!;
    rec.state = JobState.RUNNING;
    rec.startedAt = now();
    rec.slot.running++;
    rec.slot.maxRunning = Math.max(rec.slot.maxRunning, rec.slot.running);
    running++;
    emit(startedEvent(events.lastSeq + 1, rec, rec.startedAt));
    if (logger?.isLevelEnabled("debug")) logger.debug({ workflowId: rec.workflowId, stepId: rec.stepId, attemptId: rec.attemptId, runner: job.runner }, "job started");
    if (rec.secretNames) {
      const values: Record<string, string> = {};
      const missing: string[] = [];
      for (const n of rec.secretNames) {
        const v = secrets?.get(n);
        if (v === undefined) missing.push(n);
        else values[n] = v;
      }
      if (missing.length > 0) {
        // Finished on the next turn, like a runner's answer: finishing here would start the next queued job from inside pump().
        const failed: RunResult = { ok: false, error: { code: StepFailureCode.SECRET_UNAVAILABLE, message: `supervisor ${name} does not hold secret${missing.length > 1 ? "s" : ""} ${missing.join(", ")}` } };
        queueMicrotask(() => finish(rec, failed));
        return;
      }
      job.secrets = values;
      rec.mask = createMasker(Object.values(values));
    }
    let promise: Promise<RunResult>;
    try {
      promise = rec.slot.runner.run({
        job,
        // An AbortController per job is a measurable cost at thousands of
        // noop jobs a second, and most runners finish without looking.
        get signal() {
          rec.controller ??= new AbortController();
          return rec.controller.signal;
        },
        log: (stream, line) => log(rec, stream, line),
      });
    } catch (err) {
      promise = Promise.resolve(runnerError(err));
    }
    Promise.resolve(promise).then(
      (result) => finish(rec, result),
      (err: unknown) => finish(rec, runnerError(err)),
    );
  }

  function finish(rec: JobRecord, result: RunResult): void {
    if (rec.state === JobState.SUCCEEDED || rec.state === JobState.FAILED) return;
    if (rec.lostReason !== undefined && !result.ok) result = { ok: false, error: { code: StepFailureCode.ATTEMPT_LOST, message: `stopped: ${rec.lostReason}` } };
    const wasRunning = rec.state === JobState.RUNNING;
    let output: JsonValue | undefined;
    let outputBytes = 0;
    let error: StepError | undefined;
    if (result && result.ok === true) {
      try {
        const text = JSON.stringify(result.output ?? null) ?? "null";
        const bytes = Buffer.byteLength(text, "utf8");
        if (bytes > maxOutputBytes) throw new OutputTooLarge(`output of ${bytes} bytes exceeds the supervisor's limit of ${maxOutputBytes} bytes`);
        if (nestsDeeperThan(result.output, MAX_OUTPUT_DEPTH)) throw new OutputTooDeep(`output nests deeper than ${MAX_OUTPUT_DEPTH} arrays/objects`);
        // Parsed back from its text: plain JSON whatever the runner returned
        // (no NaN, Date or class instance), so converting it to a Value on
        // the wire, later, cannot fail.
        const plain = JSON.parse(text) as JsonValue;
        output = rec.mask ? maskJson(plain, rec.mask) : plain;
        outputBytes = bytes;
      } catch (err) {
        error =
          err instanceof OutputTooLarge ? stepError(StepFailureCode.OUTPUT_TOO_LARGE, err.message)
          : err instanceof OutputTooDeep ? stepError(StepFailureCode.OUTPUT_TOO_DEEP, err.message)
          : stepError(StepFailureCode.RUNNER_ERROR, `output is not JSON: ${errorText(err)}`);
      }
    } else if (result && result.ok === false && result.error) {
      const message = String(result.error.message ?? "");
      error = stepError(String(result.error.code || StepFailureCode.RUNNER_ERROR), rec.mask ? rec.mask(message) : message);
    } else {
      error = stepError(StepFailureCode.RUNNER_ERROR, "runner returned no result");
    }
    rec.state = error ? JobState.FAILED : JobState.SUCCEEDED;
    rec.finishedAt = now();
    rec.output = output;
    rec.outputBytes = outputBytes;
    heldOutputBytes += outputBytes;
    rec.error = error;
    rec.job = undefined;
    rec.controller = undefined;
    rec.mask = undefined;
    emit(finishedEvent(events.lastSeq + 1, rec, rec.finishedAt, output, error), outputBytes + (error ? error.message.length : 0));
    if (logger?.isLevelEnabled("debug")) {
      logger.debug({ workflowId: rec.workflowId, stepId: rec.stepId, attemptId: rec.attemptId, state: error ? "FAILED" : "SUCCEEDED", ...(error ? { error: { code: error.code, message: error.message } } : {}) }, "job finished");
    }
    finished.push(rec);
    if (rec.holdsInputs) {
      rec.holdsInputs = false;
      keptInputs.release(rec.workflowId);
    }
    // A slot (or a queue place) is free: credits may go out again.
    links.changed();
    if (heldOutputBytes > maxHeldOutputBytes) prune();
    if (wasRunning) {
      rec.slot.running--;
      running--;
      if (running === 0 && idleWaiters.length > 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
      pump(rec.slot);
    }
  }

  /** Forgets finished jobs past their retention (oldest first). */
  function prune(): void {
    const cutoff = now() - retentionMs;
    for (;;) {
      const rec = finished.peek();
      if (!rec) return;
      // The newest finished job stays whatever its size: it may not have been reported yet.
      const withinBytes = heldOutputBytes <= maxHeldOutputBytes || finished.length === 1;
      if (rec.finishedAt! > cutoff && finished.length <= maxFinished && withinBytes) return;
      finished.shift();
      heldOutputBytes -= rec.outputBytes;
      if (jobs.get(rec.attemptId) === rec) jobs.delete(rec.attemptId);
    }
  }

  function pruneCancelledEarly(): void {
    const cutoff = now() - retentionMs;
    // A Map iterates in insertion order: oldest first.
    for (const [id, { at }] of cancelledEarly) {
      if (at > cutoff && cancelledEarly.size <= maxFinished) return;
      cancelledEarly.delete(id);
    }
  }

  function cancel(rec: JobRecord, reason: string, superseded = false): boolean {
    if (superseded && rec.state !== JobState.SUCCEEDED && rec.state !== JobState.FAILED) rec.lostReason ??= reason || "stopped";
    if (rec.state === JobState.QUEUED) {
      rec.slot.queued--;
      queued--;
      finish(rec, { ok: false, error: { code: StepFailureCode.CANCELLED, message: reason ? `cancelled: ${reason}` : "cancelled" } });
      return true;
    }
    if (rec.state === JobState.RUNNING) {
      rec.controller ??= new AbortController();
      if (rec.controller.signal.aborted) return false;
      log(rec, "system", reason ? `cancel requested: ${reason}` : "cancel requested");
      rec.controller.abort(rec.lostReason !== undefined ? new SupersededStop(reason || "stopped") : reason || undefined);
      return true;
    }
    return false;
  }

  function waitIdle(ms: number): Promise<void> {
    if (running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      idleWaiters.push(done);
    });
  }

  // ---- service ----------------------------------------------------------

  // The unary calls' logic, shared by the unary handlers and Link.
  const calls = {
    describeSupervisor() {
      return {
        name,
        instanceId,
        runners: [...slots.values()].map((s) => ({
          name: s.name,
          capacity: s.capacity,
          running: s.running,
          queued: s.queued,
          maxRunning: s.maxRunning,
          maxHeld: s.maxHeld,
          accepted: BigInt(s.accepted),
        })),
        labels,
        lastSeq: BigInt(events.lastSeq),
        secrets: secrets?.names() ?? [],
        // It reads Job.input_json and Job.inputs_json.
        jsonValues: true,
      };
    },

    dispatchJobs(req: DispatchJobsRequest) {
      prune();
      const acks = req.jobs.map((job) => {
        const attemptId = job.attemptId;
        if (!accepting) return { attemptId, accepted: false, reason: "shutting down" };
        if (attemptId === "") return { attemptId, accepted: false, reason: "attempt_id is required" };
        // Kept whatever becomes of this job (a duplicate, an unknown
        // runner): its coordinator leaves them out of the next ones.
        let inputs: JsonMap | undefined;
        let unreadable: JobInputError | undefined;
        try {
          inputs = job.inputsOmitted ? undefined : keepInputs(job);
        } catch (err) {
          if (!(err instanceof JobInputError)) throw err;
          unreadable = err;
        }
        if (jobs.has(attemptId)) return { attemptId, accepted: true, duplicate: true };
        if (!slots.has(job.runner)) {
          return { attemptId, accepted: false, reason: `unknown runner "${job.runner}" (offered: ${offered || "none"})` };
        }
        if (job.inputsOmitted) {
          inputs = keptInputs.get(job.workflowId);
          // Never run with empty inputs: the coordinator sends it again in full.
          if (!inputs) return { attemptId, accepted: false, reason: `inputs unknown: this supervisor does not keep the inputs of workflow ${job.workflowId}; send the job with its inputs` };
        }
        let input: JsonMap;
        try {
          if (unreadable) throw unreadable;
          inputs ??= inputsOf(job);
          input = inputOf(job);
        } catch (err) {
          if (!(err instanceof JobInputError)) throw err;
          failUnreadable(job, err);
          return { attemptId, accepted: true };
        }
        const rec = accept(job, input, inputs);
        const early = cancelledEarly.get(attemptId);
        if (early) {
          cancelledEarly.delete(attemptId);
          cancel(rec, early.reason, early.superseded);
        }
        return { attemptId, accepted: true };
      });
      if (dirtySlots.size > 0) schedulePump();
      return { acks, instanceId };
    },

    cancelJobs(req: CancelJobsRequest) {
      pruneCancelledEarly();
      const cancelled: string[] = [];
      for (const id of req.attemptIds) {
        const rec = jobs.get(id);
        if (!rec) {
          if (id !== "") {
            // Re-inserted, so the map stays in time order for pruning.
            cancelledEarly.delete(id);
            cancelledEarly.set(id, { at: now(), reason: req.reason, superseded: req.superseded });
          }
          continue;
        }
        if (cancel(rec, req.reason, req.superseded)) cancelled.push(id);
      }
      return { cancelled };
    },

    /** `json`: the caller reads output_json (a link whose coordinator said so), so outputs go as JSON bytes. */
    getJobs(req: GetJobsRequest, json = false) {
      prune();
      const statuses = req.attemptIds.map((attemptId): MessageInitShape<typeof JobStatusSchema> => {
        const rec = jobs.get(attemptId);
        if (!rec) return { attemptId, state: JobState.UNKNOWN };
        return {
          attemptId,
          state: rec.state,
          ...(rec.output === undefined ? {} : json ? { outputJson: encodeJson(rec.output) } : { output: toValue(rec.output) }),
          error: rec.error,
          startedAt: ts(rec.startedAt),
          finishedAt: ts(rec.finishedAt),
        };
      });
      return { jobs: statuses, instanceId };
    },

  };

  const links = createLinkHub(
    {
      name,
      instanceId,
      describe: calls.describeSupervisor,
      dispatch: calls.dispatchJobs,
      cancel: calls.cancelJobs,
      getJobs: calls.getJobs,
      watch,
      runners: () => [...slots.values()].map((s) => ({ name: s.name, capacity: s.capacity, held: s.running + s.queued })),
    },
    { ...(options.linkSilenceLimitMs !== undefined ? { silenceLimitMs: options.linkSilenceLimitMs } : {}), now },
  );

  const service: ServiceImpl<typeof SupervisorService> = {
    describeSupervisor: () => calls.describeSupervisor(),
    dispatchJobs: (req) => calls.dispatchJobs(req),
    cancelJobs: (req) => calls.cancelJobs(req),
    getJobs: (req) => calls.getJobs(req),

    watchJobEvents(req, ctx) {
      return watch(req.afterSeq, ctx.signal, false);
    },

    link(requests, ctx) {
      return links.handle(requests, ctx);
    },
  };

  /** `json`: the caller reads output_json (a link whose coordinator said so), so finished events carry their outputs as JSON bytes. */
  async function* watch(afterSeq: bigint, signal: AbortSignal, json: boolean): AsyncGenerator<MessageInitShape<typeof WatchJobEventsResponseSchema>> {
    // A sequence number beyond ours belongs to an earlier instance: to this
    // one the caller has seen nothing (the instance_id tells it so).
    let cursor = afterSeq > BigInt(events.lastSeq) ? 0 : Number(afterSeq);
    const gap = cursor > 0 && cursor + 1 < events.oldestSeq;
    // after_seq 0 asks for everything still kept; a gap skips to the same place.
    if (cursor + 1 < events.oldestSeq) cursor = events.oldestSeq - 1;
    let first = true;
    const watcher: Watcher = { wake: undefined };
    const onAbort = (): void => {
      const wake = watcher.wake;
      watcher.wake = undefined;
      wake?.();
    };
    watchers.add(watcher);
    signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        while (cursor < events.lastSeq) {
          if (signal.aborted) return;
          if (cursor + 1 < events.oldestSeq) {
            // This stream was too slow and its next events were overwritten.
            throw new ConnectError(
              `event stream fell behind: events after seq ${cursor} are no longer kept; resume with after_seq=${cursor}`,
              Code.Aborted,
            );
          }
          const batch = events.slice(cursor + 1, MAX_EVENTS_PER_MESSAGE);
          cursor += batch.length;
          yield { events: json ? batch.map(jsonOutput) : batch, instanceId, gap: first && gap };
          first = false;
        }
        if (first) {
          // Nothing to replay: confirm the stream (and the instance) at once.
          yield { events: [], instanceId, gap };
          first = false;
          continue;
        }
        if (streamsClosed || signal.aborted) return;
        await new Promise<void>((resolve) => {
          watcher.wake = resolve;
        });
      }
    } finally {
      watcher.wake = undefined;
      watchers.delete(watcher);
      signal.removeEventListener("abort", onAbort);
    }
  }

  // ---- lifecycle ----------------------------------------------------------

  async function shutdown(): Promise<void> {
    accepting = false;
    for (const slot of slots.values()) {
      for (let rec = slot.queue.shift(); rec; rec = slot.queue.shift()) {
        if (rec.state === JobState.QUEUED) cancel(rec, "supervisor shutting down", true);
      }
    }
    await waitIdle(shutdownGraceMs);
    for (const rec of jobs.values()) {
      if (rec.state === JobState.RUNNING) cancel(rec, "supervisor shutting down", true);
    }
    await waitIdle(CANCEL_WAIT_MS);
    await Promise.all([...slots.values()].map((s) => s.runner.close?.().catch(() => {})));
    // A runner that ignored cancellation still owes its jobs a finished event.
    for (const rec of jobs.values()) {
      if (rec.state === JobState.RUNNING) {
        rec.lostReason ??= "supervisor shut down";
        finish(rec, { ok: false, error: { code: StepFailureCode.CANCELLED, message: "cancelled: supervisor shut down" } });
      }
    }
    clearInterval(pruneTimer);
    streamsClosed = true;
    // Streams send what is left, then end; links once their watches had a turn to.
    wakeWatchers();
    setImmediate(() => links.close());
  }

  return {
    service,
    name,
    instanceId,
    close() {
      closing ??= shutdown();
      return closing;
    },
    stats() {
      const perRunner: Record<string, RunnerStats> = {};
      for (const s of slots.values()) {
        perRunner[s.name] = { capacity: s.capacity, running: s.running, queued: s.queued, maxRunning: s.maxRunning, maxHeld: s.maxHeld, accepted: s.accepted };
      }
      return {
        name,
        instanceId,
        lastSeq: events.lastSeq,
        oldestSeq: events.oldestSeq,
        jobs: jobs.size,
        heldOutputBytes,
        events: events.size,
        eventBytes: events.bytes,
        running,
        queued,
        watchers: watchers.size,
        links: links.size(),
        keptInputs: keptInputs.size,
        linkCredits: links.credits(),
        runners: perRunner,
      };
    },
  };
}

function capacityOf(capacity: SupervisorOptions["capacity"], runner: string): number {
  const given = typeof capacity === "number" ? capacity : capacity?.[runner];
  return positive(given, DEFAULT_CAPACITY[runner] ?? DEFAULT_RUNNER_CAPACITY);
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
}

function runnerError(err: unknown): RunResult {
  return { ok: false, error: { code: StepFailureCode.RUNNER_ERROR, message: `runner failed: ${errorText(err)}` } };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Cuts a line to at most maxBytes of UTF-8, saying how much was dropped. */
function truncate(line: string, maxBytes: number): string {
  if (line.length * 3 <= maxBytes) return line;
  const bytes = Buffer.byteLength(line, "utf8");
  if (bytes <= maxBytes) return line;
  const cut = Buffer.from(line, "utf8").subarray(0, maxBytes).toString("utf8").replace(/\uFFFD$/, "");
  return `${cut}… [${bytes - Buffer.byteLength(cut, "utf8")} bytes cut]`;
}

/** A job's input or inputs that cannot be read: the job fails with this message, never runs. */
class JobInputError extends Error {
  override name = "JobInputError";
}

/** A JSON bytes field of a job, which must hold a JSON object. */
function jsonField(job: Job, field: "input_json" | "inputs_json"): JsonMap {
  try {
    return decodeJsonObject(field === "input_json" ? job.inputJson : job.inputsJson);
  } catch (err) {
    throw new JobInputError(`job ${field} of step ${job.stepId} cannot be read: ${errorText(err)}`);
  }
}

class OutputTooLarge extends Error {
  override name = "OutputTooLarge";
}
class OutputTooDeep extends Error {
  override name = "OutputTooDeep";
}

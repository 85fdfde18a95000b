// Watching a workflow across broken connections: WatchWorkflow is resumable
// from any message's cursor, so when the stream breaks (a coordinator
// restarts, a proxy cuts an idle connection, a laptop sleeps) the helper
// reconnects and asks for what came after the last cursor it delivered.
// The caller sees every message once, in order. Used by the Node and the
// browser client alike (it needs nothing but a client).
import { Code, ConnectError } from "@connectrpc/connect";
import { OutputFormat, type CoordinatorService, type RunWorkflowResponse, type SubmitWorkflowRequest, type WatchWorkflowResponse } from "../../../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowState } from "../../../gen/horus/coordinator/v1/workflow_pb.js";
import type { Plain, PlainClient, PlainInit } from "./plain.js";

/** What watchWorkflow needs of a client: its WatchWorkflow method (plain). */
export type WatchClient = Pick<PlainClient<typeof CoordinatorService>, "watchWorkflow">;

/** What runWorkflow needs of a client: RunWorkflow, and WatchWorkflow to resume. */
export type RunClient = Pick<PlainClient<typeof CoordinatorService>, "runWorkflow" | "watchWorkflow">;

export interface WatchOptions {
  /** Resume after this cursor; empty (default) starts with a snapshot. */
  cursor?: string;
  /** First wait before reconnecting (default 200 ms); doubles per failure up to maxDelayMs. */
  initialDelayMs?: number;
  /** Longest wait between reconnects (default 5,000 ms). */
  maxDelayMs?: number;
  /** Consecutive failed attempts before the last error is thrown (default 10; a delivered message resets the count). */
  maxRetries?: number;
  /** Stops watching; the iteration then ends without an error. */
  signal?: AbortSignal;
  /** Told about each reconnect: the error that broke the stream and the attempt number. */
  onReconnect?: (error: ConnectError, attempt: number) => void;
  /**
   * Ask the coordinator for events gathered several to a message (default
   * true): far cheaper for it to send. They are still handed to you one
   * `event` message each, in order, each with its own cursor.
   */
  batch?: boolean;
  /**
   * Step outputs in the messages (default true). They travel as JSON text
   * (the request's OUTPUT_FORMAT_JSON), which both ends read and write with
   * native JSON code, and are handed to you parsed in `output` as before.
   * false leaves them out: for watchers that follow states only, which read
   * outputs with GetWorkflow when they need them.
   */
  outputs?: boolean;
  /**
   * Each step's latest change only (default false; the request's
   * `latest_only`, with `batch`): a step's READY, DISPATCHED and RUNNING
   * events are left out when a later change of the same attempt comes in the
   * same batch, so a `noop` step is one event instead of four. Errors,
   * retries, waits and ends are always sent. For views of current states:
   * cheaper for the coordinator and for you.
   */
  latestOnly?: boolean;
}

/** Errors worth a reconnect: the server or the network, not the request. */
const RETRYABLE = new Set([Code.Unavailable, Code.Unknown, Code.Internal, Code.DeadlineExceeded, Code.Aborted, Code.ResourceExhausted]);

const TERMINAL = new Set([WorkflowState.SUCCEEDED, WorkflowState.FAILED, WorkflowState.CANCELLED]);

/** A message of WatchWorkflow or of RunWorkflow: the same fields, and RunWorkflow's `submitted` first. */
export type WatchMessage = Plain<WatchWorkflowResponse> | Plain<RunWorkflowResponse>;

/** True for the message after which the server sends nothing more. */
export function isFinal(msg: WatchMessage): boolean {
  if (msg.kind.case === "snapshot") return TERMINAL.has(msg.kind.value.state);
  if (msg.kind.case === "event" && msg.kind.value.kind.case === "workflow") return TERMINAL.has(msg.kind.value.kind.value.state);
  return false;
}

/** A message as the one-event messages it stands for (an `events` batch is split; others pass as they are). */
export function unbatched<M extends WatchMessage>(msg: M): M[] {
  if (msg.kind.case !== "events") return [msg];
  return msg.kind.value.events.map((event) => ({ ...msg, kind: { case: "event" as const, value: event }, cursor: event.cursor }) as M);
}

type WithOutput = { output?: unknown; outputJson: string };

/** Moves an output that came as JSON text into `output`, parsed. */
function parseOutput(m: WithOutput): void {
  if (!m.outputJson) return;
  m.output = JSON.parse(m.outputJson) as unknown;
  m.outputJson = "";
}

/** The message with every step output in `output` (the snapshot's steps, and step events). */
function parsedOutputs<M extends WatchMessage>(msg: M): M {
  if (msg.kind.case === "snapshot") for (const step of msg.kind.value.steps) parseOutput(step);
  const events = msg.kind.case === "events" ? msg.kind.value.events : msg.kind.case === "event" ? [msg.kind.value] : [];
  for (const e of events) if (e.kind.case === "step") parseOutput(e.kind.value);
  return msg;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Every message of the workflow's watch (a snapshot first unless `cursor` is
 * given), reconnecting with the last cursor when the stream breaks, until the
 * workflow ends.
 */
export async function* watchWorkflow(
  client: WatchClient,
  workflowId: string,
  options: WatchOptions = {},
): AsyncGenerator<Plain<WatchWorkflowResponse>> {
  let cursor = options.cursor ?? "";
  let failures = 0;
  const maxRetries = options.maxRetries ?? 10;
  for (;;) {
    try {
      const batch = options.batch ?? true;
      const outputs = options.outputs === false ? OutputFormat.NONE : OutputFormat.JSON;
      for await (const msg of client.watchWorkflow({ workflowId, cursor, batch, outputs, latestOnly: options.latestOnly ?? false }, options.signal ? { signal: options.signal } : {})) {
        failures = 0;
        for (const one of unbatched(parsedOutputs(msg))) {
          cursor = one.cursor;
          yield one;
          if (isFinal(one)) return;
        }
      }
      return; // the server ended the stream: nothing more will come
    } catch (err) {
      if (options.signal?.aborted) return;
      const ce = ConnectError.from(err);
      if (!RETRYABLE.has(ce.code) || ++failures > maxRetries) throw ce;
      options.onReconnect?.(ce, failures);
      const delay = Math.min((options.initialDelayMs ?? 200) * 2 ** (failures - 1), options.maxDelayMs ?? 5_000);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) return;
    }
  }
}

/**
 * Submits a workflow and follows it in one call (RunWorkflow): the first
 * message is `submitted` (the workflow's id, plan and warnings), then every
 * message of its watch, as watchWorkflow hands them, until it ends. The
 * stream is open before the first step runs, and there is no second round
 * trip. When the stream breaks after the submission, the rest is read with
 * WatchWorkflow from the last cursor; before it, the call is retried only
 * with an idempotency key (otherwise a retry could start a second run), and
 * the error is thrown.
 */
export async function* runWorkflow(
  client: RunClient,
  submission: PlainInit<SubmitWorkflowRequest>,
  options: Omit<WatchOptions, "cursor"> = {},
): AsyncGenerator<WatchMessage> {
  let workflowId = "";
  let cursor = "";
  let failures = 0;
  const maxRetries = options.maxRetries ?? 10;
  const batch = options.batch ?? true;
  const outputs = options.outputs === false ? OutputFormat.NONE : OutputFormat.JSON;
  while (!workflowId) {
    try {
      for await (const msg of client.runWorkflow({ submit: submission, batch, outputs, latestOnly: options.latestOnly ?? false }, options.signal ? { signal: options.signal } : {})) {
        failures = 0;
        if (msg.kind.case === "submitted") {
          workflowId = msg.kind.value.workflowId;
          yield msg;
          continue;
        }
        for (const one of unbatched(parsedOutputs(msg))) {
          cursor = one.cursor;
          yield one;
          if (isFinal(one)) return;
        }
      }
      return; // the server ended the stream: nothing more will come
    } catch (err) {
      if (options.signal?.aborted) return;
      const ce = ConnectError.from(err);
      if (workflowId) {
        // Submitted: the rest is read with WatchWorkflow.
        options.onReconnect?.(ce, 1);
        break;
      }
      if (!RETRYABLE.has(ce.code) || !submission.idempotencyKey || ++failures > maxRetries) throw ce;
      options.onReconnect?.(ce, failures);
      await sleep(Math.min((options.initialDelayMs ?? 200) * 2 ** (failures - 1), options.maxDelayMs ?? 5_000), options.signal);
      if (options.signal?.aborted) return;
    }
  }
  yield* watchWorkflow(client, workflowId, { ...options, cursor });
}

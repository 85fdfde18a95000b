// What the bench needs from a Horus deployment under test. Two kinds:
// bench/client.ts (the figures: a coordinator process reached through the
// public API from this process, ends noticed on watch streams) and
// bench/inprocess.ts (for profiling: a coordinator in this process, ends
// noticed on the store's commits).
import type { JsonMap } from "../src/common/json.js";

/** Notices the ends of many workflows at once; opened before they are submitted. */
export interface EndWatch {
  /** Resolves once the workflow has ended (also when it ended before this call). */
  ended(id: string): Promise<void>;
  close(): Promise<void>;
}

/** How a run follows its workflow. */
export interface RunOptions {
  /** Each step's latest change only (RunWorkflowRequest.latest_only), as the dashboard follows a workflow. */
  latestOnly?: boolean;
}

export interface Target {
  /** Submits one workflow; its id. `inputs` are the workflow's inputs. */
  submit(yaml: string, inputs?: JsonMap): Promise<string>;
  /** Submits `count` copies of one workflow at once (in one batch where the target can); their ids. */
  submitMany(yaml: string, count: number): Promise<string[]>;
  /**
   * Submits one workflow and follows it to its end in one call (RunWorkflow),
   * as the SDK's runWorkflow and `horus run` do; its id. Without it, runOne
   * submits and then calls `ended`.
   */
  run?(yaml: string, inputs?: JsonMap, options?: RunOptions): Promise<string>;
  /** Resolves once this one workflow has ended (call it right after submit). */
  ended(id: string): Promise<void>;
  /** Starts noticing the ends of every workflow, for a batch. */
  watchAll(): Promise<EndWatch>;
  /**
   * Dispatch latencies of an ended workflow, in ms: for each step with
   * dependencies, its latest attempt's dispatchedAt (a supervisor's
   * acceptance applied) minus the step's readyAt (set in the transition
   * that recorded its last dependency's success).
   */
  dispatchLatencies(id: string): Promise<number[]>;
  /** When an ended workflow finished (its finished_at, ms on the coordinator's wall clock). */
  finishedAt(id: string): Promise<number>;
  /** How long an ended workflow ran by the coordinator's clock: finished_at minus created_at, ms. */
  ranMs(id: string): Promise<number>;
  close(): Promise<void>;
}

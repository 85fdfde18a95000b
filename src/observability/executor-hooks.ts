// The contract between the executor, which reports what it does, and the
// observers that count it (metrics.ts). It lives here, below both, so that
// observability never imports the coordinator.
import type { DomainEvent } from "../engine/model.js";

/**
 * Observers of what the executor does, for metrics. Called synchronously;
 * they must not throw or block. The engine stays pure: these see its
 * output (stored events), never its state.
 */
export interface ExecutorHooks {
  /** A commit of the workflow was stored: its events, in order. */
  committed?(workflowId: string, events: readonly DomainEvent[]): void;
  /** A job was handed to the supervisor pool. */
  dispatched?(workflowId: string, stepId: string, runner: string): void;
  /** The executor let go of a running workflow (another coordinator took it over). */
  dropped?(workflowId: string): void;
}

// Scheduling as a transition function: (state, input) -> (events, commands).
// No I/O, no clocks (the caller passes `now`), no timers (the engine asks for
// one with a `wake` command and the executor feeds its input back later), no
// randomness (retry jitter is derived from the attempt id). The executor in
// src/coordinator carries out the commands and feeds results back as inputs.
//
// Cost: every operation is O(1) per step record touched plus O(children) when
// a step ends, so a whole run is O(records + edges). Readiness is decided from
// per-step counters of parent outcomes, never by rescanning parents.
//
// This module is the engine's front door; the rules live in one module per
// section of docs/semantics.md, whose comments cite the rows:
//   transitions.ts   the handler of each input and the transition function
//   handler.ts       what a handler declares, and the one guard
//   readiness.ts     trigger rules, skips, `when` (T, C) and `start`
//   retries.ts       retry budget, backoff, lost and unknown attempts (R)
//   timers.ts        the wake commands the engine asks for (D1-D3)
//   timeouts.ts      what an attempt or workflow timeout does (D)
//   fan-out.ts       for_each instances (F)
//   on-failure.ts    on_failure steps and the end of a run (H, T8)
//   retry-workflow.ts  RetryWorkflow (X)
//   cancel.ts        cancel (K)
//   sub-workflows.ts a step whose attempt is a child workflow (W)
//   job-events.ts    accepted, started, finished, waiting
//   records.ts       the only writers of a record's state (states.ts' tables)
//   attempts.ts      new attempts, their commands and inputs
//   engine-state.ts  the derived counters, rebuilt from a record
//   contract.ts      inputs, commands and effects
export type { Command, Effects, EngineInput, ExtraInput, FailureInfo, TimerInput } from "./contract.js";
export { createEngineState, initialStepRecords, type EngineState } from "./engine-state.js";
export { attemptCommand, attemptIdFor, jobInput } from "./attempts.js";
export { backoffMs } from "./retries.js";
export { pendingTimers } from "./timers.js";
export { transition } from "./transitions.js";

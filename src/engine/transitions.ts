// The transition function: (state, input, now) -> effects. Every input type
// has exactly one handler in HANDLERS (the mapped type makes a missing or
// misspelt one a compile error), declaring the states it applies from; the
// guard in handler.ts applies those declarations, and nothing else here
// knows about states. After every input, finishIfDone ends the run or
// starts its on_failure steps.
import { cancel } from "./cancel.js";
import type { Effects, EngineInput } from "./contract.js";
import type { EngineState } from "./engine-state.js";
import { guarded, type Handler, type Handlers } from "./handler.js";
import { accepted, finished, started, waiting } from "./job-events.js";
import { finishIfDone } from "./on-failure.js";
import { start } from "./readiness.js";
import { lost, rejected, retryDue, unknownAttempt } from "./retries.js";
import { retryWorkflow } from "./retry-workflow.js";
import { childFinished, childStarted } from "./sub-workflows.js";
import { attemptTimedOut, workflowTimedOut } from "./timeouts.js";

/** One handler per input type. */
export const HANDLERS: Handlers = {
  start,
  accepted,
  started,
  finished,
  waiting,
  rejected,
  lost,
  unknownAttempt,
  retryDue,
  attemptTimedOut,
  workflowTimedOut,
  childStarted,
  childFinished,
  cancel,
  retryWorkflow,
};

/** Applies one input; mutates `state` and returns what happened and what to do. */
export function transition(state: EngineState, input: EngineInput, now: number): Effects {
  const fx: Effects = { events: [], commands: [], changed: new Set(), workflowChanged: false };
  for (const i of state.appended) fx.changed.add(i);
  state.appended = [];
  // HANDLERS[input.type] is the handler of this very input type; TypeScript
  // cannot correlate the two through a union, hence the widening.
  guarded(HANDLERS[input.type] as Handler<EngineInput>, state, fx, input, now);
  finishIfDone(state, fx, now);
  return fx;
}

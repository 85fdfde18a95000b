// What a supervisor's answer about one attempt means, pure: an
// acknowledgement of a DispatchJobs call, and a job event on its stream.
// The pool (pool.ts) says what it knows of the attempt; these say what to
// do. The cases that matter are the ones where the pool and the supervisor
// disagree: a dispatch whose answer was lost (it may or may not be there),
// and a copy left on a supervisor after the attempt was sent elsewhere.

/** What the pool knows of an attempt when a supervisor acknowledges (or refuses) its dispatch. */
export interface AckSituation {
  /** The attempt is still tracked on that supervisor (not released while the call was out). */
  tracked: boolean;
  /** Released meanwhile, it waits here to be sent again. */
  waiting: boolean;
  /** The supervisor took the job. */
  accepted: boolean;
  /** The supervisor had the attempt already (sent again after a coordinator change). */
  duplicate: boolean;
}

export type AckAction =
  /** It runs there: acknowledged, reported accepted, copies elsewhere from lost answers stopped. */
  | "accept"
  /** Refused: placed again (the refusal's reason is a health event for the supervisor). */
  | "refuse"
  /**
   * Released while the call was out (the supervisor was declared down) and
   * not sent elsewhere yet: it runs there after all, so it is taken out of
   * the wait queue and tracked there.
   */
  | "adopt"
  /** Released and since sent elsewhere, or no longer wanted: this copy is stopped (superseded). */
  | "stopCopy"
  /** Nothing to do. */
  | "ignore";

export interface AckDecision {
  action: AckAction;
  /** Ask the supervisor for the attempt's state: as a duplicate it may have finished long ago, with no event to come. */
  askState: boolean;
}

export function onAck(s: AckSituation): AckDecision {
  if (s.tracked) return s.accepted ? { action: "accept", askState: s.duplicate } : { action: "refuse", askState: false };
  if (!s.accepted) return { action: "ignore", askState: false };
  if (s.waiting) return { action: "adopt", askState: s.duplicate };
  // A duplicate is the copy an earlier dispatch started, not one this call
  // made: whoever sent the attempt elsewhere deals with it.
  return { action: s.duplicate ? "ignore" : "stopCopy", askState: false };
}

/** What the pool knows of an attempt when an event of it arrives on a supervisor's stream. */
export interface EventSituation {
  /** Where the attempt is tracked: on this supervisor, on another, or nowhere. */
  owner: "here" | "elsewhere" | "none";
  /** A dispatch of it to this supervisor lost its answer, and it has not been found since. */
  maybeHere: boolean;
  /** Tracked here, its dispatch's answer lost: not known to be there yet. */
  uncertain: boolean;
  /** The event is the job's end. */
  finished: boolean;
}

export interface EventDecision {
  /** Drop the event: a copy left from a dispatch whose answer was lost, while the attempt runs elsewhere (its cancellation is not the attempt's). */
  skip: boolean;
  /** The dispatch whose answer was lost did arrive: the attempt runs here (taken out of the wait queue if it waits; its copies elsewhere stopped). */
  foundHere: boolean;
  /** The uncertain dispatch did arrive and runs: acknowledged now. */
  confirm: boolean;
  /** It ended: no longer tracked, routed or looked for elsewhere. */
  finish: boolean;
}

export function onEvent(s: EventSituation): EventDecision {
  if (s.owner === "elsewhere") return { skip: true, foundHere: false, confirm: false, finish: false };
  return {
    skip: false,
    foundHere: s.owner === "none" && s.maybeHere,
    confirm: s.owner === "here" && s.uncertain && !s.finished,
    finish: s.finished,
  };
}

// The health of one pool member as a pure reducer: what the pool saw of a
// supervisor (a call answered or failed, a stream message, a clock tick, an
// instance id) in, its new health and what the pool must do about it out.
// pool.ts owns the calls, the timers and the attempts on each member; this
// decides when a member is up, suspect or down, how long to wait before
// trying it again, when its jobs are given away, and which of them are
// stopped if it comes back.
//
//   connecting ── stream message ──▶ up ── call failed / stream ended ──▶ suspect
//        │                            ▲                                     │
//        │                            └────────── stream message ───────────┤
//        └──────── silent for timeoutMs (from any state but down) ──────▶ down
//
// A suspect member gets no new jobs but keeps its own: a short outage loses
// nothing. A down one's jobs are released (acknowledged ones lost and run
// again, the others placed elsewhere under the same attempt id); if the same
// instance answers again, the lost ones still on it are stopped there. A new
// instance id means the supervisor restarted: everything it had is gone.

/** A member's health, as ListSupervisors shows it. */
export type SupervisorHealth = "connecting" | "up" | "suspect" | "down";

/** The pool's health settings (see PoolOptions). */
export interface HealthRules {
  /** Silent this long (ms): down. */
  timeoutMs: number;
  /** First delay before reopening a failed event stream (ms); reset when it connects. */
  initialBackoffMs: number;
  /** The delay doubles up to this (ms). */
  maxBackoffMs: number;
}

export interface HealthState {
  health: SupervisorHealth;
  /** When it last answered anything (ms). */
  lastSeen: number;
  /** The delay before the next attempt to reopen its event stream (ms). */
  backoffMs: number;
  /** The supervisor process's instance id, "" until it described itself. */
  instanceId: string;
  /** Attempts reported lost while it was down: stopped on it if it comes back as the same instance. */
  declaredLost: readonly string[];
}

/** Remembered lost attempts per member, the newest kept. */
export const DECLARED_LOST_MAX = 10_000;

export type HealthEvent =
  /** A call to it answered (describe, dispatch, an event-stream message). */
  | { type: "answered" }
  /** It described itself at the start of an event stream. */
  | { type: "connected" }
  /** Its event stream delivered a message: it is up. */
  | { type: "streamMessage" }
  /** A call to it failed in a way that says it is unreachable. */
  | { type: "callFailed" }
  /** Its event stream ended (failed, hung and aborted, or closed). */
  | { type: "streamEnded" }
  /** The pool waited out the backoff before reopening the stream. */
  | { type: "retried" }
  /** The clock moved. */
  | { type: "tick" }
  /**
   * It reported its instance id: in DescribeSupervisor (the first one is
   * adopted) or on its event stream (compared with the one described).
   */
  | { type: "instanceSeen"; instanceId: string; from: "describe" | "stream" }
  /** The pool released these acknowledged attempts because the member went down (remembered, see declaredLost). */
  | { type: "released"; attemptIds: readonly string[] }
  /** It acknowledged a dispatch after it was declared down: it stalled rather than died. */
  | { type: "lateAck" }
  /** It refused a job of `runner`. */
  | { type: "refused"; runner: string; reason: string };

export type HealthEffect =
  /**
   * It is up: place jobs on it. `again` when it had been suspect or down
   * (worth a log line). `declaredLost`: attempts given away while it was down
   * (see returningCopies).
   */
  | { type: "up"; again: boolean; declaredLost: readonly string[] }
  /** It was up and stopped answering: worth a warning; it gets no new jobs. */
  | { type: "unreachable" }
  /** It is down: release its attempts (feed the lost ones back as `released`) and restart its event stream. */
  | { type: "down" }
  /** It restarted as `instanceId`: whatever it ran is gone; release everything, replay its events from the start. */
  | { type: "restarted"; instanceId: string }
  /** It does not run this runner (any more): stop placing its jobs there. */
  | { type: "dropRunner"; runner: string };

export interface HealthResult {
  state: HealthState;
  effects: HealthEffect[];
}

type Handler<E extends HealthEvent> = (s: HealthState, e: E, now: number, rules: HealthRules) => HealthResult;

const same = (state: HealthState, ...effects: HealthEffect[]): HealthResult => ({ state, effects });

/** One handler per event; the compiler checks that every event has one. */
const handlers: { [T in HealthEvent["type"]]: Handler<Extract<HealthEvent, { type: T }>> } = {
  answered: (s, _e, now) => same({ ...s, lastSeen: now }),
  connected: (s, _e, _now, rules) => same({ ...s, backoffMs: rules.initialBackoffMs }),
  streamMessage: (s) => {
    if (s.health === "up") return same(s);
    const again = s.health === "down" || s.health === "suspect";
    return same({ ...s, health: "up", declaredLost: [] }, { type: "up", again, declaredLost: s.declaredLost });
  },
  // A member still connecting stays so: it never was up, so nothing changes for placement.
  callFailed: (s) => (s.health === "up" ? same({ ...s, health: "suspect" }, { type: "unreachable" }) : same(s)),
  streamEnded: (s) => (s.health === "up" ? same({ ...s, health: "suspect" }) : same(s)),
  retried: (s, _e, _now, rules) => same({ ...s, backoffMs: Math.min(rules.maxBackoffMs, s.backoffMs * 2) }),
  tick: (s, _e, now, rules) => (s.health !== "down" && now - s.lastSeen > rules.timeoutMs ? same({ ...s, health: "down" }, { type: "down" }) : same(s)),
  instanceSeen: (s, e) => {
    // The first description names the instance; after that any other id is a restart.
    const restarted = e.from === "describe" ? s.instanceId !== "" && s.instanceId !== e.instanceId : s.instanceId !== e.instanceId;
    if (!restarted) return same(e.from === "describe" ? { ...s, instanceId: e.instanceId } : s);
    return same({ ...s, instanceId: e.instanceId, declaredLost: [] }, { type: "restarted", instanceId: e.instanceId });
  },
  released: (s, e) => {
    if (e.attemptIds.length === 0) return same(s);
    return same({ ...s, declaredLost: [...s.declaredLost, ...e.attemptIds].slice(-DECLARED_LOST_MAX) });
  },
  // Suspect, not up: a new silence releases it again.
  lateAck: (s) => same(s.health === "down" ? { ...s, health: "suspect" } : s),
  // A supervisor shutting down refuses everything: take no more jobs there
  // (its stream ending soon says the rest). Any other refusal is about the
  // runner: stop placing its jobs there until it describes itself again.
  refused: (s, e) => (/shutting down/.test(e.reason) ? same({ ...s, health: "suspect" }) : same(s, { type: "dropRunner", runner: e.runner })),
};

/** A new member's health: connecting, seen now. */
export function initialHealth(now: number, rules: HealthRules): HealthState {
  return { health: "connecting", lastSeen: now, backoffMs: rules.initialBackoffMs, instanceId: "", declaredLost: [] };
}

/** The health transition: the new state and what the pool must do. Never changes `state`. */
export function stepHealth(state: HealthState, event: HealthEvent, now: number, rules: HealthRules): HealthResult {
  return (handlers[event.type] as Handler<HealthEvent>)(state, event, now, rules);
}

/** An attempt on a member being released, as releaseAll sees it. */
export interface HeldAttempt {
  attemptId: string;
  /** The supervisor acknowledged it. */
  acked: boolean;
  /** It left in a DispatchJobs call (false: still in the outbox). */
  sent: boolean;
}

/** What becomes of the attempts of a member that went down, restarted or left the pool. */
export interface Release {
  /** Acknowledged: lost, the step runs again as a new attempt. */
  lost: string[];
  /** Not acknowledged: placed again under the same attempt id, in this order. */
  resend: string[];
  /** Of `resend`, those sent without an answer: the member may run them all the same. */
  maybeDelivered: string[];
}

export function release(attempts: Iterable<HeldAttempt>): Release {
  const out: Release = { lost: [], resend: [], maybeDelivered: [] };
  for (const a of attempts) {
    if (a.acked) out.lost.push(a.attemptId);
    else {
      out.resend.push(a.attemptId);
      if (a.sent) out.maybeDelivered.push(a.attemptId);
    }
  }
  return out;
}

/** What to do with the attempts given away while a member was down, now that the same instance is back. */
export interface Returning {
  /** Stale copies: stopped there (superseded). */
  stop: string[];
  /** Still waiting here to be sent again under the same id: the copy there is that attempt, kept (and adopted like a dispatch that may have arrived). */
  maybeDelivered: string[];
}

/**
 * Sorts a returning member's declaredLost. An attempt sent again under the
 * same id (its step had not started as far as the workflow knew) is that
 * attempt wherever it is, never a stale copy: placed on this member again,
 * it is left alone; still waiting to be sent, the copy here may be adopted.
 * The rest were lost and run elsewhere as new attempts: stopped here.
 */
export function returningCopies(declaredLost: Iterable<string>, ownedHere: (attemptId: string) => boolean, waitingHere: (attemptId: string) => boolean): Returning {
  const out: Returning = { stop: [], maybeDelivered: [] };
  for (const id of declaredLost) {
    if (ownedHere(id)) continue;
    if (waitingHere(id)) out.maybeDelivered.push(id);
    else out.stop.push(id);
  }
  return out;
}

/** What decides whether a member's acknowledged attempts are due for a GetJobs check. */
export interface ReconcileClock {
  health: SupervisorHealth;
  /** Attempts were attached while it could not be asked. */
  needsReconcile: boolean;
  /** When they were last checked (ms). */
  lastReconcile: number;
}

/**
 * Only a member that is up is asked; it is asked at once when attempts were
 * attached while it could not be, and every `everyMs` anyway (a safety net
 * for missed finish events).
 */
export function reconcileDue(c: ReconcileClock, now: number, everyMs: number): boolean {
  return c.health === "up" && (c.needsReconcile || now - c.lastReconcile >= everyMs);
}

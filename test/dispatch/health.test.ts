// Table tests of a pool member's health (src/dispatch/health.ts): each row is
// a situation, an event and the state and effects that must follow.
import { describe, expect, it } from "vitest";
import {
  DECLARED_LOST_MAX,
  initialHealth,
  reconcileDue,
  release,
  returningCopies,
  stepHealth,
  type HealthEffect,
  type HealthEvent,
  type HealthRules,
  type HealthState,
} from "../../src/dispatch/health.js";

const rules: HealthRules = { timeoutMs: 1_000, initialBackoffMs: 100, maxBackoffMs: 800 };

/** A member seen at 0, up, instance i1, backoff 100, unless told otherwise. */
function st(over: Partial<HealthState> = {}): HealthState {
  return { health: "up", lastSeen: 0, backoffMs: 100, instanceId: "i1", declaredLost: [], ...over };
}

/** Deeply frozen, so that a reducer writing to its input throws. */
function frozen(s: HealthState): HealthState {
  return Object.freeze({ ...s, declaredLost: Object.freeze([...s.declaredLost]) });
}

describe("stepHealth", () => {
  const table: Array<{ situation: string; state: HealthState; event: HealthEvent; now?: number; expect: Partial<HealthState>; effects?: HealthEffect[] }> = [
    // Answers keep a member alive.
    { situation: "any answer records the time", state: st({ health: "suspect" }), event: { type: "answered" }, now: 50, expect: { lastSeen: 50, health: "suspect" } },
    { situation: "a describe at stream start resets the backoff", state: st({ backoffMs: 800 }), event: { type: "connected" }, expect: { backoffMs: 100 } },
    // Up only from a stream message.
    { situation: "first stream message: up, not 'again'", state: st({ health: "connecting" }), event: { type: "streamMessage" }, expect: { health: "up" }, effects: [{ type: "up", again: false, declaredLost: [] }] },
    { situation: "suspect, then a stream message: up again", state: st({ health: "suspect" }), event: { type: "streamMessage" }, expect: { health: "up" }, effects: [{ type: "up", again: true, declaredLost: [] }] },
    {
      situation: "down, then the same instance streams: up again, its given-away attempts handed over once",
      state: st({ health: "down", declaredLost: ["a", "b"] }),
      event: { type: "streamMessage" },
      expect: { health: "up", declaredLost: [] },
      effects: [{ type: "up", again: true, declaredLost: ["a", "b"] }],
    },
    { situation: "a stream message while up changes nothing", state: st({ declaredLost: ["a"] }), event: { type: "streamMessage" }, expect: { health: "up", declaredLost: ["a"] } },
    // Failures: suspect, warned once.
    { situation: "up, a call fails: suspect, warned", state: st(), event: { type: "callFailed" }, expect: { health: "suspect" }, effects: [{ type: "unreachable" }] },
    { situation: "suspect, a call fails: no second warning", state: st({ health: "suspect" }), event: { type: "callFailed" }, expect: { health: "suspect" } },
    { situation: "connecting, a call fails: still connecting", state: st({ health: "connecting" }), event: { type: "callFailed" }, expect: { health: "connecting" } },
    { situation: "down, a call fails: still down", state: st({ health: "down" }), event: { type: "callFailed" }, expect: { health: "down" } },
    { situation: "up, the stream ends: suspect, not warned", state: st(), event: { type: "streamEnded" }, expect: { health: "suspect" } },
    { situation: "connecting, the stream ends: still connecting", state: st({ health: "connecting" }), event: { type: "streamEnded" }, expect: { health: "connecting" } },
    { situation: "down, the stream ends: still down", state: st({ health: "down" }), event: { type: "streamEnded" }, expect: { health: "down" } },
    // Backoff doubles up to the cap.
    { situation: "retry: 100 doubles", state: st({ backoffMs: 100 }), event: { type: "retried" }, expect: { backoffMs: 200 } },
    { situation: "retry: 400 doubles to the cap", state: st({ backoffMs: 400 }), event: { type: "retried" }, expect: { backoffMs: 800 } },
    { situation: "retry: 600 stops at the cap", state: st({ backoffMs: 600 }), event: { type: "retried" }, expect: { backoffMs: 800 } },
    { situation: "retry: at the cap stays", state: st({ backoffMs: 800 }), event: { type: "retried" }, expect: { backoffMs: 800 } },
    // The clock: silent longer than the timeout is down, once.
    { situation: "silent exactly the timeout: not yet down", state: st(), event: { type: "tick" }, now: 1_000, expect: { health: "up" } },
    { situation: "up, silent past the timeout: down", state: st(), event: { type: "tick" }, now: 1_001, expect: { health: "down" }, effects: [{ type: "down" }] },
    { situation: "suspect, silent past the timeout: down", state: st({ health: "suspect" }), event: { type: "tick" }, now: 5_000, expect: { health: "down" }, effects: [{ type: "down" }] },
    { situation: "connecting, never answered: down", state: st({ health: "connecting", instanceId: "" }), event: { type: "tick" }, now: 5_000, expect: { health: "down" }, effects: [{ type: "down" }] },
    { situation: "already down: released once only", state: st({ health: "down" }), event: { type: "tick" }, now: 9_000, expect: { health: "down" } },
    { situation: "suspect, answered recently: stays suspect", state: st({ health: "suspect", lastSeen: 4_500 }), event: { type: "tick" }, now: 5_000, expect: { health: "suspect" } },
    // Instance ids: a new one is a restart.
    { situation: "the first description names the instance", state: st({ health: "connecting", instanceId: "" }), event: { type: "instanceSeen", instanceId: "i1", from: "describe" }, expect: { instanceId: "i1" } },
    { situation: "the same instance described again", state: st({ declaredLost: ["a"] }), event: { type: "instanceSeen", instanceId: "i1", from: "describe" }, expect: { instanceId: "i1", declaredLost: ["a"] } },
    {
      situation: "described as another instance: restarted, nothing of the old one to stop",
      state: st({ health: "down", declaredLost: ["a"] }),
      event: { type: "instanceSeen", instanceId: "i2", from: "describe" },
      expect: { instanceId: "i2", declaredLost: [], health: "down" },
      effects: [{ type: "restarted", instanceId: "i2" }],
    },
    { situation: "the stream names the described instance", state: st(), event: { type: "instanceSeen", instanceId: "i1", from: "stream" }, expect: { instanceId: "i1" } },
    { situation: "the stream names another instance: restarted", state: st(), event: { type: "instanceSeen", instanceId: "i2", from: "stream" }, expect: { instanceId: "i2" }, effects: [{ type: "restarted", instanceId: "i2" }] },
    {
      situation: "the stream compares even with an empty described id",
      state: st({ instanceId: "" }),
      event: { type: "instanceSeen", instanceId: "i2", from: "stream" },
      expect: { instanceId: "i2" },
      effects: [{ type: "restarted", instanceId: "i2" }],
    },
    // Lost attempts remembered while down.
    { situation: "released attempts are remembered", state: st({ health: "down", declaredLost: ["a"] }), event: { type: "released", attemptIds: ["b", "c"] }, expect: { declaredLost: ["a", "b", "c"] } },
    { situation: "nothing released", state: st({ health: "down", declaredLost: ["a"] }), event: { type: "released", attemptIds: [] }, expect: { declaredLost: ["a"] } },
    // A late acknowledgement and refusals.
    { situation: "down, then a late acknowledgement: suspect (it stalled)", state: st({ health: "down" }), event: { type: "lateAck" }, expect: { health: "suspect" } },
    { situation: "up, a late acknowledgement: stays up", state: st(), event: { type: "lateAck" }, expect: { health: "up" } },
    { situation: "suspect, a late acknowledgement: stays suspect", state: st({ health: "suspect" }), event: { type: "lateAck" }, expect: { health: "suspect" } },
    { situation: "refused, shutting down: suspect", state: st(), event: { type: "refused", runner: "noop", reason: "supervisor is shutting down" }, expect: { health: "suspect" } },
    { situation: "refused, shutting down, even when down: suspect", state: st({ health: "down" }), event: { type: "refused", runner: "noop", reason: "shutting down" }, expect: { health: "suspect" } },
    {
      situation: "refused for the runner: the runner is dropped, health unchanged",
      state: st(),
      event: { type: "refused", runner: "gpu", reason: 'no runner "gpu"' },
      expect: { health: "up" },
      effects: [{ type: "dropRunner", runner: "gpu" }],
    },
  ];
  for (const t of table) {
    it(`${t.situation}`, () => {
      const before = frozen(t.state);
      const { state, effects } = stepHealth(before, t.event, t.now ?? 0, rules);
      expect(state).toEqual({ ...t.state, ...t.expect });
      expect(effects).toEqual(t.effects ?? []);
    });
  }

  it("keeps the newest DECLARED_LOST_MAX lost attempts", () => {
    const old = Array.from({ length: DECLARED_LOST_MAX - 1 }, (_, i) => `old${i}`);
    const { state } = stepHealth(st({ health: "down", declaredLost: old }), { type: "released", attemptIds: ["n1", "n2", "n3"] }, 0, rules);
    expect(state.declaredLost).toHaveLength(DECLARED_LOST_MAX);
    expect(state.declaredLost[0]).toBe("old2");
    expect(state.declaredLost.slice(-3)).toEqual(["n1", "n2", "n3"]);
  });

  it("a new member is connecting, seen now, with the first backoff", () => {
    expect(initialHealth(42, rules)).toEqual({ health: "connecting", lastSeen: 42, backoffMs: 100, instanceId: "", declaredLost: [] });
  });
});

describe("health over time", () => {
  /** Runs events from a state; returns the last state and every effect type, in order. */
  function run(from: HealthState, events: Array<[HealthEvent, number]>): { state: HealthState; effects: string[] } {
    let state = from;
    const effects: string[] = [];
    for (const [event, now] of events) {
      const r = stepHealth(state, event, now, rules);
      state = r.state;
      effects.push(...r.effects.map((fx) => fx.type));
    }
    return { state, effects };
  }

  const scenarios: Array<{ situation: string; from?: HealthState; events: Array<[HealthEvent, number]>; health: string; effects: string[]; declaredLost?: string[] }> = [
    {
      situation: "connecting, described, streaming: up",
      from: initialHealth(0, rules),
      events: [[{ type: "answered" }, 10], [{ type: "instanceSeen", instanceId: "i1", from: "describe" }, 10], [{ type: "connected" }, 10], [{ type: "instanceSeen", instanceId: "i1", from: "stream" }, 11], [{ type: "streamMessage" }, 11]],
      health: "up",
      effects: ["up"],
    },
    {
      situation: "an outage shorter than the timeout loses nothing",
      events: [[{ type: "callFailed" }, 100], [{ type: "streamEnded" }, 100], [{ type: "tick" }, 900], [{ type: "answered" }, 950], [{ type: "tick" }, 1_500], [{ type: "streamMessage" }, 1_500]],
      health: "up",
      effects: ["unreachable", "up"],
    },
    {
      situation: "silent past the timeout: down once, its lost attempts stopped when the same instance is back",
      events: [[{ type: "callFailed" }, 100], [{ type: "tick" }, 1_001], [{ type: "released", attemptIds: ["a", "b"] }, 1_001], [{ type: "tick" }, 3_000], [{ type: "answered" }, 3_100], [{ type: "instanceSeen", instanceId: "i1", from: "describe" }, 3_100], [{ type: "streamMessage" }, 3_100]],
      health: "up",
      effects: ["unreachable", "down", "up"],
      declaredLost: [],
    },
    {
      situation: "down, then back as a new instance: restarted, nothing of the old one stopped",
      events: [[{ type: "tick" }, 2_000], [{ type: "released", attemptIds: ["a"] }, 2_000], [{ type: "instanceSeen", instanceId: "i2", from: "describe" }, 2_100], [{ type: "streamMessage" }, 2_100]],
      health: "up",
      effects: ["down", "restarted", "up"],
      declaredLost: [],
    },
    {
      situation: "a stalled member acknowledges late, then goes silent again: down again",
      events: [[{ type: "tick" }, 2_000], [{ type: "lateAck" }, 2_100], [{ type: "answered" }, 2_100], [{ type: "tick" }, 3_101]],
      health: "down",
      effects: ["down", "down"],
    },
  ];
  for (const t of scenarios) {
    it(t.situation, () => {
      const { state, effects } = run(t.from ?? st(), t.events);
      expect(state.health).toBe(t.health);
      expect(effects).toEqual(t.effects);
      if (t.declaredLost) expect(state.declaredLost).toEqual(t.declaredLost);
    });
  }

  it("the stream's retry delay doubles to the cap and resets once it connects", () => {
    let state = st({ health: "connecting" });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      ({ state } = stepHealth(state, { type: "streamEnded" }, 0, rules));
      delays.push(state.backoffMs);
      ({ state } = stepHealth(state, { type: "retried" }, 0, rules));
    }
    ({ state } = stepHealth(state, { type: "connected" }, 0, rules));
    delays.push(state.backoffMs);
    expect(delays).toEqual([100, 200, 400, 800, 800, 100]);
  });
});

describe("release: what becomes of a member's attempts", () => {
  const table: Array<{ situation: string; attempts: Array<{ attemptId: string; acked: boolean; sent: boolean }>; lost: string[]; resend: string[]; maybeDelivered: string[] }> = [
    { situation: "nothing held", attempts: [], lost: [], resend: [], maybeDelivered: [] },
    { situation: "acknowledged: lost (runs again as a new attempt)", attempts: [{ attemptId: "a", acked: true, sent: true }], lost: ["a"], resend: [], maybeDelivered: [] },
    { situation: "sent, unanswered: sent again, and may be there", attempts: [{ attemptId: "a", acked: false, sent: true }], lost: [], resend: ["a"], maybeDelivered: ["a"] },
    { situation: "still in the outbox: sent elsewhere, cannot be there", attempts: [{ attemptId: "a", acked: false, sent: false }], lost: [], resend: ["a"], maybeDelivered: [] },
    {
      situation: "a mix keeps its order",
      attempts: [
        { attemptId: "a", acked: true, sent: true },
        { attemptId: "b", acked: false, sent: false },
        { attemptId: "c", acked: false, sent: true },
        { attemptId: "d", acked: true, sent: true },
      ],
      lost: ["a", "d"],
      resend: ["b", "c"],
      maybeDelivered: ["c"],
    },
  ];
  for (const t of table) it(t.situation, () => expect(release(t.attempts)).toEqual({ lost: t.lost, resend: t.resend, maybeDelivered: t.maybeDelivered }));
});

describe("returningCopies: a member that was down comes back as the same instance", () => {
  const table: Array<{ situation: string; declaredLost: string[]; owned: string[]; waiting: string[]; stop: string[]; maybeDelivered: string[] }> = [
    { situation: "lost and run elsewhere: stopped there", declaredLost: ["a"], owned: [], waiting: [], stop: ["a"], maybeDelivered: [] },
    { situation: "placed on it again since: its own, left alone", declaredLost: ["a"], owned: ["a"], waiting: [], stop: [], maybeDelivered: [] },
    { situation: "still waiting here to be sent: the copy there may be adopted", declaredLost: ["a"], owned: [], waiting: ["a"], stop: [], maybeDelivered: ["a"] },
    { situation: "owned wins over waiting", declaredLost: ["a"], owned: ["a"], waiting: ["a"], stop: [], maybeDelivered: [] },
    { situation: "a mix", declaredLost: ["a", "b", "c", "d"], owned: ["b"], waiting: ["c"], stop: ["a", "d"], maybeDelivered: ["c"] },
  ];
  for (const t of table) {
    it(t.situation, () => {
      const r = returningCopies(t.declaredLost, (id) => t.owned.includes(id), (id) => t.waiting.includes(id));
      expect(r).toEqual({ stop: t.stop, maybeDelivered: t.maybeDelivered });
    });
  }
});

describe("reconcileDue: when acknowledged attempts are checked with GetJobs", () => {
  const table: Array<{ situation: string; health: HealthState["health"]; needsReconcile: boolean; lastReconcile: number; now: number; expect: boolean }> = [
    { situation: "up, checked recently", health: "up", needsReconcile: false, lastReconcile: 0, now: 9_999, expect: false },
    { situation: "up, the period is over", health: "up", needsReconcile: false, lastReconcile: 0, now: 10_000, expect: true },
    { situation: "up, attempts attached while it could not be asked", health: "up", needsReconcile: true, lastReconcile: 0, now: 1, expect: true },
    { situation: "suspect: not asked, however late", health: "suspect", needsReconcile: true, lastReconcile: 0, now: 60_000, expect: false },
    { situation: "down: not asked", health: "down", needsReconcile: false, lastReconcile: 0, now: 60_000, expect: false },
    { situation: "connecting: not asked", health: "connecting", needsReconcile: true, lastReconcile: 0, now: 60_000, expect: false },
  ];
  for (const t of table) it(`${t.situation} -> ${t.expect}`, () => expect(reconcileDue(t, t.now, 10_000)).toBe(t.expect));
});

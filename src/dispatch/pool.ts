// The supervisor pool: routes jobs to supervisors that can run them (runner,
// pinned name, labels), least loaded first and never above a supervisor's
// capacity per runner; batches them per supervisor; follows each
// supervisor's event stream; and watches health, so that a supervisor that
// stops answering gets no new jobs at once and, once it has been silent for
// `supervisorTimeoutMs`, its jobs are reported lost and run elsewhere. It
// keeps no workflow state; the executor owns that.
//
// Jobs no supervisor can take now wait here, in a WaitQueue: for capacity
// (backpressure, as long as it takes) or because no supervisor that could
// serve them is up (for at most `unroutableTimeoutMs`, then they fail
// NO_SUPERVISOR). Either wait is reported through listener.waiting so the
// step shows why it is not running.
//
// This file is the I/O shell: calls, streams, timers and the attempts on
// each member. The decisions are pure and table-tested: placement.ts picks
// the member for a job and says why a group waits; health.ts moves a
// member between connecting, up, suspect and down, says what is released
// and what is stopped when it comes back, and when GetJobs reconciles;
// answers.ts says what an acknowledgement or a job event means for an attempt.
import { setMaxListeners } from "node:events";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { JobEventSchema, JobSchema, JobState, type Job, type JobEvent, type JobStatus } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import type { StepFailure } from "../engine/model.js";
import { onAck, onEvent } from "./answers.js";
import { initialHealth, release, returningCopies, reconcileDue, stepHealth, type HealthEvent, type HealthRules, type HealthState, type SupervisorHealth } from "./health.js";
import { createSupervisorLink, type SupervisorLink } from "./link.js";
import { noSupervisorError, offeredRunners, pick as pickIndex, serves, unroutableExpired, unroutableSince, whyWaiting, type WaitReason } from "./placement.js";
import { WaitQueue, type RouteConstraints, type WaitGroup } from "./waiting.js";

export type { RouteConstraints } from "./waiting.js";
export type { SupervisorHealth } from "./health.js";

/** What the pool reports back. Called synchronously from the pool's I/O callbacks. */
export interface DispatchListener {
  /** The supervisor accepted the attempt. */
  accepted(attemptId: string, supervisor: string): void;
  /** The attempt cannot run anywhere; the step should fail with this error. */
  rejected(attemptId: string, error: StepFailure): void;
  /** Events of jobs on a supervisor (started, log, finished), in the supervisor's order. */
  jobEvents(supervisor: string, events: JobEvent[]): void;
  /**
   * The attempt is gone: its supervisor restarted, was down longer than the
   * supervisor timeout, or left the pool. The step runs again as a new
   * attempt; this is not a failure of the step.
   */
  lost(attemptId: string, reason: string): void;
  /** The attempt waits in the coordinator; `reason` says why ("" never sent: acceptance ends a wait). */
  waiting(attemptId: string, reason: string): void;
}

export interface SupervisorEndpoint {
  /** Used until the supervisor describes itself. */
  name: string;
  transport: Transport;
  /** Shown by ListSupervisors. */
  url?: string;
  /** "static" (--supervisor), "registered" or "embedded" (default static). */
  source?: SupervisorSource;
}

export type SupervisorSource = "static" | "registered" | "embedded";

export interface PoolOptions {
  supervisors: SupervisorEndpoint[];
  listener: DispatchListener;
  /** Delay before retrying an unreachable supervisor, doubling up to maxBackoffMs (default 100). */
  initialBackoffMs?: number;
  /** Longest wait between retries (default 2,000). */
  maxBackoffMs?: number;
  /**
   * A supervisor that has not answered for this long is down: its jobs are
   * reported lost and dispatched elsewhere (default 5,000). It gets no new
   * jobs from its first failed call on; jobs it keeps running through a
   * shorter outage are picked up again when it answers.
   */
  supervisorTimeoutMs?: number;
  /**
   * How often the acknowledged attempts on each supervisor are checked with
   * GetJobs, a safety net for finish events that were missed (default 10,000 ms).
   */
  reconcileEveryMs?: number;
  /**
   * How long a job may wait while no supervisor that could run it is up
   * (none offers the runner, the pinned one is absent, no labels match)
   * before it fails with NO_SUPERVISOR (default 60,000). Waiting for
   * capacity has no limit.
   */
  unroutableTimeoutMs?: number;
  /** Called for problems worth a log line (unreachable supervisor, refused batch). */
  onWarning?(message: string, error?: unknown): void;
  /** Called for notable changes (a supervisor up or down). */
  onInfo?(message: string): void;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

export type JobInit = Parameters<typeof create<typeof JobSchema>>[1];

interface Tracked {
  job: Job;
  /** The supervisor acknowledged it (false while the DispatchJobs call is out). */
  acked: boolean;
  /**
   * The DispatchJobs call failed mid-flight, so the supervisor may or may
   * not have the job. It stays placed here (and counts against capacity)
   * until the supervisor says which, or is declared down: sending it
   * elsewhere first could run the same attempt twice.
   */
  uncertain?: boolean;
}

/** A member's health fields are a HealthState (health.ts decides them; applyHealth writes them back). */
interface Member extends HealthState {
  endpoint: SupervisorEndpoint;
  /** One long-lived Link stream to the supervisor (unary calls if it offers none). */
  client: SupervisorLink;
  /**
   * Slots the supervisor granted this coordinator per runner (its credits)
   * less the jobs placed here and not yet sent: placement's cross-coordinator
   * bound. A runner without a grant (no link open) has no entry.
   */
  free: Map<string, number>;
  /** Aborted when the member leaves the pool. */
  abort: AbortController;
  name: string;
  instanceId: string;
  runners: Map<string, number>;
  labels: Record<string, string>;
  /** Names of the secrets it holds (from DescribeSupervisor, so a reload there shows here at the next ping). */
  secrets: Set<string>;
  /** Attempts sent to this supervisor and not finished. */
  inFlight: Map<string, Tracked>;
  /** In-flight jobs per runner, for capacity. */
  load: Map<string, number>;
  lastSeq: bigint;
  outbox: Job[];
  sending: boolean;
  /** Attempts were attached while it was unreachable: ask for their state when it is back. */
  needsReconcile: boolean;
  /** When its acknowledged attempts were last checked with GetJobs. */
  lastReconcile: number;
  removed: boolean;
  /** Aborts the current event stream only (to restart one that hangs). */
  streamAbort?: AbortController;
}

/** An attempt dispatched by an earlier owner of its workflow, to follow from now on. */
export interface AttachedAttempt {
  attemptId: string;
  workflowId: string;
  stepId: string;
  runner: string;
  /** The supervisor that accepted it, when that was recorded. */
  supervisor?: string;
}

export interface SupervisorSummary {
  name: string;
  url: string;
  source: SupervisorSource;
  health: SupervisorHealth;
  labels: Record<string, string>;
  /** Names of the secrets it holds, sorted. */
  secrets: string[];
  runners: Array<{ name: string; capacity: number; inFlight: number }>;
  inFlight: number;
  lastSeen: number;
}

export interface SupervisorPool {
  /** Connects to every supervisor (describe + event stream). Resolves when each was tried once. */
  start(): Promise<void>;
  /** Queues a job; it is sent in one batch per supervisor on the next tick, or waits. */
  dispatch(job: JobInit, route?: RouteConstraints): void;
  /**
   * Re-attaches attempts that another coordinator (or this one before a
   * restart) dispatched: asks their supervisor, or every reachable one when
   * none was recorded, for their state by attempt id. Attempts found are
   * followed as if dispatched here; finished ones are reported at once
   * through jobEvents. Resolves with the ids no supervisor knows.
   */
  attach(attempts: AttachedAttempt[]): Promise<string[]>;
  /**
   * Asks the supervisor running the attempt to stop it (or drops it while it
   * waits). Resolves once every supervisor that may have it answered, left
   * the pool, or CANCEL_RETRY_MS passed; it keeps trying meanwhile.
   * `superseded` ends the job ATTEMPT_LOST instead of CANCELLED (see
   * CancelJobsRequest.superseded): for stops the workflow did not ask for.
   */
  cancel(attemptId: string, reason: string, superseded?: boolean): Promise<void>;
  /**
   * Asks every supervisor to stop these attempts, in batches (for attempts
   * whose supervisor is not known here, e.g. of a workflow that ended
   * elsewhere). Resolves like cancel().
   */
  stopEverywhere(attemptIds: string[], reason: string, superseded?: boolean): Promise<void>;
  /** Adds a supervisor (a registration); replaces one with the same endpoint name. */
  add(endpoint: SupervisorEndpoint): void;
  /** Removes a supervisor (its registration ran out): its jobs are reported lost. */
  remove(endpointName: string, reason: string): void;
  /** Endpoint names of the members, for registration sync. */
  endpoints(): string[];
  /** Runner names offered by supervisors that are up. */
  runners(): string[];
  describe(): SupervisorSummary[];
  /** Jobs waiting in the coordinator (READY steps no supervisor can take yet: no capacity, or none can serve them). */
  waitingCount(): number;
  close(): Promise<void>;
}

/** Attempt ids per CancelJobs call of stopEverywhere. */
const STOP_BATCH = 500;
/** How long a cancel is sent again to a supervisor that does not answer. */
const CANCEL_RETRY_MS = 120_000;

export function createSupervisorPool(options: PoolOptions): SupervisorPool {
  const { listener } = options;
  const now = options.now ?? Date.now;
  const initialBackoff = options.initialBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 2_000;
  const timeoutMs = options.supervisorTimeoutMs ?? 5_000;
  const rules: HealthRules = { timeoutMs, initialBackoffMs: initialBackoff, maxBackoffMs: maxBackoff };
  const unroutableMs = options.unroutableTimeoutMs ?? 60_000;
  // Ping often enough that a silent supervisor is noticed well within the timeout.
  const pingEveryMs = Math.max(100, Math.floor(timeoutMs / 4));
  const reconcileEveryMs = options.reconcileEveryMs ?? 10_000;
  const warn = options.onWarning ?? (() => {});
  const info = options.onInfo ?? (() => {});
  const abort = new AbortController();
  // Every call to a supervisor listens on these signals while it runs, and a
  // busy pool has many at once: not a leak, so no listener-count warning.
  setMaxListeners(0, abort.signal);
  const members: Member[] = [];
  const waiting = new WaitQueue();
  const owner = new Map<string, Member>();
  /** Round-robin start among equally loaded supervisors, so ties spread. */
  let turn = 0;
  let flushScheduled = false;
  let closed = false;
  let started = false;

  const healthTimer = setInterval(checkHealth, Math.max(50, Math.min(pingEveryMs, 500)));
  healthTimer.unref();

  function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      // The listener goes away with the timer: sleeps repeat for the pool's
      // lifetime, and listeners left on the signal would pile up.
      const onAbort = () => { clearTimeout(t); resolve(); };
      const t = setTimeout(() => { signal.removeEventListener("abort", onAbort); resolve(); }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Recomputes a member's granted free slots: its link's credits less what
   * waits in its outbox. While a link is open, a runner without a grant yet
   * has none (the grant follows the hello at once); without a link
   * (a supervisor that offers none) only capacity bounds placement.
   */
  function refreshFree(m: Member): void {
    m.free.clear();
    if (m.client.mode() !== "link") return;
    const queued = new Map<string, number>();
    for (const job of m.outbox) queued.set(job.runner, (queued.get(job.runner) ?? 0) + 1);
    for (const runner of m.runners.keys()) m.free.set(runner, (m.client.credits(runner) ?? 0) - (queued.get(runner) ?? 0));
  }

  /** Tells each supervisor how many jobs wait here that it could serve, so its credits go where jobs wait. */
  function reportDemand(): void {
    const wanted = new Map<Member, Map<string, number>>();
    for (const group of waiting.groups.values()) {
      let n = 0;
      for (const lane of group.lanes.values()) n += lane.jobs.length - lane.head;
      if (n === 0) continue;
      for (const m of members) {
        if (!serves(m, group.runner, group.route)) continue;
        let per = wanted.get(m);
        if (!per) wanted.set(m, (per = new Map()));
        per.set(group.runner, (per.get(group.runner) ?? 0) + n);
      }
    }
    // The link sends only what changed, so every runner is told each time (0: nothing waits).
    for (const m of members) {
      const per = wanted.get(m);
      for (const runner of m.runners.keys()) m.client.setDemand(runner, per?.get(runner) ?? 0);
    }
  }

  function newMember(endpoint: SupervisorEndpoint): Member {
    const memberAbort = new AbortController();
    setMaxListeners(0, memberAbort.signal);
    abort.signal.addEventListener("abort", () => memberAbort.abort(), { once: true });
    const m: Member = {
      endpoint,
      client: createSupervisorLink(endpoint.transport, { pongTimeoutMs: timeoutMs }),
      free: new Map(),
      abort: memberAbort,
      name: endpoint.name,
      ...initialHealth(now(), rules),
      runners: new Map(),
      labels: {},
      secrets: new Set(),
      inFlight: new Map(),
      load: new Map(),
      lastSeq: 0n,
      outbox: [],
      sending: false,
      needsReconcile: false,
      lastReconcile: now(),
      removed: false,
    };
    // A grant (or a closed link) changes what may be placed there.
    m.client.onCredits(() => {
      refreshFree(m);
      flushSoon();
    });
    return m;
  }

  // ---- tracking -----------------------------------------------------------

  function track(m: Member, job: Job, acked: boolean): void {
    m.inFlight.set(job.attemptId, { job, acked });
    m.load.set(job.runner, (m.load.get(job.runner) ?? 0) + 1);
    owner.set(job.attemptId, m);
  }

  function untrack(m: Member, attemptId: string): Tracked | undefined {
    const t = m.inFlight.get(attemptId);
    if (!t) return undefined;
    m.inFlight.delete(attemptId);
    m.load.set(t.job.runner, Math.max(0, (m.load.get(t.job.runner) ?? 1) - 1));
    if (owner.get(attemptId) === m) owner.delete(attemptId);
    return t;
  }

  /** Puts an attempt back to be placed again, unless it was cancelled or finished meanwhile (then it has no route). */
  function requeue(job: Job): void {
    const route = routeOf.get(job.attemptId);
    if (route) waiting.add(job, route, now());
  }

  /**
   * A supervisor answered GetJobs that it has `job` (whose dispatch was not
   * acknowledged): its acceptance there is recorded first, so the attempt
   * says where it ran; a finished one goes into `settled`, a running one is
   * tracked there as acknowledged.
   */
  function foundAt(m: Member, status: JobStatus, job: Job, settled: JobEvent[]): void {
    untrack(m, status.attemptId);
    listener.accepted(status.attemptId, m.name);
    if (status.state === JobState.SUCCEEDED || status.state === JobState.FAILED) {
      settled.push(finishedEvent(status, job));
      routeOf.delete(status.attemptId);
    } else track(m, job, true);
  }

  /**
   * Lets go of everything on a supervisor: acknowledged attempts are lost
   * (the step runs again), unacknowledged ones wait to be sent elsewhere
   * under the same attempt id.
   */
  function releaseAll(m: Member, reason: string): string[] {
    // Jobs still in the outbox were never sent (and are tracked too: once each).
    const unsent = new Set(m.outbox.splice(0).map((job) => job.attemptId));
    const held = [...m.inFlight];
    const { lost, resend, maybeDelivered: sent } = release(held.map(([id, t]) => ({ attemptId: id, acked: t.acked, sent: !unsent.has(id) })));
    for (const [id] of held) untrack(m, id);
    for (const id of sent) maybeDelivered(id, m);
    const jobs = new Map(held.map(([id, t]) => [id, t.job]));
    for (const id of resend) requeue(jobs.get(id)!);
    for (const id of lost) {
      routeOf.delete(id);
      listener.lost(id, reason);
    }
    flushSoon();
    return lost;
  }

  /** Route constraints of attempts not finished, to re-route them. */
  const routeOf = new Map<string, RouteConstraints>();
  /**
   * Supervisors a dispatch was sent to whose answer never came (the call
   * failed mid-flight): they may run the attempt although it waits here to
   * be sent again. A cancel must reach them too, and once another
   * supervisor accepts the attempt their copy is stopped: otherwise a job
   * cancelled while it waits for a re-send runs on where the first send
   * arrived.
   */
  const maybeAt = new Map<string, Set<Member>>();

  /**
   * A dispatch whose answer was lost did arrive (the supervisor reports the
   * job): it runs here, so it no longer waits to be sent again. Returns
   * whether the wait queue changed.
   */
  function foundHere(m: Member, ev: JobEvent): boolean {
    const job = waiting.take(ev.attemptId);
    void stopMaybeCopies(ev.attemptId, "re-dispatched elsewhere", m);
    if (!job) return false;
    if (ev.kind.case !== "finished") {
      track(m, job, true);
      listener.accepted(ev.attemptId, m.name);
    }
    return true;
  }

  /**
   * A supervisor acknowledged a dispatch after it was declared down (it
   * stalled rather than died). If the attempt still waits here to be sent
   * again, it runs there after all: it is tracked there, and the supervisor,
   * which just answered, is suspect rather than down, so that a new silence
   * releases it again. Stopping that copy instead would end the attempt
   * CANCELLED on a supervisor whose job was never given to another.
   * Returns whether it was adopted.
   */
  function adoptLate(m: Member, attemptId: string): boolean {
    const job = waiting.take(attemptId);
    if (!job) return false;
    track(m, job, true);
    applyHealth(m, { type: "lateAck" });
    void stopMaybeCopies(attemptId, "re-dispatched elsewhere", m);
    listener.accepted(attemptId, m.name);
    return true;
  }

  function maybeDelivered(attemptId: string, m: Member): void {
    let at = maybeAt.get(attemptId);
    if (!at) maybeAt.set(attemptId, (at = new Set()));
    at.add(m);
  }

  /**
   * Stops an attempt on the supervisors that may have it from a failed
   * dispatch, except `except`. Superseded unless the workflow asked for
   * the stop (see CancelJobsRequest.superseded).
   */
  function stopMaybeCopies(attemptId: string, reason: string, except?: Member, superseded = true): Promise<void> {
    const at = maybeAt.get(attemptId);
    if (!at) return Promise.resolve();
    maybeAt.delete(attemptId);
    at.delete(except!);
    return cancelOn(at, attemptId, reason, superseded);
  }

  // ---- health -------------------------------------------------------------

  /**
   * Feeds a health event to health.ts, writes the new state back and carries
   * out its effects. `error` is the failure behind a callFailed, for the log;
   * `at` the time of a tick shared by every member.
   */
  function applyHealth(m: Member, event: HealthEvent, error?: unknown, at = now()): void {
    const { health, lastSeen, backoffMs, instanceId, declaredLost } = m;
    const { state, effects } = stepHealth({ health, lastSeen, backoffMs, instanceId, declaredLost }, event, at, rules);
    m.health = state.health;
    m.lastSeen = state.lastSeen;
    m.backoffMs = state.backoffMs;
    m.instanceId = state.instanceId;
    m.declaredLost = state.declaredLost;
    for (const fx of effects) {
      switch (fx.type) {
        case "up": {
          if (fx.again) info(`supervisor ${m.name} is up again`);
          // Same instance, back after we gave its jobs away: stop them there.
          const { stop, maybeDelivered: kept } = returningCopies(fx.declaredLost, (id) => owner.get(id) === m, (id) => waiting.has(id));
          for (const id of kept) maybeDelivered(id, m);
          if (stop.length > 0) m.client.cancelJobs({ attemptIds: stop, reason: "re-dispatched after the supervisor was down", superseded: true }, { timeoutMs: 5_000 }).catch(() => {});
          flushSoon();
          break;
        }
        case "unreachable":
          warn(`supervisor ${m.name} unreachable: ${errorText(error)}; no new jobs until it answers`);
          break;
        case "down": {
          const lost = releaseAll(m, `supervisor ${m.name} did not answer for ${timeoutMs} ms`);
          applyHealth(m, { type: "released", attemptIds: lost });
          warn(`supervisor ${m.name} is down (no answer for ${timeoutMs} ms)${lost.length > 0 ? `; re-dispatching its ${lost.length} jobs` : ""}`);
          // A stream that hangs without an error is restarted.
          m.streamAbort?.abort();
          break;
        }
        case "restarted":
          // Whatever it ran for us is gone.
          warn(`supervisor ${m.name} restarted (instance ${fx.instanceId}); re-dispatching its ${m.inFlight.size} jobs`);
          m.lastSeq = 0n;
          releaseAll(m, `supervisor ${m.name} restarted`);
          break;
        case "dropRunner":
          m.runners.delete(fx.runner);
          break;
      }
    }
  }

  function seen(m: Member): void {
    applyHealth(m, { type: "answered" });
  }

  function setSuspect(m: Member, err: unknown): void {
    applyHealth(m, { type: "callFailed" }, err);
  }

  function checkHealth(): void {
    if (closed) return;
    const t = now();
    for (const m of members) applyHealth(m, { type: "tick" }, undefined, t);
    expireUnroutable(t);
    if (waiting.size > 0) flushSoon();
  }

  async function pingLoop(m: Member): Promise<void> {
    while (!closed && !m.removed) {
      await sleep(pingEveryMs, m.abort.signal);
      if (closed || m.removed) return;
      try {
        await describe(m, Math.max(100, Math.floor(timeoutMs / 2)));
        seen(m);
        if (m.health === "up") await resolveUncertain(m);
        await antiEntropy(m);
      } catch (err) {
        if (closed || m.removed) return;
        setSuspect(m, err);
      }
    }
  }

  /**
   * Asks the supervisor for the state of its acknowledged attempts when
   * they were attached while it could not be asked, and every
   * reconcileEveryMs anyway: a finish event missed while no one here
   * advanced its workflow (a takeover racing the event) would otherwise
   * leave the step running forever.
   */
  async function antiEntropy(m: Member): Promise<void> {
    if (!reconcileDue(m, now(), reconcileEveryMs)) return;
    m.needsReconcile = false;
    m.lastReconcile = now();
    const ids = [...m.inFlight].filter(([, t]) => t.acked).map(([id]) => id);
    try {
      for (const id of await reconcile(m, ids)) listener.lost(id, `supervisor ${m.name} no longer knows the attempt`);
    } catch (err) {
      m.needsReconcile = true;
      throw err;
    }
  }

  async function describe(m: Member, callTimeoutMs: number): Promise<void> {
    const res = await m.client.describeSupervisor({}, { signal: m.abort.signal, timeoutMs: callTimeoutMs });
    m.name = res.name || m.endpoint.name;
    m.runners = new Map(res.runners.map((r) => [r.name, r.capacity]));
    m.labels = { ...res.labels };
    m.secrets = new Set(res.secrets);
    applyHealth(m, { type: "instanceSeen", instanceId: res.instanceId, from: "describe" });
  }

  /** Keeps one event stream open per supervisor while it is in the pool. */
  async function followEvents(m: Member, ready: () => void): Promise<void> {
    let first = true;
    while (!closed && !m.removed) {
      const streamAbort = new AbortController();
      m.streamAbort = streamAbort;
      const signal = AbortSignal.any([m.abort.signal, streamAbort.signal]);
      try {
        await describe(m, 5_000);
        seen(m);
        applyHealth(m, { type: "connected" });
        await resolveUncertain(m);
        if (m.needsReconcile) {
          m.needsReconcile = false;
          for (const id of await reconcile(m, [...m.inFlight.keys()])) listener.lost(id, `supervisor ${m.name} no longer knows the attempt`);
        }
        const stream = m.client.watchJobEvents({ afterSeq: m.lastSeq }, { signal });
        for await (const msg of stream) {
          seen(m);
          applyHealth(m, { type: "instanceSeen", instanceId: msg.instanceId, from: "stream" });
          if (m.health !== "up") {
            // Back within the timeout: its jobs were kept and go on; events
            // it emitted meanwhile are replayed from lastSeq.
            applyHealth(m, { type: "streamMessage" });
            if (first) { first = false; ready(); }
          }
          // Events we needed were dropped from the supervisor's buffer: ask
          // for the state of every attempt still in flight instead.
          if (msg.gap) {
            for (const id of await reconcile(m, [...m.inFlight.keys()])) listener.lost(id, `supervisor ${m.name} no longer knows the attempt`);
          }
          if (msg.events.length === 0) continue;
          let freed = false;
          const relevant: JobEvent[] = [];
          for (const ev of msg.events) {
            if (ev.seq > m.lastSeq) m.lastSeq = ev.seq;
            const at = owner.get(ev.attemptId);
            const t = at === m ? m.inFlight.get(ev.attemptId) : undefined;
            const d = onEvent({
              owner: at === undefined ? "none" : at === m ? "here" : "elsewhere",
              maybeHere: maybeAt.get(ev.attemptId)?.has(m) ?? false,
              uncertain: t?.uncertain ?? false,
              finished: ev.kind.case === "finished",
            });
            if (d.skip) continue;
            if (d.foundHere) freed = foundHere(m, ev) || freed;
            if (d.confirm) {
              t!.uncertain = false;
              t!.acked = true;
              listener.accepted(ev.attemptId, m.name);
            }
            if (d.finish) {
              freed = untrack(m, ev.attemptId) !== undefined || freed;
              routeOf.delete(ev.attemptId);
              maybeAt.delete(ev.attemptId);
            }
            relevant.push(ev);
          }
          if (relevant.length > 0) listener.jobEvents(m.name, relevant);
          if (freed) flushSoon();
        }
      } catch (err) {
        if (closed || m.removed) return;
        if (!streamAbort.signal.aborted) setSuspect(m, err);
      }
      applyHealth(m, { type: "streamEnded" });
      if (first) { first = false; ready(); }
      if (closed || m.removed) return;
      await sleep(m.backoffMs, m.abort.signal);
      applyHealth(m, { type: "retried" });
    }
  }

  /**
   * Asks a supervisor for the state of in-flight attempts (after missed
   * events, or when attaching): finished ones are reported as events and
   * forgotten; returns the ids it does not know, also forgotten.
   */
  async function reconcile(m: Member, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const res = await m.client.getJobs({ attemptIds: ids }, { signal: m.abort.signal, timeoutMs: 10_000 });
    const settled: JobEvent[] = [];
    const unknown: string[] = [];
    for (const job of res.jobs) {
      const known = m.inFlight.get(job.attemptId);
      if (!known) continue;
      if (job.state === JobState.SUCCEEDED || job.state === JobState.FAILED) {
        settled.push(finishedEvent(job, known.job));
        untrack(m, job.attemptId);
      } else if (job.state === JobState.UNKNOWN) {
        untrack(m, job.attemptId);
        unknown.push(job.attemptId);
      }
    }
    if (settled.length > 0) listener.jobEvents(m.name, settled);
    if (settled.length + unknown.length > 0) flushSoon();
    return unknown;
  }

  /**
   * Asks a supervisor which of the attempts whose dispatch to it failed
   * mid-flight it has. Those it has run there (acknowledged now, or
   * reported finished); those it does not know are placed again.
   */
  async function resolveUncertain(m: Member): Promise<void> {
    const ids = [...m.inFlight].filter(([, t]) => t.uncertain).map(([id]) => id);
    if (ids.length === 0) return;
    const res = await m.client.getJobs({ attemptIds: ids }, { signal: m.abort.signal, timeoutMs: 10_000 });
    const settled: JobEvent[] = [];
    for (const job of res.jobs) {
      const t = m.inFlight.get(job.attemptId);
      if (!t?.uncertain) continue;
      if (job.state === JobState.UNKNOWN) {
        untrack(m, job.attemptId);
        requeue(t.job);
        continue;
      }
      void stopMaybeCopies(job.attemptId, "re-dispatched elsewhere", m);
      foundAt(m, job, t.job, settled);
    }
    if (settled.length > 0) listener.jobEvents(m.name, settled);
    flushSoon();
  }

  /** GetJobs asked of each supervisor in this tick, merged into one call (a takeover asks per attempt). */
  const asking = new Map<Member, { ids: Set<string>; answer: Promise<{ jobs: JobStatus[] }> }>();

  function askJobs(m: Member, ids: string[]): Promise<{ jobs: JobStatus[] }> {
    let batch = asking.get(m);
    if (!batch) {
      const merged = new Set<string>();
      const answer = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        asking.delete(m);
        return m.client.getJobs({ attemptIds: [...merged] }, { signal: m.abort.signal, timeoutMs: 10_000 });
      });
      batch = { ids: merged, answer };
      asking.set(m, batch);
    }
    for (const id of ids) batch.ids.add(id);
    return batch.answer;
  }

  async function attach(attempts: AttachedAttempt[]): Promise<string[]> {
    const unknown: string[] = [];
    const placed = new Map<Member, string[]>();
    const unplaced = new Map<string, Job>();
    for (const a of attempts) {
      const job = create(JobSchema, { attemptId: a.attemptId, workflowId: a.workflowId, stepId: a.stepId, runner: a.runner });
      const m = a.supervisor === undefined ? undefined : members.find((x) => x.name === a.supervisor);
      if (!m) {
        unplaced.set(a.attemptId, job);
        continue;
      }
      track(m, job, true);
      placed.set(m, [...(placed.get(m) ?? []), a.attemptId]);
    }
    // Recorded supervisor: ask it. One that is unreachable now is asked when it is
    // back (or, if it restarted meanwhile, its attempts are reported lost).
    await Promise.all(
      [...placed].map(async ([m, ids]) => {
        if (m.health === "down") {
          // Its own jobs were already given away when it went down, and
          // nothing would give these away later: treat them the same now.
          for (const id of ids) untrack(m, id);
          unknown.push(...ids);
          return;
        }
        if (m.health !== "up") {
          m.needsReconcile = true;
          return;
        }
        try {
          unknown.push(...(await reconcile(m, ids)));
        } catch (err) {
          warn(`could not ask ${m.name} about re-attached attempts: ${errorText(err)}`);
          m.needsReconcile = true;
        }
      }),
    );
    // No supervisor recorded (the dispatch was not acknowledged yet): any
    // may have it. Every supervisor not down is asked, waiting (up to the
    // time after which a silent one is declared down) for those not up
    // yet, since calling an attempt unknown sends it again.
    if (unplaced.size > 0) {
      const ids = [...unplaced.keys()];
      const found = new Set<string>();
      const asked = new Set<Member>();
      const deadline = now() + timeoutMs + 1_000;
      for (;;) {
        await Promise.all(
          members.filter((m) => m.health === "up" && !asked.has(m)).map(async (m) => {
            const res = await askJobs(m, ids).catch((err) => {
              warn(`could not ask ${m.name} about re-attached attempts: ${errorText(err)}`);
              return undefined;
            });
            if (!res) return;
            asked.add(m);
            const settled: JobEvent[] = [];
            for (const job of res.jobs) {
              const known = unplaced.get(job.attemptId);
              if (!known || job.state === JobState.UNKNOWN || found.has(job.attemptId)) continue;
              found.add(job.attemptId);
              foundAt(m, job, known, settled);
            }
            if (settled.length > 0) listener.jobEvents(m.name, settled);
          }),
        );
        if (found.size === ids.length || closed || now() > deadline) break;
        if (!members.some((m) => !asked.has(m) && m.health !== "down" && !m.removed)) break;
        await sleep(50, abort.signal);
      }
      for (const id of ids) if (!found.has(id)) unknown.push(id);
    }
    return unknown;
  }

  // ---- routing --------------------------------------------------------------

  /** The member that takes the group's next job (placement.ts decides), or undefined; ties then start after it. */
  function pick(group: WaitGroup): Member | undefined {
    const at = pickIndex(members, group, turn);
    if (at < 0) return undefined;
    turn = (at + 1) % members.length;
    return members[at];
  }

  function flushSoon(): void {
    if (flushScheduled || closed) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  function flush(): void {
    flushScheduled = false;
    if (closed) return;
    const t = now();
    for (const m of members) refreshFree(m);
    for (const group of [...waiting.groups.values()]) {
      for (let head = waiting.peek(group); head; head = waiting.peek(group)) {
        const m = pick(group);
        if (!m) break;
        waiting.shift(group);
        m.outbox.push(head.job);
        const free = m.free.get(head.job.runner);
        if (free !== undefined) m.free.set(head.job.runner, free - 1);
        track(m, head.job, false);
      }
      if (!waiting.groups.has(group.key)) continue;
      const wait: WaitReason = whyWaiting(members, group);
      const { reason } = wait;
      const since = unroutableSince(group.unroutableSince, wait, t);
      if (since === undefined) delete group.unroutableSince;
      else group.unroutableSince = since;
      for (const entry of waiting.unreported(group, reason)) {
        if (entry.reported !== reason) {
          entry.reported = reason;
          listener.waiting(entry.job.attemptId, reason);
        }
      }
    }
    reportDemand();
    for (const m of members) if (m.outbox.length > 0 && !m.sending) void send(m);
  }

  /** Fails jobs that waited longer than unroutableTimeoutMs with no supervisor able to serve them. */
  function expireUnroutable(t: number): void {
    if (!started) return;
    for (const group of [...waiting.groups.values()]) {
      if (group.unroutableSince === undefined) continue;
      for (let head = waiting.peek(group); head; head = waiting.peek(group)) {
        if (!unroutableExpired(head.since, group.unroutableSince, t, unroutableMs)) break;
        waiting.shift(group);
        routeOf.delete(head.job.attemptId);
        // A copy from a dispatch whose answer was lost must not run on unseen.
        void stopMaybeCopies(head.job.attemptId, "no supervisor could take it");
        listener.rejected(head.job.attemptId, noSupervisorError(group.reason, unroutableMs));
      }
    }
  }

  /**
   * The outbox's jobs that fit the member's credits now; the rest wait
   * again. Credits can shrink after a job was placed (the supervisor took
   * unused credit back for another coordinator and was told so), and a job
   * sent beyond them would overfill the supervisor.
   */
  function takeSendable(m: Member): Job[] {
    const jobs = m.outbox.splice(0);
    if (m.client.mode() !== "link") return jobs;
    const left = new Map<string, number>();
    const out: Job[] = [];
    for (const job of jobs) {
      const credit = left.get(job.runner) ?? m.client.credits(job.runner) ?? 0;
      if (credit > 0) {
        out.push(job);
        left.set(job.runner, credit - 1);
        continue;
      }
      left.set(job.runner, credit);
      untrack(m, job.attemptId);
      requeue(job);
    }
    if (out.length < jobs.length) flushSoon();
    return out;
  }

  async function send(m: Member): Promise<void> {
    const batch = takeSendable(m);
    if (batch.length === 0) return;
    m.sending = true;
    try {
      const res = await m.client.dispatchJobs({ jobs: batch }, { signal: m.abort.signal, timeoutMs: Math.max(timeoutMs, 10_000) });
      refreshFree(m);
      seen(m);
      const duplicates: string[] = [];
      for (const ack of res.acks) {
        const t = m.inFlight.get(ack.attemptId);
        // Untracked: released meanwhile (the supervisor was declared down while the call was out).
        const { action, askState } = onAck({ tracked: t !== undefined, waiting: waiting.has(ack.attemptId), accepted: ack.accepted, duplicate: ack.duplicate });
        switch (action) {
          case "adopt":
            adoptLate(m, ack.attemptId);
            break;
          case "stopCopy":
            m.client.cancelJobs({ attemptIds: [ack.attemptId], reason: "re-dispatched elsewhere", superseded: true }, { timeoutMs: 5_000 }).catch(() => {});
            break;
          case "accept":
            t!.acked = true;
            void stopMaybeCopies(ack.attemptId, "re-dispatched elsewhere", m);
            listener.accepted(ack.attemptId, m.name);
            break;
          case "refuse":
            untrack(m, ack.attemptId);
            warn(`supervisor ${m.name} refused ${ack.attemptId}: ${ack.reason}`);
            // Another supervisor may take it; if none can, it waits and then fails.
            applyHealth(m, { type: "refused", runner: t!.job.runner, reason: ack.reason });
            requeue(t!.job);
            break;
          case "ignore":
            break;
        }
        if (askState) duplicates.push(ack.attemptId);
      }
      // It had the attempt already (sent again after a coordinator change):
      // it may have finished long ago, so ask rather than wait for an event.
      if (duplicates.length > 0) await reconcile(m, duplicates);
    } catch (err) {
      if (closed) return;
      warn(`dispatch to ${m.name} failed: ${errorText(err)}`);
      // Not acknowledged, and perhaps arrived all the same: they stay placed
      // here until the supervisor answers which it has (resolveUncertain),
      // or is declared down and they are placed again.
      for (const job of batch) {
        const t = m.inFlight.get(job.attemptId);
        if (t && !t.acked) t.uncertain = true;
      }
      if (err instanceof ConnectError && (err.code === Code.Unavailable || err.code === Code.DeadlineExceeded)) setSuspect(m, err);
      await sleep(m.backoffMs, m.abort.signal);
    } finally {
      m.sending = false;
    }
    if (m.outbox.length > 0 || waiting.size > 0) flushSoon();
  }

  /**
   * A cancel must reach the job: one that fails (a cut connection, a
   * supervisor not up yet) is sent again until each target answered or
   * left the pool, since a cancel sent once and lost leaves the job
   * running on a live supervisor.
   */
  function cancelOn(targets: Iterable<Member>, attemptId: string | string[], reason: string, superseded = false): Promise<void> {
    const pending = new Set(targets);
    const attemptIds = Array.isArray(attemptId) ? attemptId : [attemptId];
    const what = attemptIds.length === 1 ? attemptIds[0] : `${attemptIds.length} attempts`;
    if (pending.size === 0 || attemptIds.length === 0) return Promise.resolve();
    return (async () => {
      const deadline = now() + CANCEL_RETRY_MS;
      let delay = initialBackoff;
      for (let round = 0; pending.size > 0 && !closed; round++) {
        await Promise.all(
          [...pending].map(async (t) => {
            if (!members.includes(t)) return void pending.delete(t);
            try {
              await t.client.cancelJobs({ attemptIds, reason, superseded }, { timeoutMs: 5_000, signal: abort.signal });
              pending.delete(t);
            } catch (err) {
              if (round === 0) warn(`cancel of ${what} on ${t.name} failed: ${errorText(err)}; retrying`);
            }
          }),
        );
        if (pending.size === 0 || now() > deadline) break;
        await sleep(delay, abort.signal);
        delay = Math.min(delay * 2, maxBackoff);
      }
      if (pending.size > 0 && !closed) warn(`cancel of ${what} did not reach ${[...pending].map((t) => t.name).join(", ")}`);
    })();
  }

  function startMember(m: Member): Promise<void> {
    void pingLoop(m);
    return new Promise<void>((ready) => void followEvents(m, ready));
  }

  for (const endpoint of options.supervisors) members.push(newMember(endpoint));

  return {
    async start() {
      await Promise.all(members.map(startMember));
      started = true;
    },
    attach,
    dispatch(init, route = {}) {
      const job = create(JobSchema, init);
      const r: RouteConstraints = {
        ...(route.supervisor ? { supervisor: route.supervisor } : {}),
        ...(route.labels && Object.keys(route.labels).length > 0 ? { labels: route.labels } : {}),
        ...(route.secrets && route.secrets.length > 0 ? { secrets: route.secrets } : {}),
      };
      routeOf.set(job.attemptId, r);
      waiting.add(job, r, now());
      flushSoon();
    },
    cancel(attemptId, reason, superseded = false) {
      // No longer to be placed anywhere, whatever answer is still out.
      routeOf.delete(attemptId);
      if (waiting.cancel(attemptId)) {
        return stopMaybeCopies(attemptId, reason, undefined, superseded);
      }
      const m = owner.get(attemptId);
      // Without a known owner (this coordinator restarted or took the
      // workflow over), every member may run it, up or not yet.
      const pending = new Set(m ? [m] : members);
      const maybe = maybeAt.get(attemptId);
      maybeAt.delete(attemptId);
      for (const t of maybe ?? []) pending.add(t);
      for (const t of [...pending]) {
        const queued = t.outbox.findIndex((j) => j.attemptId === attemptId);
        if (queued >= 0) {
          t.outbox.splice(queued, 1);
          untrack(t, attemptId);
          if (!maybe?.has(t)) pending.delete(t);
        }
      }
      return cancelOn(pending, attemptId, reason, superseded);
    },
    stopEverywhere(attemptIds, reason, superseded = false) {
      const chunks: Array<Promise<void>> = [];
      for (let i = 0; i < attemptIds.length; i += STOP_BATCH) chunks.push(cancelOn(members, attemptIds.slice(i, i + STOP_BATCH), reason, superseded));
      return Promise.all(chunks).then(() => undefined);
    },
    add(endpoint) {
      if (closed || members.some((m) => m.endpoint.name === endpoint.name)) return;
      const m = newMember(endpoint);
      members.push(m);
      info(`supervisor ${endpoint.name} joined the pool (${endpoint.url ?? "in-process"})`);
      void startMember(m);
    },
    remove(endpointName, reason) {
      const at = members.findIndex((m) => m.endpoint.name === endpointName);
      if (at < 0) return;
      const m = members[at]!;
      members.splice(at, 1);
      m.removed = true;
      m.abort.abort();
      const lost = releaseAll(m, `supervisor ${m.name} left the pool: ${reason}`);
      if (lost.length > 0) m.client.cancelJobs({ attemptIds: lost, reason: "re-dispatched elsewhere", superseded: true }, { timeoutMs: 2_000 }).catch(() => {});
      info(`supervisor ${m.name} left the pool: ${reason}${lost.length > 0 ? `; re-dispatching its ${lost.length} jobs` : ""}`);
    },
    endpoints() {
      return members.map((m) => m.endpoint.name);
    },
    runners() {
      return offeredRunners(members);
    },
    describe() {
      return members.map((m) => ({
        name: m.name,
        url: m.endpoint.url ?? "",
        source: m.endpoint.source ?? "static",
        health: m.health,
        labels: { ...m.labels },
        secrets: [...m.secrets].sort(),
        runners: [...m.runners].map(([name, capacity]) => ({ name, capacity, inFlight: m.load.get(name) ?? 0 })),
        inFlight: m.inFlight.size,
        lastSeen: m.lastSeen,
      }));
    },
    waitingCount() {
      return waiting.size;
    },
    async close() {
      closed = true;
      clearInterval(healthTimer);
      abort.abort();
      for (const m of members) m.client.close();
    },
  };
}

function finishedEvent(job: JobStatus, known: Job): JobEvent {
  return create(JobEventSchema, {
    attemptId: job.attemptId,
    workflowId: known.workflowId,
    stepId: known.stepId,
    kind: {
      case: "finished",
      value: {
        succeeded: job.state === JobState.SUCCEEDED,
        // The output as the supervisor sent it: JSON bytes (on a link reading them) or a Value.
        ...(job.outputJson.length > 0 ? { outputJson: job.outputJson } : job.output ? { output: job.output } : {}),
        ...(job.error ? { error: job.error } : {}),
      },
    },
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

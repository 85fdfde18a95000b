// The supervisor pool: routes jobs to supervisors that offer their runner,
// batches them per supervisor, and turns each supervisor's event stream
// into callbacks. It keeps no workflow state; the executor owns that.
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { JobEventSchema, JobSchema, JobState, SupervisorService, type Job, type JobEvent, type JobStatus } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import type { StepFailure } from "../engine/model.js";

/** What the pool reports back. Called synchronously from the pool's I/O callbacks. */
export interface DispatchListener {
  /** The supervisor accepted the attempt. */
  accepted(attemptId: string, supervisor: string): void;
  /** The attempt cannot run anywhere; the step should fail with this error. */
  rejected(attemptId: string, error: StepFailure): void;
  /** Events of jobs on a supervisor (started, log, finished), in the supervisor's order. */
  jobEvents(supervisor: string, events: JobEvent[]): void;
  /** The attempt was running on a supervisor that restarted and no longer knows it. */
  lost(attemptId: string, reason: string): void;
}

export interface SupervisorEndpoint {
  /** Used until the supervisor describes itself. */
  name: string;
  transport: Transport;
}

export interface PoolOptions {
  supervisors: SupervisorEndpoint[];
  listener: DispatchListener;
  /** Delay before retrying an unreachable supervisor, doubling up to maxBackoffMs (default 100). */
  initialBackoffMs?: number;
  /** Longest wait between retries (default 5,000). */
  maxBackoffMs?: number;
  /** Called for problems worth a log line (unreachable supervisor, refused batch). */
  onWarning?(message: string, error?: unknown): void;
}

export type JobInit = Parameters<typeof create<typeof JobSchema>>[1];

interface Member {
  endpoint: SupervisorEndpoint;
  client: Client<typeof SupervisorService>;
  name: string;
  instanceId: string;
  runners: Map<string, number>;
  /** Attempts sent to this supervisor and not finished: attempt id -> job. */
  inFlight: Map<string, Job>;
  healthy: boolean;
  lastSeq: bigint;
  outbox: Job[];
  sending: boolean;
  backoffMs: number;
  /** Attempts were attached while it was unreachable: ask for their state when it is back. */
  needsReconcile: boolean;
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

export interface SupervisorPool {
  /** Connects to every supervisor (describe + event stream). Resolves when each was tried once. */
  start(): Promise<void>;
  /** Queues jobs; they are sent in one batch per supervisor on the next tick. */
  dispatch(job: JobInit): void;
  /**
   * Re-attaches attempts that another coordinator (or this one before a
   * restart) dispatched: asks their supervisor, or every reachable one when
   * none was recorded, for their state by attempt id. Attempts found are
   * followed as if dispatched here; finished ones are reported at once
   * through jobEvents. Resolves with the ids no supervisor knows.
   */
  attach(attempts: AttachedAttempt[]): Promise<string[]>;
  /** Asks the supervisor running the attempt to stop it. */
  cancel(attemptId: string, reason: string): void;
  /** Runner names offered by healthy supervisors. */
  runners(): string[];
  describe(): Array<{ name: string; healthy: boolean; runners: Record<string, number>; inFlight: number }>;
  close(): Promise<void>;
}

export function createSupervisorPool(options: PoolOptions): SupervisorPool {
  const { listener } = options;
  const initialBackoff = options.initialBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  const warn = options.onWarning ?? (() => {});
  const abort = new AbortController();
  const members: Member[] = options.supervisors.map((endpoint) => ({
    endpoint,
    client: createClient(SupervisorService, endpoint.transport),
    name: endpoint.name,
    instanceId: "",
    runners: new Map(),
    inFlight: new Map(),
    healthy: false,
    lastSeq: 0n,
    outbox: [],
    sending: false,
    backoffMs: initialBackoff,
    needsReconcile: false,
  }));
  /** Jobs waiting for a supervisor that offers their runner to come up. */
  const unrouted: Job[] = [];
  const owner = new Map<string, Member>();
  let flushScheduled = false;
  let closed = false;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      abort.signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
    });
  }

  async function describe(m: Member): Promise<void> {
    const info = await m.client.describeSupervisor({}, { signal: abort.signal, timeoutMs: 5_000 });
    m.name = info.name || m.endpoint.name;
    m.runners = new Map(info.runners.map((r) => [r.name, r.capacity]));
    if (m.instanceId && m.instanceId !== info.instanceId) instanceChanged(m, info.instanceId);
    m.instanceId = info.instanceId;
  }

  /** The supervisor restarted: whatever it ran for us is gone. */
  function instanceChanged(m: Member, instanceId: string): void {
    warn(`supervisor ${m.name} restarted (instance ${instanceId}); re-dispatching its ${m.inFlight.size} jobs`);
    m.lastSeq = 0n;
    const lost = [...m.inFlight.keys()];
    m.inFlight.clear();
    for (const id of lost) {
      owner.delete(id);
      listener.lost(id, `supervisor ${m.name} restarted`);
    }
  }

  /** Keeps one event stream open per supervisor for the pool's lifetime. */
  async function followEvents(m: Member, ready: () => void): Promise<void> {
    let first = true;
    while (!closed) {
      try {
        await describe(m);
        m.healthy = true;
        m.backoffMs = initialBackoff;
        if (m.needsReconcile) {
          m.needsReconcile = false;
          for (const id of await reconcile(m, [...m.inFlight.keys()])) listener.lost(id, `supervisor ${m.name} no longer knows the attempt`);
        }
        if (first) { first = false; ready(); }
        flushSoon();
        const stream = m.client.watchJobEvents({ afterSeq: m.lastSeq }, { signal: abort.signal });
        for await (const msg of stream) {
          if (msg.instanceId !== m.instanceId) instanceChanged(m, msg.instanceId);
          m.instanceId = msg.instanceId;
          // Events we needed were dropped from the supervisor's buffer: ask
          // for the state of every attempt still in flight instead.
          if (msg.gap) {
            for (const id of await reconcile(m, [...m.inFlight.keys()])) listener.lost(id, `supervisor ${m.name} no longer knows the attempt`);
          }
          if (msg.events.length === 0) continue;
          for (const ev of msg.events) {
            if (ev.seq > m.lastSeq) m.lastSeq = ev.seq;
            if (ev.kind.case === "finished") {
              m.inFlight.delete(ev.attemptId);
              owner.delete(ev.attemptId);
            }
          }
          listener.jobEvents(m.name, msg.events);
        }
      } catch (err) {
        if (closed) return;
        if (m.healthy) warn(`supervisor ${m.name} unreachable: ${errorText(err)}`);
      }
      m.healthy = false;
      if (first) { first = false; ready(); }
      if (closed) return;
      await sleep(m.backoffMs);
      m.backoffMs = Math.min(maxBackoff, m.backoffMs * 2);
    }
  }

  /**
   * Asks a supervisor for the state of in-flight attempts (after missed
   * events, or when attaching): finished ones are reported as events and
   * forgotten; returns the ids it does not know, also forgotten.
   */
  async function reconcile(m: Member, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const res = await m.client.getJobs({ attemptIds: ids }, { signal: abort.signal, timeoutMs: 10_000 });
    const settled: JobEvent[] = [];
    const unknown: string[] = [];
    for (const job of res.jobs) {
      const known = m.inFlight.get(job.attemptId);
      if (!known) continue;
      if (job.state === JobState.SUCCEEDED || job.state === JobState.FAILED) {
        settled.push(finishedEvent(job, known));
        forget(m, job.attemptId);
      } else if (job.state === JobState.UNKNOWN) {
        forget(m, job.attemptId);
        unknown.push(job.attemptId);
      }
    }
    if (settled.length > 0) listener.jobEvents(m.name, settled);
    return unknown;
  }

  function forget(m: Member, attemptId: string): void {
    m.inFlight.delete(attemptId);
    owner.delete(attemptId);
  }

  function follow(m: Member, job: Job): void {
    m.inFlight.set(job.attemptId, job);
    owner.set(job.attemptId, m);
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
      follow(m, job);
      placed.set(m, [...(placed.get(m) ?? []), a.attemptId]);
    }
    // Recorded supervisor: ask it. One that is down now is asked when it is
    // back (or, if it restarted meanwhile, its attempts are reported lost).
    await Promise.all(
      [...placed].map(async ([m, ids]) => {
        if (!m.healthy) {
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
    // No supervisor recorded (the dispatch was not acknowledged yet): ask every reachable one.
    if (unplaced.size > 0) {
      const ids = [...unplaced.keys()];
      const found = new Set<string>();
      await Promise.all(
        members.filter((m) => m.healthy).map(async (m) => {
          const res = await m.client.getJobs({ attemptIds: ids }, { signal: abort.signal, timeoutMs: 10_000 }).catch((err) => {
            warn(`could not ask ${m.name} about re-attached attempts: ${errorText(err)}`);
            return undefined;
          });
          const settled: JobEvent[] = [];
          for (const job of res?.jobs ?? []) {
            const known = unplaced.get(job.attemptId);
            if (!known || job.state === JobState.UNKNOWN || found.has(job.attemptId)) continue;
            found.add(job.attemptId);
            if (job.state === JobState.SUCCEEDED || job.state === JobState.FAILED) settled.push(finishedEvent(job, known));
            else follow(m, known);
          }
          if (settled.length > 0) listener.jobEvents(m.name, settled);
        }),
      );
      for (const id of ids) if (!found.has(id)) unknown.push(id);
    }
    return unknown;
  }

  function route(job: Job): Member | undefined {
    let best: Member | undefined;
    let bestLoad = Infinity;
    for (const m of members) {
      if (!m.healthy) continue;
      const capacity = m.runners.get(job.runner);
      if (capacity === undefined) continue;
      const load = (m.inFlight.size + m.outbox.length) / Math.max(1, capacity);
      if (load < bestLoad) { best = m; bestLoad = load; }
    }
    return best;
  }

  function anyoneOffers(runner: string): boolean {
    return members.some((m) => m.runners.has(runner));
  }

  function allDescribed(): boolean {
    return members.every((m) => m.instanceId !== "");
  }

  function flushSoon(): void {
    if (flushScheduled || closed) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  function flush(): void {
    flushScheduled = false;
    const waiting = unrouted.splice(0);
    for (const job of waiting) {
      const m = route(job);
      if (m) {
        m.outbox.push(job);
        owner.set(job.attemptId, m);
      } else if (allDescribed() && !anyoneOffers(job.runner)) {
        const offered = [...new Set(members.flatMap((x) => [...x.runners.keys()]))].sort().join(", ");
        listener.rejected(job.attemptId, {
          code: "NO_RUNNER",
          message: `no supervisor offers runner "${job.runner}" (available: ${offered || "none"})`,
        });
      } else {
        unrouted.push(job);
      }
    }
    for (const m of members) if (m.outbox.length > 0 && !m.sending) void send(m);
  }

  async function send(m: Member): Promise<void> {
    m.sending = true;
    const batch = m.outbox.splice(0);
    for (const job of batch) m.inFlight.set(job.attemptId, job);
    try {
      const res = await m.client.dispatchJobs({ jobs: batch }, { signal: abort.signal, timeoutMs: 30_000 });
      const duplicates: string[] = [];
      for (const ack of res.acks) {
        if (ack.accepted) {
          listener.accepted(ack.attemptId, m.name);
          if (ack.duplicate) duplicates.push(ack.attemptId);
        } else {
          const job = m.inFlight.get(ack.attemptId);
          m.inFlight.delete(ack.attemptId);
          owner.delete(ack.attemptId);
          if (job) {
            warn(`supervisor ${m.name} refused ${ack.attemptId}: ${ack.reason}`);
            // Another supervisor may take it; if none offers the runner it is rejected.
            m.runners.delete(job.runner);
            unrouted.push(job);
          }
        }
      }
      // It had the attempt already (sent again after a coordinator change):
      // it may have finished long ago, so ask rather than wait for an event.
      if (duplicates.length > 0) await reconcile(m, duplicates);
    } catch (err) {
      if (closed) return;
      // Unreachable: send these jobs again once the supervisor is back (or elsewhere).
      warn(`dispatch to ${m.name} failed: ${errorText(err)}`);
      for (const job of batch) {
        m.inFlight.delete(job.attemptId);
        owner.delete(job.attemptId);
        unrouted.push(job);
      }
      if (err instanceof ConnectError && err.code === Code.Unavailable) m.healthy = false;
      await sleep(m.backoffMs);
    } finally {
      m.sending = false;
    }
    if (m.outbox.length > 0 || unrouted.length > 0) flushSoon();
  }

  return {
    async start() {
      await Promise.all(members.map((m) => new Promise<void>((ready) => void followEvents(m, ready))));
    },
    attach,
    dispatch(init) {
      unrouted.push(create(JobSchema, init));
      flushSoon();
    },
    cancel(attemptId, reason) {
      const at = unrouted.findIndex((j) => j.attemptId === attemptId);
      if (at >= 0) { unrouted.splice(at, 1); return; }
      const m = owner.get(attemptId);
      const targets = m ? [m] : members.filter((x) => x.healthy);
      for (const t of targets) {
        const queued = t.outbox.findIndex((j) => j.attemptId === attemptId);
        if (queued >= 0) { t.outbox.splice(queued, 1); continue; }
        t.client.cancelJobs({ attemptIds: [attemptId], reason }, { timeoutMs: 5_000 }).catch((err) => {
          warn(`cancel of ${attemptId} on ${t.name} failed: ${errorText(err)}`);
        });
      }
    },
    runners() {
      return [...new Set(members.filter((m) => m.healthy).flatMap((m) => [...m.runners.keys()]))].sort();
    },
    describe() {
      return members.map((m) => ({ name: m.name, healthy: m.healthy, runners: Object.fromEntries(m.runners), inFlight: m.inFlight.size }));
    },
    async close() {
      closed = true;
      abort.abort();
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
      value: { succeeded: job.state === JobState.SUCCEEDED, ...(job.output ? { output: job.output } : {}), ...(job.error ? { error: job.error } : {}) },
    },
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

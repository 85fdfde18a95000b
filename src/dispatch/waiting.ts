// Jobs waiting in the coordinator for a supervisor: grouped by what they
// need (runner, pinned supervisor, labels). Within a group, workflows take
// turns (round robin), first come first served within a workflow: a small
// workflow's ready step does not wait behind thousands of another's (fair
// queueing, as users of Hatchet or Temporal expect). A flush looks at the
// head of each group only, so placing k jobs costs O(k + groups x
// supervisors), whatever the number waiting.
import type { Job } from "../../gen/horus/coordinator/v1/supervisor_pb.js";

/** Where a job may run, beyond offering its runner. */
export interface RouteConstraints {
  /** Only the supervisor with this name. */
  supervisor?: string;
  /** Only supervisors carrying every one of these labels. */
  labels?: Record<string, string>;
  /** Only supervisors holding every one of these secrets (by name). */
  secrets?: readonly string[];
}

export interface WaitingJob {
  job: Job;
  /** When it started waiting (ms). */
  since: number;
  /** Dropped (cancelled) while waiting: skipped when reached. */
  cancelled: boolean;
  /** The reason last reported for it, so each change is reported once. */
  reported: string;
}

/** The jobs of one workflow in a group, in order. */
interface Lane {
  workflowId: string;
  jobs: WaitingJob[];
  /** Index of the first entry not yet taken. */
  head: number;
}

export interface WaitGroup {
  key: string;
  runner: string;
  route: RouteConstraints;
  /** Lanes with jobs, by workflow id. */
  lanes: Map<string, Lane>;
  /** Lanes in turn order: the first one's head goes next, then it moves to the back. */
  turns: Lane[];
  /** Index of the first live entry of `turns`. */
  turn: number;
  /** Jobs added since their reason was last reported (see unreported). */
  fresh: WaitingJob[];
  /** Why the head cannot be placed; "" when it could be at the last look. */
  reason: string;
  /** Since when no supervisor that could ever serve the group is up (undefined: one is). */
  unroutableSince?: number;
}

export function groupKey(runner: string, route: RouteConstraints): string {
  const labels = Object.entries(route.labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const secrets = route.secrets && route.secrets.length > 0 ? `\u0000${[...route.secrets].sort().join(",")}` : "";
  return `${runner}\u0000${route.supervisor ?? ""}\u0000${labels}${secrets}`;
}

export function describeRoute(runner: string, route: RouteConstraints): string {
  const parts = [`runner "${runner}"`];
  if (route.supervisor) parts.push(`supervisor "${route.supervisor}"`);
  const labels = Object.entries(route.labels ?? {});
  if (labels.length > 0) parts.push(`labels ${labels.map(([k, v]) => `${k}=${v}`).join(",")}`);
  if (route.secrets && route.secrets.length > 0) parts.push(`secrets ${route.secrets.join(",")}`);
  return parts.join(", ");
}

export class WaitQueue {
  readonly groups = new Map<string, WaitGroup>();
  private readonly byAttempt = new Map<string, WaitingJob>();

  get size(): number {
    return this.byAttempt.size;
  }

  add(job: Job, route: RouteConstraints, now: number): WaitGroup {
    const key = groupKey(job.runner, route);
    let group = this.groups.get(key);
    if (!group) {
      group = { key, runner: job.runner, route, lanes: new Map(), turns: [], turn: 0, fresh: [], reason: "" };
      this.groups.set(key, group);
    }
    let lane = group.lanes.get(job.workflowId);
    if (!lane) {
      lane = { workflowId: job.workflowId, jobs: [], head: 0 };
      group.lanes.set(job.workflowId, lane);
      group.turns.push(lane);
    }
    const entry: WaitingJob = { job, since: now, cancelled: false, reported: "" };
    lane.jobs.push(entry);
    group.fresh.push(entry);
    this.byAttempt.set(job.attemptId, entry);
    return group;
  }

  /** The next live job of a group (the head of the lane whose turn it is), or undefined (and the group is dropped) when none. */
  peek(group: WaitGroup): WaitingJob | undefined {
    while (group.turn < group.turns.length) {
      const lane = group.turns[group.turn]!;
      while (lane.head < lane.jobs.length) {
        const entry = lane.jobs[lane.head]!;
        if (!entry.cancelled) return entry;
        lane.head++;
      }
      // Every job of the lane is gone.
      group.lanes.delete(lane.workflowId);
      group.turn++;
    }
    this.groups.delete(group.key);
    return undefined;
  }

  /** Removes the head returned by peek(); its workflow goes to the back of the turns. */
  shift(group: WaitGroup): void {
    const lane = group.turns[group.turn++]!;
    const entry = lane.jobs[lane.head++]!;
    this.byAttempt.delete(entry.job.attemptId);
    if (lane.head < lane.jobs.length) group.turns.push(lane);
    else group.lanes.delete(lane.workflowId);
    // Compact now and then so long-lived arrays do not keep every entry they ever held.
    if (lane.head > 1024 && lane.head * 2 > lane.jobs.length) {
      lane.jobs = lane.jobs.slice(lane.head);
      lane.head = 0;
    }
    if (group.turn > 1024 && group.turn * 2 > group.turns.length) {
      group.turns = group.turns.slice(group.turn);
      group.turn = 0;
    }
  }

  /** Live jobs of a group. */
  *live(group: WaitGroup): Iterable<WaitingJob> {
    for (const lane of group.lanes.values()) {
      for (let i = lane.head; i < lane.jobs.length; i++) if (!lane.jobs[i]!.cancelled) yield lane.jobs[i]!;
    }
  }

  /**
   * The live jobs whose waiting reason must be reported now: all of them
   * when the reason changed, else only those added since the last call
   * (a flush per freed slot must not walk thousands of waiting jobs).
   */
  unreported(group: WaitGroup, reason: string): Iterable<WaitingJob> {
    const fresh = group.fresh;
    group.fresh = [];
    if (reason !== group.reason) {
      group.reason = reason;
      return this.live(group);
    }
    return fresh.filter((e) => !e.cancelled && this.byAttempt.get(e.job.attemptId) === e);
  }

  cancel(attemptId: string): boolean {
    return this.take(attemptId) !== undefined;
  }

  has(attemptId: string): boolean {
    return this.byAttempt.has(attemptId);
  }

  /** Removes a waiting job and returns it (undefined when it is not waiting). */
  take(attemptId: string): Job | undefined {
    const entry = this.byAttempt.get(attemptId);
    if (!entry) return undefined;
    entry.cancelled = true;
    this.byAttempt.delete(attemptId);
    return entry.job;
  }
}

// Jobs waiting in the coordinator for a supervisor: grouped by what they
// need (runner, pinned supervisor, labels), first come first served within
// a group. A flush looks at the head of each group only, so placing k jobs
// costs O(k + groups x supervisors), whatever the number waiting.
import type { Job } from "../../gen/horus/coordinator/v1/supervisor_pb.js";

/** Where a job may run, beyond offering its runner. */
export interface RouteConstraints {
  /** Only the supervisor with this name. */
  supervisor?: string;
  /** Only supervisors carrying every one of these labels. */
  labels?: Record<string, string>;
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

export interface WaitGroup {
  key: string;
  runner: string;
  route: RouteConstraints;
  jobs: WaitingJob[];
  /** Index of the first live entry of `jobs` (entries before it are gone). */
  head: number;
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
  return `${runner}\u0000${route.supervisor ?? ""}\u0000${labels}`;
}

export function describeRoute(runner: string, route: RouteConstraints): string {
  const parts = [`runner "${runner}"`];
  if (route.supervisor) parts.push(`supervisor "${route.supervisor}"`);
  const labels = Object.entries(route.labels ?? {});
  if (labels.length > 0) parts.push(`labels ${labels.map(([k, v]) => `${k}=${v}`).join(",")}`);
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
      group = { key, runner: job.runner, route, jobs: [], head: 0, reason: "" };
      this.groups.set(key, group);
    }
    const entry: WaitingJob = { job, since: now, cancelled: false, reported: "" };
    group.jobs.push(entry);
    this.byAttempt.set(job.attemptId, entry);
    return group;
  }

  /** The first live job of a group, or undefined (and the group is dropped) when none. */
  peek(group: WaitGroup): WaitingJob | undefined {
    while (group.head < group.jobs.length) {
      const entry = group.jobs[group.head]!;
      if (!entry.cancelled) return entry;
      group.head++;
    }
    this.groups.delete(group.key);
    return undefined;
  }

  /** Removes the head returned by peek(). */
  shift(group: WaitGroup): void {
    const entry = group.jobs[group.head++]!;
    this.byAttempt.delete(entry.job.attemptId);
    // Compact now and then so a long-lived group does not keep every job it ever held.
    if (group.head > 1024 && group.head * 2 > group.jobs.length) {
      group.jobs = group.jobs.slice(group.head);
      group.head = 0;
    }
  }

  /** Live jobs of a group, in order. */
  *live(group: WaitGroup): Iterable<WaitingJob> {
    for (let i = group.head; i < group.jobs.length; i++) if (!group.jobs[i]!.cancelled) yield group.jobs[i]!;
  }

  cancel(attemptId: string): boolean {
    return this.take(attemptId) !== undefined;
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

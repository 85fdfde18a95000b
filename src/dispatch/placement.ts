// Placement decisions of the supervisor pool, pure: which member takes the
// next job of a wait group, why a group waits when none can, and when a
// group that no member can ever serve gives up. The pool (pool.ts) owns the
// members, the wait queue and the clock; it asks these functions and acts.
import type { StepFailure } from "../engine/model.js";
import type { SupervisorHealth } from "./health.js";
import { describeRoute, type RouteConstraints } from "./waiting.js";
import { StepFailureCode } from "../common/failure-codes.js";

/** What placement needs to know of a pool member. */
export interface Candidate {
  /** The supervisor's name (what `route.supervisor` pins). */
  readonly name: string;
  /** Only members that are up take jobs. */
  readonly health: SupervisorHealth;
  /** Capacity per runner it offers (jobs at once). */
  readonly runners: ReadonlyMap<string, number>;
  /** Its labels, matched against `route.labels`. */
  readonly labels: Readonly<Record<string, string>>;
  /** Names of the secrets it holds, matched against `route.secrets` (absent: none). */
  readonly secrets?: ReadonlySet<string>;
  /** Jobs placed on it and not finished, per runner (absent: 0). */
  readonly load: ReadonlyMap<string, number>;
  /**
   * Free slots per runner granted by the supervisor itself (absent, or a
   * runner absent: no such bound). An extra upper bound beside capacity, for
   * a supervisor whose slots other coordinators share: a member takes a job
   * only while load < capacity and free (when given) > 0.
   */
  readonly free?: ReadonlyMap<string, number>;
}

/** What a job needs: the runner and where it may run (a WaitGroup is one). */
export interface Demand {
  readonly runner: string;
  readonly route: RouteConstraints;
}

/** Why a group waits. */
export interface WaitReason {
  /** Shown on the step (waiting_reason) and the dashboard. */
  reason: string;
  /**
   * True when members that could serve the group are up and only capacity
   * is missing: such a wait has no time limit. False starts (or keeps) the
   * unroutable clock (see unroutableSince).
   */
  capacityOnly: boolean;
}

/** The member offers the runner, matches the pin and every label, and holds every secret (whatever its health). */
export function serves(c: Candidate, runner: string, route: RouteConstraints): boolean {
  if (!c.runners.has(runner)) return false;
  if (route.supervisor && c.name !== route.supervisor) return false;
  for (const [k, v] of Object.entries(route.labels ?? {})) if (c.labels[k] !== v) return false;
  if (route.secrets) for (const name of route.secrets) if (!c.secrets?.has(name)) return false;
  return true;
}

/** The member has a slot for one more job of the runner: below capacity and, when granted slots are known, one is left. */
export function hasSlot(c: Candidate, runner: string): boolean {
  const capacity = c.runners.get(runner);
  if (capacity === undefined || (c.load.get(runner) ?? 0) >= capacity) return false;
  const free = c.free?.get(runner);
  return free === undefined || free > 0;
}

/**
 * The index of the member that takes the next job of `demand`: up, serving
 * it, with a slot, and the lowest load/capacity ratio. Members are looked
 * at from index `turn` on (wrapping), and the first of equally loaded ones
 * wins, so that the caller, by moving `turn` past each pick, spreads ties
 * round robin. -1 when none can take it now.
 */
export function pick(candidates: readonly Candidate[], demand: Demand, turn: number): number {
  let best = -1;
  let bestLoad = Infinity;
  const n = candidates.length;
  for (let k = 0; k < n; k++) {
    const at = (turn + k) % n;
    const c = candidates[at]!;
    if (c.health !== "up" || !serves(c, demand.runner, demand.route) || !hasSlot(c, demand.runner)) continue;
    const ratio = (c.load.get(demand.runner) ?? 0) / Math.max(1, c.runners.get(demand.runner)!);
    if (ratio < bestLoad) { best = at; bestLoad = ratio; }
  }
  return best;
}

/** Why nothing of `demand` can be placed now, and whether that is for want of capacity only. */
export function whyWaiting(candidates: readonly Candidate[], demand: Demand): WaitReason {
  const what = describeRoute(demand.runner, demand.route);
  const serving = candidates.filter((c) => serves(c, demand.runner, demand.route));
  const up = serving.filter((c) => c.health === "up");
  if (up.length > 0) {
    const total = up.reduce((sum, c) => sum + c.runners.get(demand.runner)!, 0);
    return { reason: `waiting for capacity: every supervisor for ${what} is full (${up.length} up, ${total} slots)`, capacityOnly: true };
  }
  if (serving.length > 0) {
    return { reason: `waiting for a supervisor: ${serving.map((c) => `${c.name} is ${c.health}`).join(", ")} (${what})`, capacityOnly: false };
  }
  const missing = missingSecrets(candidates, demand);
  if (missing) {
    return { reason: `waiting for a supervisor: none that can run runner "${demand.runner}" holds secret${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (${what})`, capacityOnly: false };
  }
  return { reason: `waiting for a supervisor: none can run ${what} (runners up: ${offeredRunners(candidates).join(", ") || "none"})`, capacityOnly: false };
}

/**
 * When members would serve `demand` but for its secrets: the secrets none of
 * them holds (or, when each is held somewhere but no member holds them all,
 * every one asked for). Undefined when secrets are not what is missing.
 */
function missingSecrets(candidates: readonly Candidate[], demand: Demand): string[] | undefined {
  const asked = demand.route.secrets;
  if (!asked || asked.length === 0) return undefined;
  const { secrets: _, ...rest } = demand.route;
  const near = candidates.filter((c) => serves(c, demand.runner, rest));
  if (near.length === 0) return undefined;
  const unheld = asked.filter((n) => !near.some((c) => c.secrets?.has(n)));
  return unheld.length > 0 ? unheld : [...asked];
}

/** Runner names offered by members that are up, sorted. */
export function offeredRunners(candidates: readonly Candidate[]): string[] {
  return [...new Set(candidates.filter((c) => c.health === "up").flatMap((c) => [...c.runners.keys()]))].sort();
}

/**
 * Since when a group has had no member able to serve it: cleared by a wait
 * for capacity only, kept from its first moment otherwise.
 */
export function unroutableSince(previous: number | undefined, wait: WaitReason, now: number): number | undefined {
  return wait.capacityOnly ? undefined : previous ?? now;
}

/**
 * A job waiting since `since` in a group unroutable since `unroutable` has
 * waited out `unroutableMs`: only time with no member able to serve it
 * counts, from whichever began later.
 */
export function unroutableExpired(since: number, unroutable: number, now: number, unroutableMs: number): boolean {
  return now - Math.max(since, unroutable) >= unroutableMs;
}

/** The failure of a job that no supervisor could take for unroutableMs; `reason` is the group's wait reason. */
export function noSupervisorError(reason: string, unroutableMs: number): StepFailure {
  return {
    code: StepFailureCode.NO_SUPERVISOR,
    message: `no supervisor could run it for ${Math.round(unroutableMs / 1000)} s: ${reason.replace(/^waiting for a supervisor: /, "")}`,
  };
}

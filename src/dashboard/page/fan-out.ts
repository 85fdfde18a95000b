// Large fan-outs in the graph: siblings (one column, the same dependencies)
// beyond GROUP_MIN are one node until expanded. Pure (no DOM), for tests.
import type { Step } from "./model.js";
import { stepStateName } from "./model.js";

/** More siblings than this (same level, same dependencies) are drawn as one group node until expanded. */
export const GROUP_MIN = 16;

/** A group's colour: failed or running if any member is, succeeded when all did, else the furthest along. */
export function groupState(members: readonly Step[]): string {
  const names = members.map((m) => stepStateName(m.state));
  const has = (n: string) => names.includes(n);
  if (has("FAILED")) return "FAILED";
  if (has("RUNNING") || has("DISPATCHED")) return "RUNNING";
  if (names.every((n) => n === "SUCCEEDED")) return "SUCCEEDED";
  if (names.every((n) => n === "SKIPPED" || n === "SUCCEEDED")) return "SUCCEEDED";
  if (has("CANCELLED")) return "CANCELLED";
  if (has("READY")) return "READY";
  return "PENDING";
}

/**
 * Siblings of a fan-out: steps of one column with the same dependencies, by
 * group key, for sets larger than `min`. Pure, for tests.
 */
export function fanOutGroups(columns: ReadonlyArray<readonly Step[] | undefined>, min = GROUP_MIN): Map<string, Step[]> {
  const groups = new Map<string, Step[]>();
  columns.forEach((col, c) => {
    for (const s of col ?? []) {
      const key = `${c}:${[...s.dependsOn].sort().join(",")}`;
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
  });
  for (const [key, members] of groups) if (members.length <= min) groups.delete(key);
  return groups;
}


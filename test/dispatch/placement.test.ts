// Table tests of the pool's placement decisions (src/dispatch/placement.ts):
// which member takes a job, why a group waits, when an unroutable wait ends.
import { describe, expect, it } from "vitest";
import type { SupervisorHealth } from "../../src/dispatch/health.js";
import { hasSlot, noSupervisorError, offeredRunners, pick, unroutableExpired, unroutableSince, whyWaiting, type Candidate, type Demand } from "../../src/dispatch/placement.js";

interface Spec {
  health?: SupervisorHealth;
  /** Capacity per runner. */
  runners?: Record<string, number>;
  load?: Record<string, number>;
  labels?: Record<string, string>;
  free?: Record<string, number>;
  /** Names of secrets it holds. */
  secrets?: string[];
}

/** A member named `name`: up, noop x2, idle unless told otherwise. */
function sup(name: string, spec: Spec = {}): Candidate {
  return {
    name,
    health: spec.health ?? "up",
    runners: new Map(Object.entries(spec.runners ?? { noop: 2 })),
    labels: spec.labels ?? {},
    load: new Map(Object.entries(spec.load ?? {})),
    ...(spec.free ? { free: new Map(Object.entries(spec.free)) } : {}),
    ...(spec.secrets ? { secrets: new Set(spec.secrets) } : {}),
  };
}

const noop: Demand = { runner: "noop", route: {} };

describe("pick: the member that takes the next job", () => {
  const table: Array<{ situation: string; members: Candidate[]; demand?: Demand; turn?: number; expect: string | undefined }> = [
    { situation: "the only member, idle", members: [sup("a")], expect: "a" },
    { situation: "no members", members: [], expect: undefined },
    { situation: "least loaded ratio wins", members: [sup("a", { load: { noop: 1 } }), sup("b")], expect: "b" },
    { situation: "ratio, not count: 2 of 10 beats 1 of 2", members: [sup("a", { runners: { noop: 2 }, load: { noop: 1 } }), sup("b", { runners: { noop: 10 }, load: { noop: 2 } })], expect: "b" },
    { situation: "a full member is skipped", members: [sup("a", { load: { noop: 2 } }), sup("b", { load: { noop: 1 } })], expect: "b" },
    { situation: "every member full", members: [sup("a", { load: { noop: 2 } }), sup("b", { load: { noop: 2 } })], expect: undefined },
    { situation: "load of another runner does not count", members: [sup("a", { runners: { noop: 2, shell: 1 }, load: { shell: 1 } })], expect: "a" },
    { situation: "suspect gets no new jobs", members: [sup("a", { health: "suspect" })], expect: undefined },
    { situation: "down gets no new jobs", members: [sup("a", { health: "down" })], expect: undefined },
    { situation: "connecting gets no new jobs", members: [sup("a", { health: "connecting" }), sup("b", { load: { noop: 1 } })], expect: "b" },
    { situation: "the runner is not offered", members: [sup("a", { runners: { shell: 4 } })], expect: undefined },
    { situation: "capacity 0 takes nothing", members: [sup("a", { runners: { noop: 0 } })], expect: undefined },
    { situation: "pinned: only that member, even when busier", members: [sup("a"), sup("b", { load: { noop: 1 } })], demand: { runner: "noop", route: { supervisor: "b" } }, expect: "b" },
    { situation: "pinned to a member that is full", members: [sup("a"), sup("b", { load: { noop: 2 } })], demand: { runner: "noop", route: { supervisor: "b" } }, expect: undefined },
    { situation: "pinned to an absent member", members: [sup("a")], demand: { runner: "noop", route: { supervisor: "z" } }, expect: undefined },
    { situation: "labels: every one must match", members: [sup("a", { labels: { zone: "eu" } }), sup("b", { labels: { zone: "eu", gpu: "yes" }, load: { noop: 1 } })], demand: { runner: "noop", route: { labels: { zone: "eu", gpu: "yes" } } }, expect: "b" },
    { situation: "labels: a different value does not match", members: [sup("a", { labels: { zone: "us" } })], demand: { runner: "noop", route: { labels: { zone: "eu" } } }, expect: undefined },
    { situation: "ties go to the first from turn 0", members: [sup("a"), sup("b"), sup("c")], turn: 0, expect: "a" },
    { situation: "ties go to the first from turn 1", members: [sup("a"), sup("b"), sup("c")], turn: 1, expect: "b" },
    { situation: "turn wraps round", members: [sup("a"), sup("b"), sup("c")], turn: 2, expect: "c" },
    { situation: "a turn past the end (members left) wraps", members: [sup("a"), sup("b")], turn: 5, expect: "b" },
    { situation: "the turn only breaks ties", members: [sup("a"), sup("b", { load: { noop: 1 } })], turn: 1, expect: "a" },
    { situation: "free 0 bounds a member below capacity", members: [sup("a", { free: { noop: 0 } }), sup("b", { load: { noop: 1 } })], expect: "b" },
    { situation: "free 0 everywhere: none", members: [sup("a", { free: { noop: 0 } })], expect: undefined },
    { situation: "free left does not lift capacity", members: [sup("a", { load: { noop: 2 }, free: { noop: 5 } })], expect: undefined },
    { situation: "free left and below capacity", members: [sup("a", { load: { noop: 1 }, free: { noop: 1 } })], expect: "a" },
    { situation: "free does not change the ratio", members: [sup("a", { free: { noop: 1 } }), sup("b", { free: { noop: 9 }, load: { noop: 1 } })], expect: "a" },
    { situation: "free of another runner does not bound this one", members: [sup("a", { runners: { noop: 2, shell: 2 }, free: { shell: 0 } })], expect: "a" },
    { situation: "secrets: only a member holding them, even when busier", members: [sup("a"), sup("b", { secrets: ["DB_URL"], load: { noop: 1 } })], demand: { runner: "noop", route: { secrets: ["DB_URL"] } }, expect: "b" },
    { situation: "secrets: every one must be held by the same member", members: [sup("a", { secrets: ["A"] }), sup("b", { secrets: ["B"] })], demand: { runner: "noop", route: { secrets: ["A", "B"] } }, expect: undefined },
    { situation: "secrets: a member holding more is fine", members: [sup("a", { secrets: ["A", "B", "C"] })], demand: { runner: "noop", route: { secrets: ["A", "B"] } }, expect: "a" },
    { situation: "secrets: none held anywhere", members: [sup("a"), sup("b", { secrets: [] })], demand: { runner: "noop", route: { secrets: ["A"] } }, expect: undefined },
    { situation: "secrets: a step without secrets goes anywhere", members: [sup("a", { secrets: ["A"], load: { noop: 1 } }), sup("b")], expect: "b" },
    { situation: "secrets and labels both hold", members: [sup("a", { secrets: ["A"] }), sup("b", { secrets: ["A"], labels: { zone: "eu" }, load: { noop: 1 } })], demand: { runner: "noop", route: { secrets: ["A"], labels: { zone: "eu" } } }, expect: "b" },
  ];
  for (const t of table) {
    it(`${t.situation} -> ${t.expect ?? "none"}`, () => {
      const at = pick(t.members, t.demand ?? noop, t.turn ?? 0);
      expect(at < 0 ? undefined : t.members[at]!.name).toBe(t.expect);
    });
  }

  it("moving the turn past each pick spreads equal members round robin until all are full", () => {
    const members = [sup("a"), sup("b"), sup("c")];
    const order: string[] = [];
    let turn = 0;
    for (;;) {
      const at = pick(members, noop, turn);
      if (at < 0) break;
      const m = members[at]!;
      order.push(m.name);
      (m.load as Map<string, number>).set("noop", (m.load.get("noop") ?? 0) + 1);
      turn = (at + 1) % members.length;
    }
    expect(order).toEqual(["a", "b", "c", "a", "b", "c"]);
  });
});

describe("hasSlot", () => {
  const table: Array<{ situation: string; spec: Spec; runner?: string; expect: boolean }> = [
    { situation: "idle", spec: {}, expect: true },
    { situation: "one below capacity", spec: { load: { noop: 1 } }, expect: true },
    { situation: "at capacity", spec: { load: { noop: 2 } }, expect: false },
    { situation: "runner not offered", spec: {}, runner: "shell", expect: false },
    { situation: "free 0", spec: { free: { noop: 0 } }, expect: false },
    { situation: "free negative (over-granted)", spec: { free: { noop: -1 } }, expect: false },
    { situation: "free 1, below capacity", spec: { free: { noop: 1 }, load: { noop: 1 } }, expect: true },
  ];
  for (const t of table) it(`${t.situation} -> ${t.expect}`, () => expect(hasSlot(sup("a", t.spec), t.runner ?? "noop")).toBe(t.expect));
});

describe("whyWaiting: the reason shown on a waiting step", () => {
  const table: Array<{ situation: string; members: Candidate[]; demand?: Demand; reason: string; capacityOnly: boolean }> = [
    {
      situation: "members up and full",
      members: [sup("a", { load: { noop: 2 } }), sup("b", { runners: { noop: 3 }, load: { noop: 3 } })],
      reason: 'waiting for capacity: every supervisor for runner "noop" is full (2 up, 5 slots)',
      capacityOnly: true,
    },
    {
      situation: "granted slots used up, below capacity: still a wait for capacity",
      members: [sup("a", { free: { noop: 0 } })],
      reason: 'waiting for capacity: every supervisor for runner "noop" is full (1 up, 2 slots)',
      capacityOnly: true,
    },
    {
      situation: "only up members count, and only those serving",
      members: [sup("a", { load: { noop: 2 } }), sup("b", { health: "down" }), sup("c", { runners: { shell: 1 } })],
      reason: 'waiting for capacity: every supervisor for runner "noop" is full (1 up, 2 slots)',
      capacityOnly: true,
    },
    {
      situation: "serving members, none up",
      members: [sup("a", { health: "suspect" }), sup("b", { health: "connecting" }), sup("c", { health: "down" })],
      reason: 'waiting for a supervisor: a is suspect, b is connecting, c is down (runner "noop")',
      capacityOnly: false,
    },
    {
      situation: "no member offers the runner",
      members: [sup("a", { runners: { shell: 1, noop: 1 } }), sup("b", { runners: { js: 1 } }), sup("c", { runners: { python: 1 }, health: "down" })],
      demand: { runner: "gpu", route: {} },
      reason: 'waiting for a supervisor: none can run runner "gpu" (runners up: js, noop, shell)',
      capacityOnly: false,
    },
    {
      situation: "no members at all",
      members: [],
      reason: 'waiting for a supervisor: none can run runner "noop" (runners up: none)',
      capacityOnly: false,
    },
    {
      situation: "pinned to an absent supervisor",
      members: [sup("a")],
      demand: { runner: "noop", route: { supervisor: "z" } },
      reason: 'waiting for a supervisor: none can run runner "noop", supervisor "z" (runners up: noop)',
      capacityOnly: false,
    },
    {
      situation: "pinned to a supervisor that is down",
      members: [sup("a"), sup("z", { health: "down" })],
      demand: { runner: "noop", route: { supervisor: "z" } },
      reason: 'waiting for a supervisor: z is down (runner "noop", supervisor "z")',
      capacityOnly: false,
    },
    {
      situation: "labels no member carries",
      members: [sup("a", { labels: { zone: "us" } })],
      demand: { runner: "noop", route: { labels: { zone: "eu", gpu: "yes" } } },
      reason: 'waiting for a supervisor: none can run runner "noop", labels zone=eu,gpu=yes (runners up: noop)',
      capacityOnly: false,
    },
    {
      situation: "a secret no member holds",
      members: [sup("a", { secrets: ["OTHER"] }), sup("b")],
      demand: { runner: "noop", route: { secrets: ["DB_URL"] } },
      reason: 'waiting for a supervisor: none that can run runner "noop" holds secret DB_URL (runner "noop", secrets DB_URL)',
      capacityOnly: false,
    },
    {
      situation: "secrets held, but none holds them all: every one is named",
      members: [sup("a", { secrets: ["A"] }), sup("b", { secrets: ["B"] })],
      demand: { runner: "noop", route: { secrets: ["A", "B"] } },
      reason: 'waiting for a supervisor: none that can run runner "noop" holds secrets A, B (runner "noop", secrets A,B)',
      capacityOnly: false,
    },
    {
      situation: "the secret is held only where the runner is not offered: the runner is what is missing",
      members: [sup("a", { runners: { shell: 1 }, secrets: ["A"] })],
      demand: { runner: "noop", route: { secrets: ["A"] } },
      reason: 'waiting for a supervisor: none can run runner "noop", secrets A (runners up: shell)',
      capacityOnly: false,
    },
    {
      situation: "the holder is down: it is named",
      members: [sup("a", { secrets: ["A"], health: "down" }), sup("b")],
      demand: { runner: "noop", route: { secrets: ["A"] } },
      reason: 'waiting for a supervisor: a is down (runner "noop", secrets A)',
      capacityOnly: false,
    },
    {
      situation: "the holder is full: a wait for capacity",
      members: [sup("a", { secrets: ["A"], load: { noop: 2 } }), sup("b")],
      demand: { runner: "noop", route: { secrets: ["A"] } },
      reason: 'waiting for capacity: every supervisor for runner "noop", secrets A is full (1 up, 2 slots)',
      capacityOnly: true,
    },
  ];
  for (const t of table) {
    it(t.situation, () => expect(whyWaiting(t.members, t.demand ?? noop)).toEqual({ reason: t.reason, capacityOnly: t.capacityOnly }));
  }
});

describe("offeredRunners", () => {
  it("lists the runners of members that are up, once each, sorted", () => {
    expect(offeredRunners([sup("a", { runners: { shell: 1, noop: 1 } }), sup("b", { runners: { noop: 2, js: 1 } }), sup("c", { runners: { gpu: 1 }, health: "suspect" })])).toEqual(["js", "noop", "shell"]);
  });
});

describe("the unroutable clock", () => {
  const capacity = { reason: "waiting for capacity: …", capacityOnly: true };
  const none = { reason: "waiting for a supervisor: …", capacityOnly: false };
  const since: Array<{ situation: string; previous: number | undefined; wait: typeof capacity; now: number; expect: number | undefined }> = [
    { situation: "starts when no member can serve", previous: undefined, wait: none, now: 100, expect: 100 },
    { situation: "keeps its first moment", previous: 40, wait: none, now: 100, expect: 40 },
    { situation: "a wait for capacity clears it", previous: 40, wait: capacity, now: 100, expect: undefined },
    { situation: "stays clear while waiting for capacity", previous: undefined, wait: capacity, now: 100, expect: undefined },
  ];
  for (const t of since) it(`unroutableSince: ${t.situation}`, () => expect(unroutableSince(t.previous, t.wait, t.now)).toBe(t.expect));

  const expired: Array<{ situation: string; since: number; unroutable: number; now: number; expect: boolean }> = [
    { situation: "not yet", since: 0, unroutable: 0, now: 999, expect: false },
    { situation: "exactly the limit", since: 0, unroutable: 0, now: 1_000, expect: true },
    { situation: "the job came later than the outage: counts from the job", since: 500, unroutable: 0, now: 1_200, expect: false },
    { situation: "the outage began later than the wait: counts from the outage", since: 0, unroutable: 500, now: 1_200, expect: false },
    { situation: "both long enough ago", since: 100, unroutable: 200, now: 1_200, expect: true },
  ];
  for (const t of expired) it(`unroutableExpired: ${t.situation}`, () => expect(unroutableExpired(t.since, t.unroutable, t.now, 1_000)).toBe(t.expect));

  it("the failure names the wait without its prefix, in seconds", () => {
    expect(noSupervisorError('waiting for a supervisor: none can run runner "gpu" (runners up: none)', 60_000)).toEqual({
      code: "NO_SUPERVISOR",
      message: 'no supervisor could run it for 60 s: none can run runner "gpu" (runners up: none)',
    });
  });
});

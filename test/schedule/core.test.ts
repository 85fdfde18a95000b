// The scheduler's pure core: which due ticks fire, which are skipped, and
// when to look again, as a table over real cron expressions (croner).
import { describe, expect, it } from "vitest";
import { MAX_CATCH_UP_TICKS, planTicks, type TickInput } from "../../src/schedule/core.js";
import { isCronProblem, parseCron, type CronTimes } from "../../src/schedule/cron.js";

const T0 = Date.parse("2026-03-01T00:00:00Z");
const s = (n: number) => T0 + n * 1000;

function cron(expression: string, zone = "UTC"): CronTimes {
  const c = parseCron(expression, zone);
  if (isCronProblem(c)) throw new Error(c.message);
  return c;
}

const everySecond = cron("* * * * * *");
const base: Omit<TickInput, "now"> = { cron: everySecond, lastTick: s(0), catchUpMs: 60_000, overlap: "allow", paused: false, previousRunning: false };

/** [what, input, fired ticks (s), skipped ticks as [s, reason], missed, next (s)] */
const table: Array<[string, Partial<TickInput> & { now: number }, number[], Array<[number, string]>, boolean, number | undefined]> = [
  ["nothing due yet", { now: s(0.5) }, [], [], false, 1],
  ["a tick due exactly now fires", { now: s(1) }, [1], [], false, 2],
  ["a tick fired late fires once", { now: s(1.9) }, [1], [], false, 2],
  ["ticks within the catch-up window fire, each once, oldest first", { now: s(3.2) }, [1, 2, 3], [], false, 4],
  ["older than the window: skipped, the newest still fires", { now: s(100.5), catchUpMs: 2_000 }, [99, 100], [], true, 101],
  ["window 0: only the newest due tick fires", { now: s(50), catchUpMs: 0 }, [50], [], true, 51],
  ["paused: nothing, and no wake-up", { now: s(5), paused: true }, [], [], false, undefined],
  ["skip: the previous run still runs, every due tick is skipped", { now: s(2), overlap: "skip", previousRunning: true }, [], [[1, "overlap"], [2, "overlap"]], false, 3],
  ["skip: the first due tick fires, the ones after overlap with it", { now: s(3), overlap: "skip" }, [1], [[2, "overlap"], [3, "overlap"]], false, 4],
  ["allow: a running previous run changes nothing", { now: s(2), previousRunning: true }, [1, 2], [], false, 3],
  ["cancel_previous: only the newest fires, cancelling the running one", { now: s(3), overlap: "cancel_previous", previousRunning: true }, [3], [[1, "superseded"], [2, "superseded"]], false, 4],
  ["lastTick ahead of now (another coordinator's clock): nothing", { now: s(4), lastTick: s(6) }, [], [], false, 7],
];

describe("planTicks", () => {
  for (const [what, input, fired, skipped, missed, next] of table) {
    it(what, () => {
      const plan = planTicks({ ...base, ...input });
      expect(plan.ticks.filter((t) => t.fire).map((t) => (t.at - T0) / 1000)).toEqual(fired);
      expect(plan.ticks.flatMap((t) => (t.fire ? [] : [[(t.at - T0) / 1000, t.reason]]))).toEqual(skipped);
      expect(plan.missed).toBe(missed);
      expect(plan.nextAt === undefined ? undefined : (plan.nextAt - T0) / 1000).toBe(next);
      // Ticks are handled in order, each once.
      const ats = plan.ticks.map((t) => t.at);
      expect([...new Set(ats)].sort((a, b) => a - b)).toEqual(ats);
    });
  }

  it("cancel_previous asks no cancel when nothing runs", () => {
    expect(planTicks({ ...base, overlap: "cancel_previous", now: s(1) }).ticks).toEqual([{ at: s(1), fire: true, cancelPrevious: false }]);
  });

  it("a long outage of a frequent schedule fires at most the cap, the newest ticks", () => {
    const plan = planTicks({ ...base, catchUpMs: 24 * 3_600_000, now: s(20_000) });
    expect(plan.ticks).toHaveLength(MAX_CATCH_UP_TICKS);
    expect(plan.ticks[0]!.at).toBe(s(20_000 - MAX_CATCH_UP_TICKS + 1));
    expect(plan.ticks.at(-1)!.at).toBe(s(20_000));
    expect(plan.missed).toBe(true);
  });

  it("reads the expression in the schedule's time zone, across a daylight saving change", () => {
    // 02:30 every day in Paris: 01:30 UTC in winter, 00:30 UTC in summer (DST began 2026-03-29).
    const paris = cron("30 2 * * *", "Europe/Paris");
    const winter = planTicks({ ...base, cron: paris, lastTick: Date.parse("2026-03-01T00:00:00Z"), now: Date.parse("2026-03-01T02:00:00Z") });
    expect(winter.ticks.map((t) => new Date(t.at).toISOString())).toEqual(["2026-03-01T01:30:00.000Z"]);
    const summer = planTicks({ ...base, cron: paris, lastTick: Date.parse("2026-04-01T00:00:00Z"), now: Date.parse("2026-04-01T00:10:00Z") });
    expect(new Date(summer.nextAt!).toISOString()).toBe("2026-04-01T00:30:00.000Z");
  });
});

describe("parseCron", () => {
  it.each([
    ["61 * * * *", "UTC", "cron", /invalid expression "61 \* \* \* \*".*minute/],
    ["* * * *", "UTC", "cron", /invalid expression/],
    ["* * * * *", "Mars/Olympus", "time_zone", /unknown time zone "Mars\/Olympus"/],
  ])("refuses %s in %s naming the field", (expression, zone, field, message) => {
    const got = parseCron(expression, zone);
    expect(isCronProblem(got) && got.field).toBe(field);
    expect(isCronProblem(got) && got.message).toMatch(message);
  });

  it("reads an empty zone as UTC, and nicknames", () => {
    expect(cron("@daily", "").next(T0)).toBe(Date.parse("2026-03-02T00:00:00Z"));
  });
});

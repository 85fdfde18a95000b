// A cron expression read in a time zone, through croner (a maintained
// parser: seconds field, nicknames such as @daily, daylight saving time).
// Only tick times are asked of it; timers are the scheduler's.
import { Cron } from "croner";

/** The tick times of one expression in one zone, all in ms since the epoch. */
export interface CronTimes {
  /** The first tick strictly after `after`. */
  next(after: number): number | undefined;
  /** The newest tick at or before `at`. */
  latest(at: number): number | undefined;
  /** The newest `n` ticks at or before `at`, oldest first. */
  recent(at: number, n: number): number[];
}

/** Why an expression or zone was refused, naming the request field. */
export interface CronProblem {
  field: "cron" | "time_zone";
  message: string;
}

/** Whether `zone` is an IANA time zone this Node knows. */
export function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Reads `expression` in `timeZone` ("" for UTC), or says which field is wrong. */
export function parseCron(expression: string, timeZone: string): CronTimes | CronProblem {
  const zone = timeZone || "UTC";
  if (!knownTimeZone(zone)) return { field: "time_zone", message: `time_zone: unknown time zone "${zone}" (an IANA name such as "UTC" or "Europe/Paris")` };
  let cron: Cron;
  try {
    cron = new Cron(expression, { timezone: zone });
  } catch (err) {
    // croner's messages start with its class name ("CronPattern: ...").
    const why = (err instanceof Error ? err.message : String(err)).replace(/^Cron\w*:\s*/, "");
    return { field: "cron", message: `cron: invalid expression "${expression}": ${why}` };
  }
  if (cron.nextRun(new Date()) === null) return { field: "cron", message: `cron: expression "${expression}" never fires` };
  return {
    next: (after) => cron.nextRun(new Date(after))?.getTime(),
    latest: (at) => cron.previousRuns(1, new Date(at + 1))[0]?.getTime(),
    recent: (at, n) => cron.previousRuns(n, new Date(at + 1)).map((d) => d.getTime()).reverse(),
  };
}

export function isCronProblem(x: CronTimes | CronProblem): x is CronProblem {
  return "field" in x;
}

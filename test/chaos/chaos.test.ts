// The chaos suite in CI (reduced: 105 workflows, one round of every fault);
// `npm run chaos` runs the full size (CHAOS=full). See chaos.ts.
import { expect, it } from "vitest";
import { runChaos } from "./chaos.js";

const full = process.env.CHAOS === "full";

it(
  "survives kill -9, Redis restarts and cut connections with zero violations",
  async () => {
    const report = await runChaos({
      workflows: full ? 400 : 105,
      rounds: full ? 3 : 1,
      settleMs: full ? 180_000 : 90_000,
      log: (line) => process.stderr.write(`[chaos] ${line}\n`),
    });
    process.stdout.write(`\n${report.table}\n`);
    if (report.violations.length > 0) process.stdout.write(`violations:\n  ${report.violations.join("\n  ")}\n`);
    expect(report.violations).toEqual([]);
    expect(report.workflows).toBeGreaterThanOrEqual(100);
    expect(Object.values(report.faults).every((n) => n > 0)).toBe(true);
    // The supervisor kills hit running shell jobs (which the process guard then ended).
    expect(report.shellJobsAtSupervisorKills).toBeGreaterThan(0);
  },
  full ? 900_000 : 240_000,
);

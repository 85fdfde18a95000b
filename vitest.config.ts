import { defineConfig } from "vitest/config";

// The chaos suite loads both cores for minutes: it runs on its own
// (`npm run chaos:ci` in .ci/run, `npm run chaos` for the full size).
// So does the package check (`npm run check:packages`: packs and installs every package).
const separate = process.env.CHAOS || process.env.HORUS_PACKAGES ? [] : ["test/chaos/**", "test/packages/**"];
// Suites that load the whole machine on purpose (5,000 connections) run
// after the others, alone, so that no other suite's deadlines share it.
const alone = ["test/security/connection-load.test.ts"];

export default defineConfig({
  test: {
    globalSetup: ["test/helpers/global-setup.ts"],
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites start real servers and child processes; two forks fit two cores.
    pool: "forks",
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "suites", include: ["test/**/*.test.ts"], exclude: [...separate, ...alone, "node_modules/**"], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "alone", include: alone, sequence: { groupOrder: 1 } } },
    ],
  },
});

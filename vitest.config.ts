import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The chaos suite loads both cores for minutes: it runs on its own
    // (`npm run chaos:ci` in .ci/run, `npm run chaos` for the full size).
    // So does the package check (`npm run check:packages`: packs and installs every package).
    exclude: process.env.CHAOS || process.env.HORUS_PACKAGES ? ["node_modules/**"] : ["test/chaos/**", "test/packages/**", "node_modules/**"],
    globalSetup: ["test/helpers/global-setup.ts"],
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites start real servers and child processes; two forks fit two cores.
    pool: "forks",
    maxWorkers: 2,
  },
});

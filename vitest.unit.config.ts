import { defineConfig } from "vitest/config";

// `npm run test:unit`: the pure cores' table and property tests (engine,
// definitions and CEL, placement and health, codecs (the Redis codec too), credits, the CLI's and
// the dashboard's formatting, the schedule core, the docs' links). They need no Redis, no
// browser, no build and no server, so this config has no global setup and
// finishes in seconds; `npm test` still runs them with everything else.
export default defineConfig({
  test: {
    include: [
      "test/engine/**/*.test.ts",
      "test/workflow/{cel-budget,cel-literal,durations,features,inputs,validate}.test.ts",
      "test/dispatch/{answers,health,placement}.test.ts",
      "test/coordinator/{commit-queue,event-wire,job-events,list-batcher,runner-warnings,store-choice,watch-fold}.test.ts",
      "test/common/**/*.test.ts",
      "test/supervisor/{credits,event-ring,inputs-cache}.test.ts",
      "test/cli/{format,coordinator-flags,supervisor-flags}.test.ts",
      "test/schedule/core.test.ts",
      "test/redis-codec/**/*.test.ts",
      "test/dashboard/{model,page-cores}.test.ts",
      "test/docs/**/*.test.ts",
    ],
    reporters: ["default"],
    // Pure modules: one thread can import them once for every file.
    pool: "threads",
    isolate: false,
    testTimeout: 30_000,
  },
});

// The seed's examples end to end: a real coordinator on port 0 with its
// in-process reference supervisor (real worker threads and shell processes),
// reached through the generated client over every protocol.
import { readFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { coordinator, outputs, PROTOCOLS, runYaml, stepStates, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";

let running: RunningCoordinator;
let client: CoordinatorClient;

beforeAll(async () => {
  ({ running, client } = await coordinator());
});
afterAll(async () => {
  await running.close();
});

const example = (name: string) => readFileSync(`examples/${name}.yaml`, "utf8");

describe("examples", () => {
  it("data-pipeline passes outputs from step to step", async () => {
    const wf = await runYaml(client, example("data-pipeline"));
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(outputs(wf)).toEqual({
      fetch: { rows: [1, 2, 3] },
      process: [2, 4, 6],
      store: { stored: 3, total: 12 },
    });
  });

  it("ci-cd runs shell steps that read their input from stdin", async () => {
    const wf = await runYaml(client, example("ci-cd"), { environment: "production" });
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(outputs(wf)).toEqual({
      build: { artifact: "app-1.4.2.tar.gz", size: 1024 },
      test: { artifact: "app-1.4.2.tar.gz", passed: 42, failed: 0 },
      deploy: { deployed: "app-1.4.2.tar.gz", environment: "production" },
    });
  });

  it("multi-stage runs five stages with a step that has two parents", async () => {
    const wf = await runYaml(client, example("multi-stage"));
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    const out = outputs(wf);
    expect(out.validate).toEqual({ valid: 3 });
    expect(out.store).toEqual({ stored: ["ada", "alan", "grace"], count: 3 });
    expect(out.notify).toBe("sent");
  });

  it("parallel fans out to A, B, C and aggregates all three outputs", async () => {
    const wf = await runYaml(client, example("parallel"));
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    const out = outputs(wf);
    expect(out.aggregate).toEqual({ sum: 11 + 20 + 7, parts: [11, 20, 7] });
    expect(out.finish).toEqual({ aggregate: { sum: 38, parts: [11, 20, 7] } });
    // A, B and C were released together by start's completion, and
    // aggregate only once all three had finished.
    const at = (t: { seconds: bigint; nanos: number } | undefined) => Number(t!.seconds) * 1e3 + t!.nanos / 1e6;
    const step = (id: string) => wf.steps.find((s) => s.id === id)!;
    const ready = ["A", "B", "C"].map((id) => at(step(id).readyAt));
    expect(new Set(ready).size).toBe(1);
    expect(ready[0]).toBeGreaterThanOrEqual(at(step("start").finishedAt));
    const lastBranch = Math.max(...["A", "B", "C"].map((id) => at(step(id).finishedAt)));
    expect(at(step("aggregate").readyAt)).toBeGreaterThanOrEqual(lastBranch);
  });
});

describe("every protocol on one port", () => {
  for (const [name, make] of Object.entries(PROTOCOLS)) {
    it(`${name}: submit, watch to the end, read outputs`, async () => {
      const c = createClient(CoordinatorService, make(running.url));
      const wf = await runYaml(c, example("data-pipeline"));
      expect(wf.state).toBe(WorkflowState.SUCCEEDED);
      expect(outputs(wf).process).toEqual([2, 4, 6]);
      expect(stepStates(wf)).toEqual({ fetch: "SUCCEEDED", process: "SUCCEEDED", store: "SUCCEEDED" });
    });
  }
});

// A workflow whose transition holds the coordinator's event loop past its
// budget is quarantined like one whose transition throws (issue 15): FAILED
// with INTERNAL and the reason, its unfinished steps CANCELLED, and the
// coordinator goes on serving. The slow transition is genuine: a `when:`
// that fits the (raised) CEL budget but takes about a second, under a
// transition budget of 200 ms.
import { afterAll, describe, expect, it } from "vitest";
import { overTransitionBudget } from "../../src/engine/quarantine.js";
import { StepState } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { coordinator, runYaml, WorkflowState } from "../helpers/coordinator.js";

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers) await c();
});

const L = `[${Array.from({ length: 40 }, (_, i) => i).join(", ")}]`;

/** Three nested maps over a 40-item literal: 64,000 iterations, valid under a raised CEL budget, about a second of work. */
const SLOW = `
workflow:
  name: slow-transition
  steps:
    - { id: a, runner: noop }
    - { id: b, runner: noop, depends_on: [a], when: '${L}.map(x, ${L}.map(y, ${L}.map(z, x))).size() > 0' }
`;

const NORMAL = `
workflow:
  name: normal
  steps:
    - { id: a, runner: noop }
    - { id: b, runner: noop, depends_on: [a], when: "1 < 2" }
`;

describe("overTransitionBudget", () => {
  it.each([
    [5, 200, undefined],
    [200, 200, undefined],
    [1234.4, 200, 'its "finished" transition took 1234 ms, more than its budget of 200 ms'],
  ])("%s ms against %s ms", (elapsed, budget, reason) => {
    expect(overTransitionBudget(elapsed, budget, "finished")).toBe(reason);
  });
});

describe("transition budget", () => {
  it("a transition over its budget quarantines its workflow; the coordinator serves on and runs the next", async () => {
    const { running, client } = await coordinator({
      transitionBudgetMs: 200,
      limits: { celBudget: { maxSteps: 1_000_000_000, maxSize: 10_000_000, maxMillis: 120_000 } },
    });
    closers.push(() => running.close());

    const slow = await runYaml(client, SLOW, {}, 120_000);
    expect(slow.state).toBe(WorkflowState.FAILED);
    expect(slow.error).toMatch(/^INTERNAL: the coordinator could not advance this workflow and stopped it: its "finished" transition took \d+ ms, more than its budget of 200 ms$/);
    const b = slow.steps.find((s) => s.id === "b")!;
    expect(b.state).toBe(StepState.CANCELLED);
    expect(b.error?.code).toBe("INTERNAL");

    const normal = await runYaml(client, NORMAL);
    expect(normal.state).toBe(WorkflowState.SUCCEEDED);
  });
});

// The dashboard's model of a workflow (src/dashboard/page/model.ts): pure,
// so tested here without a browser.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { StepSchema, StepState as S, WorkflowEventSchema, WorkflowSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { applyEvent, counts, indexSteps, progressText, workflowOutput, type Step, type Workflow, type WorkflowEvent } from "../../src/dashboard/page/model.js";

/** A workflow as the page holds it: outputs are plain JSON (horus-client-web converts them). */
function workflow(steps: Array<Partial<Step>>): Workflow {
  const wf = create(WorkflowSchema, { id: "wf_1", steps: steps.map(({ output: _, ...s }) => create(StepSchema, s as never)) }) as unknown as Workflow;
  steps.forEach((s, i) => s.output !== undefined && (wf.steps[i]!.output = s.output));
  return wf;
}

function stepEvent(stepId: string, state: S, attempt: number, supervisor = "", time = 1_000): WorkflowEvent {
  return create(WorkflowEventSchema, { time: timestampFromMs(time), kind: { case: "step", value: { stepId, state, attempt, supervisor } } }) as unknown as WorkflowEvent;
}

describe("applyEvent keeps the attempt history current", () => {
  it("an attempt seen READY in the snapshot shows RUNNING on its supervisor once the step runs", () => {
    const wf = workflow([{ id: "a", state: S.READY, attempts: 1, attemptHistory: [{ number: 1, state: S.READY, supervisor: "" } as never] }]);
    const steps = indexSteps(wf);
    applyEvent(wf, steps, stepEvent("a", S.DISPATCHED, 1, "sup-1", 1_000));
    applyEvent(wf, steps, stepEvent("a", S.RUNNING, 1, "sup-1", 2_000));
    const [attempt] = steps.get("a")!.attemptHistory;
    expect(attempt).toMatchObject({ number: 1, state: S.RUNNING, supervisor: "sup-1" });
    expect(Number(attempt!.startedAt!.seconds)).toBe(2);
  });

  it("opens the next attempt when the event names one the snapshot does not have, and ends it", () => {
    const wf = workflow([{ id: "a", state: S.PENDING, attempts: 1, attemptHistory: [{ number: 1, state: S.FAILED, supervisor: "s" } as never] }]);
    const steps = indexSteps(wf);
    applyEvent(wf, steps, stepEvent("a", S.READY, 2));
    applyEvent(wf, steps, stepEvent("a", S.RUNNING, 2, "s2"));
    applyEvent(wf, steps, stepEvent("a", S.SUCCEEDED, 2, "s2", 3_000));
    expect(steps.get("a")!.attemptHistory.map((a) => [a.number, a.state, a.supervisor])).toEqual([
      [1, S.FAILED, "s"],
      [2, S.SUCCEEDED, "s2"],
    ]);
    // A retry waiting (PENDING) is not an attempt yet.
    applyEvent(wf, steps, stepEvent("a", S.PENDING, 3));
    expect(steps.get("a")!.attemptHistory).toHaveLength(2);
  });
});

describe("counts: one definition for the header and the list", () => {
  it("counts every record, for_each instances included, as WorkflowSummary does", () => {
    const wf = workflow([
      { id: "a", state: S.SUCCEEDED },
      { id: "sq", state: S.RUNNING, instanceCount: 3 },
      { id: "sq", instance: 0, state: S.SUCCEEDED },
      { id: "sq", instance: 1, state: S.RUNNING },
      { id: "sq", instance: 2, state: S.FAILED },
      { id: "b", state: S.SKIPPED },
    ]);
    expect(counts(wf.steps)).toEqual({ succeeded: 2, failed: 1, running: 2, total: 6 });
    expect(progressText(counts(wf.steps))).toBe("2/6 succeeded, 1 failed, 2 running");
  });
});

describe("workflowOutput", () => {
  it("is the outputs of the final main steps by id, as a sub-workflow step receives them", () => {
    const wf = workflow([
      { id: "a", state: S.SUCCEEDED, output: 1 as never },
      { id: "b", state: S.SUCCEEDED, dependsOn: ["a"], output: { x: 2 } as never },
      { id: "c", state: S.PENDING, dependsOn: ["a"] },
      { id: "cleanup", state: S.SKIPPED, onFailure: true },
    ]);
    expect(workflowOutput(wf)).toEqual({ b: { x: 2 }, c: null });
    expect(workflowOutput(workflow([{ id: "a", state: S.RUNNING }]))).toBeUndefined();
  });
});

// The engine's states are its own, numbered as the proto's enums so records
// are stored and sent as they are (src/engine/states.ts). This keeps the two
// in step: same names, same numbers, both ways.
import { describe, expect, it } from "vitest";
import { StepState as ProtoStep, WorkflowState as ProtoWorkflow } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { StepState, WorkflowState, parseWorkflowState, stepStateName, workflowStateName } from "../../src/engine/states.js";

const names = (e: object) => Object.keys(e).filter((k) => Number.isNaN(Number(k)));

describe("engine states and the proto enums", () => {
  for (const [label, engine, proto] of [
    ["WorkflowState", WorkflowState, ProtoWorkflow],
    ["StepState", StepState, ProtoStep],
  ] as const) {
    it(`${label}: the same names with the same numbers, and names back from numbers`, () => {
      expect(names(engine).sort()).toEqual(names(proto).sort());
      for (const name of names(proto)) {
        const n = (proto as unknown as Record<string, number>)[name]!;
        expect((engine as Record<string, unknown>)[name], name).toBe(n);
        expect((engine as Record<number, unknown>)[n], name).toBe(name);
      }
    });
  }

  it("prints and parses the short names", () => {
    expect(workflowStateName(ProtoWorkflow.RUNNING)).toBe("RUNNING");
    expect(stepStateName(ProtoStep.SKIPPED)).toBe("SKIPPED");
    expect(parseWorkflowState("workflow_state_failed")).toBe(WorkflowState.FAILED);
    expect(parseWorkflowState("cancelled")).toBe(ProtoWorkflow.CANCELLED);
    for (const bad of ["UNSPECIFIED", "1", "nope", "constructor"]) expect(parseWorkflowState(bad), bad).toBeUndefined();
  });
});

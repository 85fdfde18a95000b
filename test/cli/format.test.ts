// The CLI's pure text decisions: labels, order, wait reasons, colour, URLs,
// and what the piped progress view prints.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { StepSchema, WorkflowEventSchema, WorkflowSchema, type Workflow, type WorkflowEvent } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { toValue } from "../../src/common/json.js";
import { StepState, WorkflowState } from "../../src/engine/states.js";
import { CliError, coordinatorUrl } from "../../src/cli/client.js";
import { colourStyle, plainStyle, wantsColour } from "../../src/cli/colour.js";
import { displayOrder, stepLabel, stepLine, summaryLine, workflowText } from "../../src/cli/format.js";
import { applyEvent } from "../../src/cli/follow.js";
import { createPlainProgress } from "../../src/cli/plain-progress.js";

describe("step labels and order", () => {
  it("labels a for_each instance with its index", () => {
    expect(stepLabel("square", 3)).toBe("square[3]");
    expect(stepLabel("square", 0)).toBe("square[0]");
    expect(stepLabel("square", undefined)).toBe("square");
  });

  it("puts each step's instances right after it, in index order", () => {
    const steps = [{ id: "a" }, { id: "sq" }, { id: "b" }, { id: "sq", instance: 1 }, { id: "sq", instance: 0 }];
    expect(displayOrder(steps).map((s) => stepLabel(s.id, s.instance))).toEqual(["a", "sq", "sq[0]", "sq[1]", "b"]);
  });

  it("status text labels instances and shows why a READY step waits", () => {
    const wf = create(WorkflowSchema, {
      id: "wf_1",
      name: "n",
      state: WorkflowState.RUNNING,
      steps: [
        { id: "hello", state: StepState.READY, waitingReason: 'waiting for a supervisor: none can run runner "jss" (runners up: js, noop, shell)' },
        { id: "square", state: StepState.RUNNING },
        { id: "square", instance: 2, state: StepState.SUCCEEDED, output: toValue(4) },
      ],
    });
    const text = workflowText(wf);
    expect(text).toMatch(/^ {2}hello +READY +waiting for a supervisor: none can run runner "jss" \(runners up: js, noop, shell\)$/m);
    expect(text).toMatch(/^ {2}square\[2\] +SUCCEEDED +→ 4$/m);
  });
});

describe("colour", () => {
  it("is on for a terminal only, off with NO_COLOR, forced with FORCE_COLOR", () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    const cases: Array<[{ isTTY?: boolean }, Record<string, string | undefined>, boolean]> = [
      [tty, {}, true],
      [pipe, {}, false],
      [{}, {}, false],
      [tty, { NO_COLOR: "1" }, false],
      [tty, { NO_COLOR: "" }, true],
      [tty, { TERM: "dumb" }, false],
      [pipe, { FORCE_COLOR: "1" }, true],
      [tty, { FORCE_COLOR: "0" }, false],
      [pipe, { FORCE_COLOR: "1", NO_COLOR: "1" }, false],
    ];
    for (const [stream, env, want] of cases) expect(wantsColour(stream, env), JSON.stringify([stream, env])).toBe(want);
  });

  it("colours state names and keeps columns aligned", () => {
    const step = create(StepSchema, { id: "a", state: StepState.FAILED, error: { code: "X", message: "y" } });
    const plain = stepLine(step, plainStyle);
    const coloured = stepLine(step, colourStyle);
    expect(coloured).toContain("\x1b[31mFAILED\x1b[39m");
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, "")).toBe(plain);
    expect(summaryLine({ id: "wf_1", state: WorkflowState.SUCCEEDED, stepsSucceeded: 1, stepsTotal: 1, name: "n" } as never, colourStyle)).toContain("\x1b[32mSUCCEEDED\x1b[39m");
  });
});

describe("--coordinator", () => {
  it("takes a bare host:port as http://", () => {
    expect(coordinatorUrl("localhost:9090")).toBe("http://localhost:9090");
    expect(coordinatorUrl("10.0.0.5:9090")).toBe("http://10.0.0.5:9090");
    expect(coordinatorUrl("coordinator")).toBe("http://coordinator");
    expect(coordinatorUrl("http://localhost:9090")).toBe("http://localhost:9090");
    expect(coordinatorUrl("https://horus.example.com")).toBe("https://horus.example.com");
  });

  it("refuses what is not an http(s) URL, in one line", () => {
    for (const bad of ["ftp://x:21", "http://", ""]) expect(() => coordinatorUrl(bad), bad).toThrow(CliError);
  });
});

describe("piped progress", () => {
  const stamp = () => "T";
  const now = () => 0;
  const done = (id: string, output: unknown, instance?: number) => ({ id, state: StepState.SUCCEEDED, attempts: 1, output: toValue(output as never), ...(instance !== undefined ? { instance } : {}) });
  const ended = () =>
    create(WorkflowSchema, {
      id: "wf_1",
      name: "for-each",
      state: WorkflowState.SUCCEEDED,
      steps: [done("numbers", [2, 4]), done("square", [4, 16]), done("total", 20), done("square", 4, 0), done("square", 16, 1)],
    });
  const stepEvent = (stepId: string, state: StepState, extra: Record<string, unknown> = {}): WorkflowEvent =>
    create(WorkflowEventSchema, { kind: { case: "step", value: { stepId, state, attempt: 1, ...extra } } });
  const workflowEvent = (state: WorkflowState): WorkflowEvent => create(WorkflowEventSchema, { kind: { case: "workflow", value: { state } } });

  it("prints every step's output when the workflow ended before the watch began", () => {
    const p = createPlainProgress({ stamp, now });
    const lines = p.snapshot(ended());
    expect(lines.map((l) => l.replace(/  \[.*\]$/, ""))).toEqual([
      "T workflow for-each wf_1 SUCCEEDED (5 steps)",
      "T step numbers SUCCEEDED → [2,4]",
      "T step square SUCCEEDED → [4,16]",
      "T step square[0] SUCCEEDED → 4",
      "T step square[1] SUCCEEDED → 16",
      "T step total SUCCEEDED → 20",
      "T workflow SUCCEEDED",
    ]);
  });

  it("prints nothing after the workflow's end but the result line", () => {
    const p = createPlainProgress({ stamp, now });
    const wf = ended();
    wf.state = WorkflowState.RUNNING;
    p.snapshot(wf);
    wf.state = WorkflowState.SUCCEEDED;
    expect(p.event(wf, workflowEvent(WorkflowState.SUCCEEDED))).toEqual(["T workflow SUCCEEDED"]);
    expect(p.event(wf, stepEvent("square", StepState.RUNNING, { instance: 3 }))).toEqual([]);
    expect(p.snapshot(wf)).toEqual([]);
    expect(p.done(wf)).toEqual(["workflow wf_1 SUCCEEDED"]);
  });

  it("a snapshot after a reconnect repeats nothing already printed", () => {
    const p = createPlainProgress({ stamp, now });
    const wf = ended();
    wf.state = WorkflowState.RUNNING;
    expect(p.snapshot(wf)).toHaveLength(6);
    expect(p.snapshot(wf)).toEqual([]);
  });

  it("shows a READY step's wait reason and labels instance events", () => {
    const p = createPlainProgress({ stamp, now });
    const wf = create(WorkflowSchema, { id: "wf_1", name: "n", state: WorkflowState.RUNNING, steps: [{ id: "a" }, { id: "sq" }] });
    p.snapshot(wf);
    const waiting = stepEvent("a", StepState.READY, { waitingReason: "waiting for capacity: every supervisor for runner js is full (1 up, 2 slots)" });
    applyEvent(wf, waiting);
    expect(p.event(wf, waiting)[0]).toMatch(/^T step a READY: waiting for capacity: every supervisor for runner js is full \(1 up, 2 slots\) {2}\[/);
    const instance = stepEvent("sq", StepState.SUCCEEDED, { instance: 3, output: toValue(9) });
    applyEvent(wf, instance);
    expect(p.event(wf, instance)[0]).toMatch(/^T step sq\[3\] SUCCEEDED → 9 {2}\[1\/3 done/);
  });
});

describe("applyEvent", () => {
  it("applies an instance's change to that instance, adding it when the snapshot predates the expansion", () => {
    const wf: Workflow = create(WorkflowSchema, { steps: [{ id: "sq", state: StepState.RUNNING, runner: "js" }] });
    applyEvent(wf, create(WorkflowEventSchema, { kind: { case: "step", value: { stepId: "sq", instance: 0, state: StepState.RUNNING, attempt: 1 } } }));
    applyEvent(wf, create(WorkflowEventSchema, { kind: { case: "step", value: { stepId: "sq", instance: 0, state: StepState.SUCCEEDED, attempt: 1 } } }));
    expect(wf.steps.map((s) => [stepLabel(s.id, s.instance), StepState[s.state], s.runner])).toEqual([
      ["sq", "RUNNING", "js"],
      ["sq[0]", "SUCCEEDED", "js"],
    ]);
  });
});

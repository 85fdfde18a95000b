// Store records -> API messages. One place, so every surface reports the
// same shapes.
import { create } from "@bufbuild/protobuf";
import {
  PlanSchema,
  ProblemSchema,
  StepSchema,
  WorkflowEventSchema,
  WorkflowSchema,
  WorkflowSpecSchema,
  WorkflowSummarySchema,
  LogLineSchema,
  LogStream,
  type Plan,
  type Problem as ProblemMsg,
  type Workflow,
  type WorkflowEvent,
  type WorkflowSpec,
  type WorkflowSummary,
  type LogLine,
} from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { msDuration, toValue, toValueMap, ts } from "../common/json.js";
import { StepState } from "../engine/states.js";
import type { StoredEvent, WorkflowRecord } from "../engine/model.js";
import type { StoredLog, WorkflowSummaryRecord } from "../store/store.js";
import type { Problem, WorkflowDefinition } from "../workflow/definition.js";

function opt<T>(key: string, v: T | undefined): Record<string, T> {
  return v === undefined ? {} : { [key]: v };
}

export function workflowToProto(wf: WorkflowRecord): Workflow {
  return create(WorkflowSchema, {
    id: wf.id,
    name: wf.name,
    state: wf.state,
    inputs: toValueMap(wf.inputs),
    labels: wf.labels,
    idempotencyKey: wf.idempotencyKey ?? "",
    error: wf.error ?? "",
    ...opt("createdAt", ts(wf.createdAt)),
    ...opt("startedAt", ts(wf.startedAt)),
    ...opt("finishedAt", ts(wf.finishedAt)),
    spec: definitionToSpec(wf.definition),
    steps: wf.steps.map((s, i) => {
      const def = wf.definition.steps[i]!;
      return create(StepSchema, {
        id: s.id,
        runner: def.runner,
        state: s.state,
        dependsOn: def.dependsOn,
        attempts: s.attempts.length,
        level: wf.levels[i] ?? 0,
        supervisor: s.supervisor ?? "",
        ...opt("readyAt", ts(s.readyAt)),
        ...opt("startedAt", ts(s.startedAt)),
        ...opt("finishedAt", ts(s.finishedAt)),
        ...(s.output !== undefined ? { output: toValue(s.output) } : {}),
        ...(s.error ? { error: { code: s.error.code, message: s.error.message } } : {}),
        waitingReason: s.state === StepState.READY ? (s.waitingReason ?? "") : "",
        attemptHistory: s.attempts.map((a) => ({
          number: a.number,
          attemptId: a.attemptId,
          supervisor: a.supervisor ?? "",
          state: a.state,
          ...opt("dispatchedAt", ts(a.dispatchedAt)),
          ...opt("startedAt", ts(a.startedAt)),
          ...opt("finishedAt", ts(a.finishedAt)),
          ...(a.error ? { error: { code: a.error.code, message: a.error.message } } : {}),
        })),
      });
    }),
  });
}

export function definitionToSpec(def: WorkflowDefinition): WorkflowSpec {
  return create(WorkflowSpecSchema, {
    name: def.name,
    labels: def.labels,
    steps: def.steps.map((s) => ({
      id: s.id,
      runner: s.runner,
      payload: s.payload,
      dependsOn: s.dependsOn,
      ...(s.timeoutMs !== undefined ? { timeout: msDuration(s.timeoutMs) } : {}),
      ...(s.supervisor !== undefined ? { supervisor: s.supervisor } : {}),
      ...(s.labels !== undefined ? { labels: s.labels } : {}),
    })),
  });
}

export function summaryToProto(s: WorkflowSummaryRecord): WorkflowSummary {
  return create(WorkflowSummarySchema, {
    id: s.id,
    name: s.name,
    state: s.state,
    error: s.error ?? "",
    stepsTotal: s.stepsTotal,
    stepsSucceeded: s.stepsSucceeded,
    stepsFailed: s.stepsFailed,
    stepsRunning: s.stepsRunning,
    ...opt("createdAt", ts(s.createdAt)),
    ...opt("finishedAt", ts(s.finishedAt)),
  });
}

export function eventToProto(workflowId: string, e: StoredEvent): WorkflowEvent {
  const base = { cursor: e.cursor, workflowId, ...opt("time", ts(e.time)) };
  if (e.kind === "workflow") {
    return create(WorkflowEventSchema, { ...base, kind: { case: "workflow", value: { state: e.state, error: e.error ?? "" } } });
  }
  return create(WorkflowEventSchema, {
    ...base,
    kind: {
      case: "step",
      value: {
        stepId: e.stepId,
        state: e.state,
        attempt: e.attempt,
        supervisor: e.supervisor ?? "",
        ...(e.output !== undefined ? { output: toValue(e.output) } : {}),
        ...(e.error ? { error: e.error } : {}),
        waitingReason: e.waitingReason ?? "",
      },
    },
  });
}

const STREAMS = { stdout: LogStream.STDOUT, stderr: LogStream.STDERR, system: LogStream.SYSTEM } as const;

export function logToProto(l: StoredLog): LogLine {
  return create(LogLineSchema, {
    cursor: l.cursor,
    stepId: l.stepId,
    attempt: l.attempt,
    stream: STREAMS[l.stream],
    line: l.line,
    ...opt("time", ts(l.time)),
  });
}

export function problemsToProto(problems: Problem[]): ProblemMsg[] {
  return problems.map((p) => create(ProblemSchema, p));
}

export function planToProto(levels: string[][]): Plan {
  return create(PlanSchema, { levels: levels.map((stepIds) => ({ stepIds })) });
}

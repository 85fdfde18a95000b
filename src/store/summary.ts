import type { WorkflowRecord } from "../engine/model.js";
import { StepState as S } from "../engine/states.js";
import type { WorkflowSummaryRecord } from "./store.js";

export function summarize(wf: WorkflowRecord): WorkflowSummaryRecord {
  let succeeded = 0;
  let failed = 0;
  let running = 0;
  for (const s of wf.steps) {
    if (s.state === S.SUCCEEDED) succeeded++;
    else if (s.state === S.FAILED) failed++;
    else if (s.state === S.RUNNING || s.state === S.DISPATCHED) running++;
  }
  return {
    id: wf.id,
    name: wf.name,
    state: wf.state,
    createdAt: wf.createdAt,
    ...(wf.finishedAt !== undefined ? { finishedAt: wf.finishedAt } : {}),
    ...(wf.error !== undefined ? { error: wf.error } : {}),
    stepsTotal: wf.steps.length,
    stepsSucceeded: succeeded,
    stepsFailed: failed,
    stepsRunning: running,
    ...(Object.keys(wf.labels).length > 0 ? { labels: { ...wf.labels } } : {}),
    ...(wf.parent ? { parentWorkflowId: wf.parent.workflowId } : {}),
  };
}

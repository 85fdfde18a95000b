// Sub-workflow steps seen from the parent (docs/semantics.md W1-W4): start
// the child workflow of an attempt (or find it again by idempotency key),
// follow it through the store until it ends, and cancel it. What the child
// is (planChild) and what its end means to the parent (childFinished) are
// pure; createChildren is the I/O around them for one parent workflow.
import type { Logger } from "pino";
import type { JsonMap, JsonValue } from "../../common/json.js";
import type { Command, EngineInput, EngineState } from "../../engine/engine.js";
import { jobInput } from "../../engine/engine.js";
import type { StepFailure, WorkflowRecord } from "../../engine/model.js";
import { WorkflowState, isTerminalWorkflow } from "../../engine/states.js";
import type { Store, TemplateRecord } from "../../store/store.js";
import type { ValidationLimits } from "../../workflow/definition.js";
import { MAX_SUB_WORKFLOW_DEPTH, validateAndPlan, type WorkflowPlan } from "../../workflow/plan.js";
import { applyInputs } from "../../workflow/inputs.js";
import { newWorkflowRecord } from "../records.js";
import { StepFailureCode } from "../../common/failure-codes.js";

type StartChild = Extract<Command, { type: "startChild" }>;
type CancelChild = Extract<Command, { type: "cancelChild" }>;

/** The limits stored definitions are planned again with: the coordinator's CEL budget and depth, and no step or payload limit. */
export type ReplanLimits = Partial<ValidationLimits> & { maxDepth: number };

/**
 * Stored definitions were checked at submission (or registration), perhaps
 * under larger step and payload limits: planned again without those, but
 * with the coordinator's CEL budget and sub-workflow depth.
 */
export function replanLimits(limits: Partial<Pick<ValidationLimits, "celBudget" | "maxDepth">> = {}): ReplanLimits {
  return { maxSteps: Number.POSITIVE_INFINITY, maxPayloadBytes: Number.POSITIVE_INFINITY, maxDepth: limits.maxDepth ?? MAX_SUB_WORKFLOW_DEPTH, ...(limits.celBudget ? { celBudget: limits.celBudget } : {}) };
}

/** The parent workflow, as its children see it. */
export interface ChildParent {
  readonly engine: EngineState;
  /** This copy of the parent was let go (another coordinator advances it): nothing more is applied. */
  readonly dropped: boolean;
  /** Feeds the parent's engine (childStarted, childFinished). */
  apply(input: EngineInput): void;
}

/** What children need of the executor around them. */
export interface ChildrenContext {
  store: Pick<Store, "getTemplate" | "getWorkflow" | "subscribe">;
  logger: Logger;
  now(): number;
  /** Stores and starts a new workflow; for a repeated idempotency key, the id of the one that exists. */
  start(record: WorkflowRecord, plan: WorkflowPlan): Promise<{ id: string }>;
  /** Cancels a workflow wherever it runs. */
  cancel(id: string, reason: string): Promise<boolean>;
  /** What child definitions are planned with (default replanLimits()). */
  limits?: ReplanLimits;
}

/** The child workflows of one parent. */
export interface Children {
  /** Carries out a startChild command: creates the child (or finds it again) and follows it; failures are logged. */
  startChild(c: StartChild): void;
  /** Follows a child already started until it ends, then reports childFinished (once per attempt). */
  watchChild(attemptId: string, childId: string): void;
  /** Carries out a cancelChild command: stops following the child and cancels it. */
  cancelChild(c: CancelChild): void;
  /** Stops following every child (the parent ended or left); the children themselves run on. */
  release(): void;
}

/** What a startChild command creates, or why its attempt fails without a child. */
export type ChildPlan = { ok: true; record: WorkflowRecord; plan: WorkflowPlan } | { ok: false; error: StepFailure };

/**
 * The child workflow of a startChild command. `template` is what the store
 * holds for the step's template reference (undefined: not registered);
 * it is not read for an inline sub-workflow.
 */
export function planChild(parent: EngineState, c: StartChild, template: TemplateRecord | undefined, now: number, limits: ReplanLimits = replanLimits()): ChildPlan {
  const wf = parent.record;
  const sub = parent.plan.steps[c.planIndex]!.workflow!;
  const fail = (code: StepFailureCode, message: string): ChildPlan => ({ ok: false, error: { code, message } });
  let definition = "inline" in sub ? sub.inline : undefined;
  let ref: WorkflowRecord["template"];
  if ("template" in sub) {
    if (!template) return fail(StepFailureCode.TEMPLATE_NOT_FOUND, `template "${sub.template}"${sub.version ? ` version ${sub.version}` : ""} is not registered`);
    definition = template.definition;
    ref = { name: template.name, version: template.version };
  }
  // W4: templates can refer to each other in a chain (or a cycle registration could not see): bound it here.
  const depth = (wf.depth ?? 0) + 1;
  if (depth >= limits.maxDepth) {
    return fail(StepFailureCode.WORKFLOW_TOO_DEEP, `sub-workflows nest more than ${limits.maxDepth} deep: ${"template" in sub ? `template "${sub.template}"` : "an inline sub-workflow"} would run at level ${depth + 1}`);
  }
  const { plan, problems } = validateAndPlan(definition!, limits);
  if (!plan) return fail(StepFailureCode.INVALID_WORKFLOW, problems.map((p) => p.message).join("; "));
  // I5: the child's declared inputs are checked against what the step passes
  // it (its dependencies' outputs, which it cannot choose: the rest pass through).
  const given = applyInputs(definition!.inputs, jobInput(parent, c.step, c.extraInput), { keepUndeclared: true });
  if (given.problems.length > 0) return fail(StepFailureCode.INVALID_INPUTS, `sub-workflow ${"template" in sub ? `template "${sub.template}"` : "(inline)"}: ${given.problems.map((p) => p.message).join("; ")}`);
  const record = newWorkflowRecord({
    depth,
    definition: definition!,
    plan,
    inputs: given.inputs,
    now,
    // A resumed parent asks again for the same attempt: it gets the same child.
    idempotencyKey: `child:${c.attemptId}`,
    parent: { workflowId: wf.id, stepId: wf.steps[c.step]!.id, attemptId: c.attemptId },
    ...(ref ? { template: ref } : {}),
  });
  return { ok: true, record, plan };
}

/** The engine input for a child workflow that ended (or vanished: `child` undefined). */
export function childFinished(attemptId: string, childId: string, child: WorkflowRecord | undefined): EngineInput {
  if (!child) return { type: "childFinished", attemptId, ok: false, error: { code: StepFailureCode.CHILD_LOST, message: `sub-workflow ${childId} no longer exists` } };
  if (child.state === WorkflowState.SUCCEEDED) return { type: "childFinished", attemptId, ok: true, output: childOutput(child) };
  // Too deep below is too deep here as well: the code goes up the chain, so no level retries it (W4).
  const tooDeep = child.steps.some((s) => s.error?.code === StepFailureCode.WORKFLOW_TOO_DEEP);
  const code = child.state === WorkflowState.CANCELLED ? StepFailureCode.CHILD_CANCELLED : tooDeep ? StepFailureCode.WORKFLOW_TOO_DEEP : StepFailureCode.CHILD_FAILED;
  return { type: "childFinished", attemptId, ok: false, error: { code, message: `sub-workflow ${childId}: ${child.error ?? "failed"}` } };
}

/**
 * A sub-workflow's output: the outputs of its final steps (main steps no
 * other step depends on), by step id (docs/semantics.md W2).
 */
export function childOutput(child: WorkflowRecord): JsonValue {
  const dependedOn = new Set(child.definition.steps.flatMap((s) => s.dependsOn));
  const out: JsonMap = {};
  child.definition.steps.forEach((s, i) => {
    if (!dependedOn.has(s.id)) out[s.id] = child.steps[i]?.output ?? null;
  });
  return out;
}

export function createChildren(parent: ChildParent, ctx: ChildrenContext): Children {
  const { store, logger } = ctx;
  /** Children followed, by the attempt that started them: stops following one. */
  const watching = new Map<string, () => void>();

  function childOf(attemptId: string): string | undefined {
    for (const step of parent.engine.record.steps) {
      const found = step.attempts.find((x) => x.attemptId === attemptId)?.childWorkflowId;
      if (found) return found;
    }
    return undefined;
  }

  /** Creates (or finds again, by idempotency key) the child workflow of a sub-workflow attempt. */
  async function startChild(c: StartChild): Promise<void> {
    const sub = parent.engine.plan.steps[c.planIndex]!.workflow!;
    const template = "template" in sub ? await store.getTemplate(sub.template, sub.version) : undefined;
    const planned = planChild(parent.engine, c, template, ctx.now(), ctx.limits);
    if (!planned.ok) return parent.apply({ type: "childFinished", attemptId: c.attemptId, ok: false, error: planned.error });
    const { id } = await ctx.start(planned.record, planned.plan);
    if (parent.dropped) return;
    parent.apply({ type: "childStarted", attemptId: c.attemptId, workflowId: id });
    watchChild(c.attemptId, id);
  }

  /**
   * Reports a child's end to its parent. It goes through the store (a
   * subscription to the child's events), so it works whichever coordinator
   * advances the child, and after the parent moved to another coordinator.
   */
  function watchChild(attemptId: string, childId: string): void {
    if (watching.has(attemptId)) return;
    let checking = false;
    let again = false;
    const check = async (): Promise<void> => {
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          const got = await store.getWorkflow(childId);
          if (!watching.has(attemptId) || parent.dropped) return;
          if (got && !isTerminalWorkflow(got.record.state)) continue;
          stop();
          parent.apply(childFinished(attemptId, childId, got?.record));
        } while (again);
      } catch (err) {
        logger.warn({ err, workflowId: childId }, "could not read a sub-workflow; will look again on its next event");
      } finally {
        checking = false;
      }
    };
    const unsubscribe = store.subscribe("events", childId, () => void check());
    const stop = () => {
      unsubscribe();
      watching.delete(attemptId);
    };
    watching.set(attemptId, stop);
    // Once subscribed: an end between this read and the subscription would never be heard.
    void Promise.resolve(unsubscribe.ready).then(check);
  }

  return {
    startChild(c) {
      void startChild(c).catch((err) => logger.error({ err, workflowId: parent.engine.record.id, attemptId: c.attemptId }, "could not start a sub-workflow"));
    },
    watchChild,
    cancelChild(c) {
      const childId = c.workflowId ?? childOf(c.attemptId);
      watching.get(c.attemptId)?.();
      if (childId) void ctx.cancel(childId, "parent workflow cancelled").catch((err) => logger.warn({ err, workflowId: childId }, "could not cancel a sub-workflow"));
    },
    release() {
      for (const stop of [...watching.values()]) stop();
    },
  };
}

// Schedules on the coordinator: the runs a schedule starts (for the timer
// in src/schedule/ and for TriggerSchedule alike), and the schedule RPCs.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { OverlapPolicy, ScheduleSchema, type Schedule, type ScheduleSpec as ScheduleSpecProto } from "../../gen/horus/coordinator/v1/schedule_pb.js";
import { durationMs, fromValueMap, msDuration, toValueMap, ts } from "../common/json.js";
import { truncateId } from "../common/truncate.js";
import type { WorkflowRecord } from "../engine/model.js";
import { isTerminalWorkflow } from "../engine/states.js";
import { isCronProblem, parseCron } from "../schedule/cron.js";
import { CannotStartError, type Scheduler } from "../schedule/scheduler.js";
import type { OverlapPolicy as Overlap, ScheduleRecord, ScheduleTarget } from "../store/schedules.js";
import type { Store } from "../store/store.js";
import type { ValidationLimits } from "../workflow/definition.js";
import { validateAndPlan } from "../workflow/plan.js";
import { checkDefinition } from "./check-definition.js";
import { checkDefinitionOffThread, type DefinitionPool } from "./definition-pool.js";
import type { Executor } from "./executor.js";
import { newWorkflowRecord } from "./records.js";

/** Catch-up window of a schedule created without one (ms): a restart or a slow moment loses no tick, a long outage does not flood. */
export const DEFAULT_CATCH_UP_MS = 60_000;

/** Label every scheduled run carries, naming its schedule (list filters and the dashboard use it). */
export const SCHEDULE_LABEL = "schedule";

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

const OVERLAP: Record<Overlap, OverlapPolicy> = { skip: OverlapPolicy.SKIP, allow: OverlapPolicy.ALLOW, cancel_previous: OverlapPolicy.CANCEL_PREVIOUS };

export interface ScheduleRunsOptions {
  store: Store;
  executor: Executor;
  limits?: Partial<ValidationLimits>;
  /** Worker threads that read large YAML definitions (default: read on this thread). */
  definitions?: DefinitionPool;
}

/** What a target runs: its definition read and planned, or every problem. */
async function resolveTarget({ store, limits, definitions }: ScheduleRunsOptions, target: ScheduleTarget) {
  if ("yaml" in target) {
    const yaml = { case: "yaml" as const, value: target.yaml };
    const checked = definitions ? await checkDefinitionOffThread(yaml, limits, definitions) : checkDefinition(yaml, limits);
    if (!checked.plan || !checked.parsed.definition) return { problems: checked.problems.map((p) => p.message) };
    return { definition: checked.parsed.definition, plan: checked.plan };
  }
  const t = await store.getTemplate(target.template, target.version);
  if (!t) return { problems: [`template "${truncateId(target.template)}"${target.version ? ` version ${target.version}` : ""} is not registered`] };
  const result = validateAndPlan(t.definition, limits);
  if (!result.plan) return { problems: result.problems.map((p) => p.message) };
  return { definition: t.definition, plan: result.plan, template: { name: t.name, version: t.version } };
}

/** Starts a run of a schedule (under `idempotencyKey`, when a tick starts it); returns its id. */
export function createScheduleRuns(options: ScheduleRunsOptions): (schedule: ScheduleRecord, idempotencyKey?: string) => Promise<string> {
  const { executor } = options;
  return async (s, idempotencyKey) => {
    const got = await resolveTarget(options, s.target);
    if (!got.definition) throw new CannotStartError(`schedule "${s.name}": ${got.problems.slice(0, 5).join("; ")}`);
    const record: WorkflowRecord = newWorkflowRecord({
      definition: got.definition,
      plan: got.plan,
      inputs: s.inputs,
      now: Date.now(),
      ...(idempotencyKey ? { idempotencyKey } : {}),
      ...(got.template ? { template: got.template } : {}),
    });
    record.labels = { ...record.labels, [SCHEDULE_LABEL]: s.name };
    return (await executor.start(record, got.plan)).id;
  };
}

/** Whether a workflow still runs, for the overlap policy. */
export async function workflowRunning(store: Store, id: string): Promise<boolean> {
  const [summary] = await store.summaries([id]);
  return summary !== undefined && !isTerminalWorkflow(summary.state);
}

export function scheduleToProto(s: ScheduleRecord, now = Date.now()): Schedule {
  const cron = parseCron(s.cron, s.timeZone);
  const next = s.paused || isCronProblem(cron) ? undefined : cron.next(Math.max(now, s.lastTick));
  return create(ScheduleSchema, {
    spec: {
      name: s.name,
      cron: s.cron,
      timeZone: s.timeZone,
      overlap: OVERLAP[s.overlap],
      catchUpWindow: msDuration(s.catchUpMs),
      target: "yaml" in s.target ? { case: "yaml", value: s.target.yaml } : { case: "template", value: { name: s.target.template, version: s.target.version } },
      inputs: toValueMap(s.inputs),
    },
    paused: s.paused,
    createdAt: ts(s.createdAt)!,
    ...(next !== undefined ? { nextRunAt: ts(next)! } : {}),
    ...(s.lastTick > s.createdAt ? { lastTickAt: ts(s.lastTick)! } : {}),
    lastWorkflowId: s.lastWorkflowId ?? "",
    ...(s.lastRunAt !== undefined ? { lastRunAt: ts(s.lastRunAt)! } : {}),
  });
}

function invalid(field: string, message: string): ConnectError {
  return new ConnectError(`schedule.${field}: ${message}`, Code.InvalidArgument);
}

/** A CreateSchedule request read into a record, or INVALID_ARGUMENT naming the field. */
async function readSpec(spec: ScheduleSpecProto | undefined, o: ScheduleRunsOptions, now: number): Promise<ScheduleRecord> {
  if (!spec) throw new ConnectError("schedule is required", Code.InvalidArgument);
  if (!NAME.test(spec.name)) throw invalid("name", `must be 1-128 letters, digits, "_", "-" or ".", got "${truncateId(spec.name)}"`);
  const cron = parseCron(spec.cron, spec.timeZone);
  if (isCronProblem(cron)) throw new ConnectError(`schedule.${cron.message}`, Code.InvalidArgument);
  const catchUpMs = spec.catchUpWindow ? durationMs(spec.catchUpWindow)! : DEFAULT_CATCH_UP_MS;
  if (catchUpMs < 0) throw invalid("catch_up_window", "must not be negative");
  const overlap = (Object.keys(OVERLAP) as Overlap[]).find((k) => OVERLAP[k] === spec.overlap) ?? "skip";
  let target: ScheduleTarget;
  if (spec.target.case === "yaml") target = { yaml: spec.target.value };
  else if (spec.target.case === "template") {
    if (!spec.target.value.name) throw invalid("template.name", "is required");
    if (spec.target.value.version < 0) throw invalid("template.version", "must not be negative");
    target = { template: spec.target.value.name, version: spec.target.value.version };
  } else throw invalid("target", "set template or yaml");
  // Checked now, so a schedule that could never run is refused at once.
  const got = await resolveTarget(o, target);
  if (!got.definition) throw invalid(spec.target.case, got.problems.slice(0, 20).join("; "));
  return { name: spec.name, cron: spec.cron, timeZone: spec.timeZone || "UTC", overlap, catchUpMs, target, inputs: fromValueMap(spec.inputs), createdAt: now, paused: false, lastTick: now };
}

type ScheduleMethods = Pick<
  ServiceImpl<typeof CoordinatorService>,
  "createSchedule" | "listSchedules" | "pauseSchedule" | "resumeSchedule" | "deleteSchedule" | "triggerSchedule"
>;

export interface ScheduleMethodsOptions extends ScheduleRunsOptions {
  /** Woken when a schedule changes here, so its ticks are planned at once. */
  scheduler?: Pick<Scheduler, "poke">;
}

export function scheduleMethods(o: ScheduleMethodsOptions): ScheduleMethods {
  const { store } = o;
  const run = createScheduleRuns(o);
  const notFound = (name: string) => new ConnectError(`schedule "${truncateId(name)}" not found`, Code.NotFound);
  return {
    async createSchedule(req) {
      const record = await readSpec(req.schedule, o, Date.now());
      if (!(await store.schedules.create(record))) throw new ConnectError(`schedule "${record.name}" already exists; delete it first to change it`, Code.AlreadyExists);
      o.scheduler?.poke();
      return { schedule: scheduleToProto(record) };
    },
    async listSchedules() {
      const now = Date.now();
      return { schedules: (await store.schedules.list()).map((s) => scheduleToProto(s, now)) };
    },
    async pauseSchedule(req) {
      const s = await store.schedules.setPaused(req.name, true, Date.now());
      if (!s) throw notFound(req.name);
      o.scheduler?.poke();
      return { schedule: scheduleToProto(s) };
    },
    async resumeSchedule(req) {
      const s = await store.schedules.setPaused(req.name, false, Date.now());
      if (!s) throw notFound(req.name);
      o.scheduler?.poke();
      return { schedule: scheduleToProto(s) };
    },
    async deleteSchedule(req) {
      if (!(await store.schedules.delete(req.name))) throw notFound(req.name);
      return {};
    },
    async triggerSchedule(req) {
      const s = await store.schedules.get(req.name);
      if (!s) throw notFound(req.name);
      let workflowId: string;
      try {
        workflowId = await run(s);
      } catch (err) {
        if (err instanceof CannotStartError) throw new ConnectError(err.message, Code.FailedPrecondition);
        throw err;
      }
      await store.schedules.advance(s.name, { createdAt: s.createdAt, run: { workflowId, at: Date.now() } });
      return { workflowId };
    },
  };
}

// `horus schedule add|list|pause|resume|delete|trigger`: cron schedules on
// the coordinator (CreateSchedule and the other schedule RPCs).
import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { CreateScheduleResponseSchema, ListSchedulesResponseSchema, OverlapPolicy, PauseScheduleResponseSchema, ResumeScheduleResponseSchema, TriggerScheduleResponseSchema, type Schedule } from "../../../gen/horus/coordinator/v1/schedule_pb.js";
import { msDuration, toValueMap, tsMs } from "../../common/json.js";
import { parseDuration } from "../../workflow/duration.js";
import { coordinatorClient } from "../client.js";
import { CliError } from "../errors.js";
import { collect } from "../flags.js";
import { globals } from "../globals.js";
import { print } from "../output.js";
import { collectInputs, readDefinition } from "../workflow-files.js";

const OVERLAPS: Record<string, OverlapPolicy> = { skip: OverlapPolicy.SKIP, allow: OverlapPolicy.ALLOW, "cancel-previous": OverlapPolicy.CANCEL_PREVIOUS };

function when(t: Parameters<typeof tsMs>[0]): string {
  const ms = tsMs(t);
  return ms === undefined ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

/** `NAME` or `NAME@VERSION`. */
function templateRef(text: string): { name: string; version: number } {
  const at = text.lastIndexOf("@");
  if (at < 0) return { name: text, version: 0 };
  const version = Number(text.slice(at + 1));
  if (!Number.isInteger(version) || version < 1) throw new CliError(`--template takes NAME or NAME@VERSION (a version from 1), got "${text}"`);
  return { name: text.slice(0, at), version };
}

function catchUp(text: string | undefined) {
  if (text === undefined) return {};
  const ms = text.trim() === "0" ? 0 : parseDuration(text);
  if (ms === undefined) throw new CliError(`--catch-up must be a duration like 10m or 0, got "${text}"`);
  return { catchUpWindow: msDuration(ms) };
}

function target(s: Schedule): string {
  const t = s.spec?.target;
  if (t?.case === "template") return `template ${t.value.name}${t.value.version ? `@${t.value.version}` : ""}`;
  return "inline definition";
}

function scheduleLine(s: Schedule): string {
  const spec = s.spec!;
  const state = s.paused ? "paused" : "active";
  const last = s.lastWorkflowId ? `${s.lastWorkflowId} at ${when(s.lastRunAt)}` : "-";
  return `${spec.name.padEnd(16)} ${state.padEnd(7)} ${spec.cron.padEnd(16)} ${spec.timeZone.padEnd(14)} next ${when(s.nextRunAt).padEnd(19)}  last ${last}`;
}

export function registerSchedule(program: Command): void {
  const client = () => coordinatorClient(globals(program).coordinator);
  const schedule = program.command("schedule").description("Cron schedules: start a template or a workflow file at each tick.");

  schedule
    .command("add")
    .description("Register a schedule that starts FILE (a workflow YAML) or --template at each tick of --cron.")
    .argument("<name>", "schedule name (letters, digits, _, - and .)")
    .argument("[file]", "workflow YAML to run (or give --template)")
    .requiredOption("--cron <expr>", 'cron expression: 5 fields, 6 with seconds first, or a nickname such as @daily (quote it: "*/5 * * * *")')
    .option("--tz <zone>", "IANA time zone the expression is read in", "UTC")
    .option("--overlap <policy>", "while the previous run still runs: skip, allow, or cancel-previous", "skip")
    .option("--catch-up <duration>", "ticks missed by at most this long fire on restart, each once; older ones are skipped except the newest (0: only the newest)", "60s")
    .option("--template <name[@version]>", "run this registered template (the latest version when none is given)")
    .option("--input <key=value>", "input of every run; the value is parsed as JSON when it is JSON (repeatable)", collect, [])
    .option("--inputs <file.json>", "inputs of every run from a JSON object file")
    .action(async (name: string, file: string | undefined, opts: { cron: string; tz: string; overlap: string; catchUp?: string; template?: string; input: string[]; inputs?: string }) => {
      if (file && opts.template) throw new CliError("give either a workflow file or --template, not both");
      if (!file && !opts.template) throw new CliError("give a workflow file or --template NAME[@VERSION]");
      const overlap = OVERLAPS[opts.overlap];
      if (overlap === undefined) throw new CliError(`--overlap takes skip, allow or cancel-previous, got "${opts.overlap}"`);
      const inputs = await collectInputs(opts.input, opts.inputs);
      const res = await client().createSchedule({
        schedule: {
          name,
          cron: opts.cron,
          timeZone: opts.tz,
          overlap,
          ...catchUp(opts.catchUp),
          target: opts.template ? { case: "template", value: templateRef(opts.template) } : { case: "yaml", value: await readDefinition(file!) },
          inputs: toValueMap(inputs),
        },
      });
      if (globals(program).json) return print(JSON.stringify(toJson(CreateScheduleResponseSchema, res), null, 2));
      const s = res.schedule!;
      print(`schedule ${name} created: ${target(s)} at "${s.spec!.cron}" (${s.spec!.timeZone}), next run ${when(s.nextRunAt)} UTC`);
    });

  schedule
    .command("list")
    .description("List schedules with their next and last runs.")
    .action(async () => {
      const res = await client().listSchedules({});
      if (globals(program).json) return print(JSON.stringify(toJson(ListSchedulesResponseSchema, res), null, 2));
      if (res.schedules.length === 0) return print("no schedules");
      for (const s of res.schedules) print(scheduleLine(s));
    });

  schedule
    .command("pause")
    .description("Stop a schedule's ticks until it is resumed.")
    .argument("<name>")
    .action(async (name: string) => {
      const res = await client().pauseSchedule({ name });
      if (globals(program).json) return print(JSON.stringify(toJson(PauseScheduleResponseSchema, res), null, 2));
      print(`schedule ${name} paused`);
    });

  schedule
    .command("resume")
    .description("Start a paused schedule's ticks again from now (ticks missed while paused do not run).")
    .argument("<name>")
    .action(async (name: string) => {
      const res = await client().resumeSchedule({ name });
      if (globals(program).json) return print(JSON.stringify(toJson(ResumeScheduleResponseSchema, res), null, 2));
      print(`schedule ${name} resumed, next run ${when(res.schedule?.nextRunAt)} UTC`);
    });

  schedule
    .command("delete")
    .description("Remove a schedule; runs it started go on.")
    .argument("<name>")
    .action(async (name: string) => {
      await client().deleteSchedule({ name });
      if (globals(program).json) return print(JSON.stringify({ deleted: name }));
      print(`schedule ${name} deleted`);
    });

  schedule
    .command("trigger")
    .description("Start a run of the schedule now, whatever its overlap policy or pause.")
    .argument("<name>")
    .action(async (name: string) => {
      const res = await client().triggerSchedule({ name });
      if (globals(program).json) return print(JSON.stringify(toJson(TriggerScheduleResponseSchema, res), null, 2));
      print(res.workflowId);
    });
}

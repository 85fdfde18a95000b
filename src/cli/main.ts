#!/usr/bin/env node
// `horus`: run a coordinator or supervisor, or talk to a coordinator.
// Each command lives in commands/<name>.ts and registers itself on the
// program; this file lists them (in `--help` order) and turns every failure
// into one line on stderr and a non-zero exit, never a stack trace.
import { Command } from "commander";
import { describeError } from "./client.js";
import { CliError } from "./errors.js";
import { globals, registerGlobals } from "./globals.js";
import { print } from "./output.js";
import { registerCancel } from "./commands/cancel.js";
import { registerCompletion } from "./commands/completion.js";
import { registerCoordinator } from "./commands/coordinator.js";
import { registerList } from "./commands/list.js";
import { registerLogs } from "./commands/logs.js";
import { registerRetry } from "./commands/retry.js";
import { registerRun } from "./commands/run.js";
import { registerSchedule } from "./commands/schedule.js";
import { registerStatus } from "./commands/status.js";
import { registerSubmit } from "./commands/submit.js";
import { registerSupervisor } from "./commands/supervisor.js";
import { registerSupervisors } from "./commands/supervisors.js";
import { registerTemplate } from "./commands/template.js";
import { registerValidate } from "./commands/validate.js";
import { asksForVersion, packageVersion, registerVersion } from "./commands/version.js";
import { registerWatch } from "./commands/watch.js";

const program = new Command();
registerGlobals(program);
registerVersion(program);
registerCoordinator(program);
registerSupervisor(program);
registerSupervisors(program);
registerRun(program);
registerWatch(program);
registerSubmit(program);
registerStatus(program);
registerList(program);
registerCancel(program);
registerRetry(program);
registerTemplate(program);
registerLogs(program);
registerValidate(program);
registerSchedule(program);
registerCompletion(program);

async function main(): Promise<void> {
  if (asksForVersion(process.argv)) return print(packageVersion());
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      // commander already printed help or the usage error.
      const helpish = code === "commander.helpDisplayed" || code === "commander.help" || code === "commander.version";
      process.exitCode = helpish ? 0 : 2;
      return;
    }
    process.stderr.write(`horus: ${describeError(err, globals(program).coordinator)}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 2;
  }
}

await main();

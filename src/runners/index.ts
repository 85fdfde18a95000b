// The runners every supervisor offers out of the box.
import { createJsRunner, type JsRunnerOptions } from "./js/runner.js";
import { createNoopRunner } from "./noop.js";
import { createShellRunner, type ShellRunnerOptions } from "./shell.js";
import type { Runner } from "./types.js";

export * from "./types.js";
export { createJsRunner, type JsRunnerOptions } from "./js/runner.js";
export { createShellRunner, type ShellRunnerOptions } from "./shell.js";
export { createNoopRunner } from "./noop.js";

export interface BuiltinRunnerOptions {
  js?: JsRunnerOptions;
  shell?: ShellRunnerOptions;
}

/** The js, shell and noop runners, keyed by name. */
export function builtinRunners(options: BuiltinRunnerOptions = {}): Map<string, Runner> {
  return new Map<string, Runner>([
    ["js", createJsRunner(options.js)],
    ["shell", createShellRunner(options.shell)],
    ["noop", createNoopRunner()],
  ]);
}

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
  /**
   * Names of the supervisor's environment variables that js and shell steps
   * also get (`--inherit-env NAME`); see env.ts for the rest of their
   * environment. Overridden by the same option of `js` or `shell`.
   */
  inheritEnv?: readonly string[];
}

/** The js, shell and noop runners, keyed by name. */
export function builtinRunners(options: BuiltinRunnerOptions = {}): Map<string, Runner> {
  const inheritEnv = options.inheritEnv ? { inheritEnv: options.inheritEnv } : {};
  return new Map<string, Runner>([
    ["js", createJsRunner({ ...inheritEnv, ...options.js })],
    ["shell", createShellRunner({ ...inheritEnv, ...options.shell })],
    ["noop", createNoopRunner()],
  ]);
}

// `horus --version` (or -V, as the first argument): the version of the package this CLI ships in.
// Not a commander option: program options are recognised after the command
// too, and `template get NAME --version N` has its own --version.
import { readFileSync } from "node:fs";
import type { Command } from "commander";

/** The package's version from its package.json, four levels above the compiled file (dist/src/cli/commands/). */
export function packageVersion(): string {
  const text = readFileSync(new URL("../../../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

/** Whether the command line asks for the version: `horus --version` or `horus -V`. */
export function asksForVersion(argv: readonly string[]): boolean {
  return argv[2] === "--version" || argv[2] === "-V";
}

/** Lists --version in `horus --help` (main answers it before parsing, see asksForVersion). */
export function registerVersion(program: Command): void {
  program.addHelpText("after", "\n  -V, --version   print the version and exit\n");
}

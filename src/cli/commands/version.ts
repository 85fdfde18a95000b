// `horus --version` (and -V): the version of the package this CLI ships in.
import { readFileSync } from "node:fs";
import type { Command } from "commander";

/** The package's version from its package.json, four levels above the compiled file (dist/src/cli/commands/). */
export function packageVersion(): string {
  const text = readFileSync(new URL("../../../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

export function registerVersion(program: Command): void {
  program.version(packageVersion(), "-V, --version", "print the version and exit");
}

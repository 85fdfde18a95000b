// The options every `horus` command shares (--coordinator, --json,
// --token-file, --ca-file), declared on the program and read by commands.
import type { Command } from "commander";
import { styleFor } from "./colour.js";

export interface Globals {
  coordinator: string;
  json: boolean;
  tokenFile?: string;
  caFile?: string;
}

const DEFAULT_COORDINATOR = process.env.HORUS_COORDINATOR || "http://localhost:9090";

/** Names the program and declares the shared options. */
export function registerGlobals(program: Command): void {
  program
    .name("horus")
    .description("Horus Coordinator: run DAG workflows on supervisors and runners.")
    .option("--coordinator <url>", "coordinator to talk to (env HORUS_COORDINATOR)", DEFAULT_COORDINATOR)
    .option("--json", "print machine-readable JSON", false)
    .option("--token-file <file>", "clients: the bearer token to send (first line; env HORUS_TOKEN holds the token itself); coordinator and supervisor: the accepted tokens, `TOKEN [ROLE]` per line (env HORUS_TOKENS)")
    .option("--ca-file <file>", "PEM CA certificates to trust for https:// URLs (env HORUS_CA_FILE)")
    .showHelpAfterError("(run `horus --help` for usage)")
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  // The client commands read the token and CA through the environment (client.ts).
  program.hook("preAction", () => {
    const g = globals(program);
    if (g.tokenFile) process.env.HORUS_TOKEN_FILE = g.tokenFile;
    if (g.caFile) process.env.HORUS_CA_FILE = g.caFile;
  });
}

export function globals(program: Command): Globals {
  return program.opts<Globals>();
}

/** How `run`, `watch` and `retry` follow a workflow: live on a terminal, in colour unless NO_COLOR. */
export function followOptions(program: Command) {
  const { json } = globals(program);
  return { live: !json && process.stdout.isTTY === true, json, out: process.stdout, style: styleFor(process.stdout) };
}

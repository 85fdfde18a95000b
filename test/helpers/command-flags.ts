// What commander hands a server command's action, without a process: the
// command line goes through the command's own definition (so defaults and
// HORUS_* variables apply as they do for a user), its action replaced. For
// the table tests of the pure flag mappings (test/cli/*-flags.test.ts).
import { Command } from "commander";
import { registerGlobals } from "../../src/cli/globals.js";

/** The variables commander reads for the server commands: unset unless a case sets them. */
const UNSET = { HORUS_REDIS_URL: undefined, HORUS_ALLOWED_HOSTS: undefined };

function setEnv(env: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/** The flags the `name` command (added by `register`) gets for `horus name ...args`, with `given` in the environment meanwhile. */
export async function commandFlags<F>(register: (program: Command) => void, name: string, args: string[], given: Record<string, string> = {}): Promise<F> {
  const env: Record<string, string | undefined> = { ...UNSET, ...given };
  const program = new Command();
  registerGlobals(program);
  register(program);
  let flags: F | undefined;
  program.commands
    .find((c) => c.name() === name)!
    .action((opts: F) => {
      flags = opts;
    });
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  setEnv(env);
  try {
    await program.parseAsync([name, ...args], { from: "user" });
  } finally {
    setEnv(saved);
  }
  return flags!;
}

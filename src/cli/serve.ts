// Running a server command (`horus coordinator`, `horus supervisor`) until a
// signal: say where it listens, then close it gracefully.
import type { Logger } from "../common/logger.js";
import { CliError } from "./errors.js";

/** Starts a server, says where it listens, and closes it gracefully on SIGTERM or SIGINT. */
export async function serve(what: string, logger: Logger, start: () => Promise<{ url: string; name?: string; close(): Promise<void> }>, note?: (url: string) => string): Promise<void> {
  const running = await start().catch((err) => {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot start the ${what}: ${(err as Error).message}`);
  });
  process.stderr.write(`horus ${what}${running.name ? ` ${running.name}` : ""} listening on ${running.url}\n`);
  if (note) process.stderr.write(`${note(running.url)}\n`);
  await untilSignal(async () => {
    logger.info("shutting down");
    await running.close();
  });
}

/** Runs `stop` on SIGTERM or SIGINT, then exits 0; a second signal exits at once. */
function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) process.exit(sig === "SIGINT" ? 130 : 143);
      stopping = true;
      stop().then(
        () => resolve(),
        (err) => {
          process.stderr.write(`error during shutdown: ${(err as Error).message}\n`);
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

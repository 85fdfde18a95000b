// The CLI's connection to a coordinator: the typed Node client from clients/.
import { Code, ConnectError } from "@connectrpc/connect";
import { createCoordinatorClient, type CoordinatorClient } from "../../clients/node/index.js";

export type { CoordinatorClient };

export function coordinatorClient(baseUrl: string): CoordinatorClient {
  return createCoordinatorClient(baseUrl);
}

/** A user-facing problem: printed as one line, exit code 2. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** Turns any failure into one line a person can act on. */
export function describeError(err: unknown, coordinator: string): string {
  if (err instanceof CliError) return err.message;
  if (err instanceof ConnectError) {
    if (err.code === Code.Unavailable || err.code === Code.Unknown && /ECONNREFUSED|ENOTFOUND|fetch failed/.test(err.rawMessage)) {
      return `cannot reach the coordinator at ${coordinator}: ${err.rawMessage} (start one with \`horus coordinator\` or pass --coordinator URL)`;
    }
    return `${Code[err.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}: ${err.rawMessage}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

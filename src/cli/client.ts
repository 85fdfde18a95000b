// The CLI's connection to a coordinator: the generated client over Connect.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";

export type CoordinatorClient = Client<typeof CoordinatorService>;

export function coordinatorClient(baseUrl: string): CoordinatorClient {
  return createClient(CoordinatorService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
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

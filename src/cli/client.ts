// The CLI's connection to a coordinator: the generated client over Connect
// (HTTP/1.1), with the client contract's token interceptor and read limits.
// Unlike horus-client-node it keeps google.protobuf.Value messages, which the
// CLI's formatting reads (and it ships inside this package, which does not
// depend on the client packages).
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { readFileSync } from "node:fs";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { bearerToken } from "../../clients/api/src/token.js";
import { BINARY_READ_OPTIONS, JSON_READ_OPTIONS } from "../common/depth.js";
import { STORE_UNAVAILABLE_HEADER } from "../common/store-unavailable.js";
import { readSingleToken } from "../server/auth.js";
import { CliError } from "./errors.js";

export { CliError };

export type CoordinatorClient = Client<typeof CoordinatorService>;

/**
 * The token from HORUS_TOKEN, else the first line of HORUS_TOKEN_FILE
 * (--token-file); the CA from HORUS_CA_FILE (--ca-file).
 */
export function coordinatorClient(coordinator: string): CoordinatorClient {
  const baseUrl = coordinatorUrl(coordinator);
  const tokenFile = process.env.HORUS_TOKEN_FILE;
  const token = process.env.HORUS_TOKEN?.trim() || (tokenFile ? readToken(tokenFile) : undefined);
  const caFile = process.env.HORUS_CA_FILE;
  let ca: Buffer | undefined;
  if (caFile) {
    try {
      ca = readFileSync(caFile);
    } catch (err) {
      throw new CliError(`cannot read the CA file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    interceptors: token ? [bearerToken(token)] : [],
    binaryOptions: BINARY_READ_OPTIONS,
    jsonOptions: JSON_READ_OPTIONS,
    ...(ca ? { nodeOptions: { ca } } : {}),
  });
  return createClient(CoordinatorService, transport);
}

/**
 * The base URL of a --coordinator value: a bare `host:port` (or `host`) means
 * http://, as the default http://localhost:9090 does; a URL is kept as given.
 */
export function coordinatorUrl(text: string): string {
  const value = text.trim();
  const url = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value) ? value : `http://${value}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--coordinator must be a URL like http://localhost:9090 (or host:port), got "${text}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CliError(`--coordinator must be an http:// or https:// URL, got "${text}"`);
  }
  return url;
}

function readToken(file: string): string {
  try {
    return readSingleToken(file);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** Turns any failure into one line a person can act on. */
export function describeError(err: unknown, coordinator: string): string {
  if (err instanceof CliError) return err.message;
  if (err instanceof ConnectError) {
    if (err.code === Code.Unavailable && err.metadata.has(STORE_UNAVAILABLE_HEADER)) {
      return `the coordinator at ${coordinator} is up, but its store is unavailable: ${err.rawMessage.replace(/^the coordinator's store is unavailable: /, "")} (check its Redis; retry once it is back)`;
    }
    if (err.code === Code.Unavailable || err.code === Code.Unknown && /ECONNREFUSED|ENOTFOUND|fetch failed/.test(err.rawMessage)) {
      return `cannot reach the coordinator at ${coordinator}: ${err.rawMessage} (start one with \`horus coordinator\` or pass --coordinator URL)`;
    }
    if (err.code === Code.Unauthenticated) return `UNAUTHENTICATED: ${err.rawMessage} (set HORUS_TOKEN or pass --token-file FILE)`;
    return `${Code[err.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}: ${err.rawMessage}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

// horus-client-node: a typed Node client for the coordinator, over Connect
// (HTTP/1.1, JSON) or gRPC (HTTP/2), with a bearer token and a watch helper
// that reconnects and resumes from the last cursor. Workflow inputs and step
// outputs are plain JSON (see horus-api's createPlainClient).
import type { Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { BINARY_READ_OPTIONS, CoordinatorService, JSON_READ_OPTIONS, bearerToken, createPlainClient, type PlainClient, type TokenSource } from "horus-api";

/** The coordinator's CoordinatorService, speaking plain JSON for inputs and outputs. */
export type CoordinatorClient = PlainClient<typeof CoordinatorService>;

export interface CoordinatorClientOptions {
  /** Sent as `Authorization: Bearer <token>` on every call: a string, or a function asked per call. */
  token?: TokenSource;
  /** "connect" (default; JSON over HTTP/1.1, proxy friendly) or "grpc" (binary over HTTP/2). */
  protocol?: "connect" | "grpc";
  /** More interceptors, run after the token's. */
  interceptors?: Interceptor[];
  /** PEM CA certificates to trust for an https:// baseUrl (e.g. a self-signed coordinator). */
  ca?: string | Buffer;
}

/** createCoordinatorClient("http://localhost:9090", { token }).submitWorkflow({...}) */
export function createCoordinatorClient(baseUrl: string, options: CoordinatorClientOptions = {}): CoordinatorClient {
  const interceptors = [...(options.token ? [bearerToken(options.token)] : []), ...(options.interceptors ?? [])];
  const common = { baseUrl, interceptors, binaryOptions: BINARY_READ_OPTIONS, jsonOptions: JSON_READ_OPTIONS, ...(options.ca ? { nodeOptions: { ca: options.ca } } : {}) };
  const transport = options.protocol === "grpc" ? createGrpcTransport(common) : createConnectTransport({ ...common, httpVersion: "1.1" });
  return createPlainClient(CoordinatorService, transport);
}

export * from "horus-api";

// horus-client-web: a typed browser client for the coordinator, over Connect
// (JSON via fetch, through any proxy) or gRPC-web, with a bearer token and a
// watch helper that reconnects and resumes from the last cursor. Workflow
// inputs and step outputs are plain JSON. No Node built-ins: it bundles as
// it is. A page on another origin needs the coordinator to allow it:
// `horus coordinator --cors-origin https://app.example.com`.
import type { Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { BINARY_READ_OPTIONS, CoordinatorService, JSON_READ_OPTIONS, bearerToken, createPlainClient, type PlainClient, type TokenSource } from "horus-api";

/** The coordinator's CoordinatorService, speaking plain JSON for inputs and outputs. */
export type CoordinatorClient = PlainClient<typeof CoordinatorService>;

export interface CoordinatorClientOptions {
  /** Sent as `Authorization: Bearer <token>` on every call: a string, or a function asked per call. */
  token?: TokenSource;
  /** "connect" (default) or "grpc-web". */
  protocol?: "connect" | "grpc-web";
  /** Binary protobuf instead of JSON on the wire (default: JSON for Connect, always binary for gRPC-web). */
  useBinaryFormat?: boolean;
  /** More interceptors, run after the token's. */
  interceptors?: Interceptor[];
}

/** createCoordinatorClient("https://horus.example.com", { token }).submitWorkflow({...}) */
export function createCoordinatorClient(baseUrl: string, options: CoordinatorClientOptions = {}): CoordinatorClient {
  const interceptors = [...(options.token ? [bearerToken(options.token)] : []), ...(options.interceptors ?? [])];
  // Deep step outputs stay readable (see horus-api's read limits).
  const common = { baseUrl, interceptors, binaryOptions: BINARY_READ_OPTIONS, jsonOptions: JSON_READ_OPTIONS };
  const transport =
    options.protocol === "grpc-web"
      ? createGrpcWebTransport(common)
      : createConnectTransport({ ...common, ...(options.useBinaryFormat ? { useBinaryFormat: true } : {}) });
  return createPlainClient(CoordinatorService, transport);
}

export * from "horus-api";

// A typed Node client for the coordinator: the generated CoordinatorService
// client over Connect (HTTP/1.1) or gRPC (HTTP/2), with a bearer token and a
// watch helper that reconnects and resumes from the last cursor.
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { BINARY_READ_OPTIONS, JSON_READ_OPTIONS } from "../../src/common/depth.js";
import { bearerToken, type TokenSource } from "../common/watch.js";

export type CoordinatorClient = Client<typeof CoordinatorService>;

export interface CoordinatorClientOptions {
  /** Sent as `Authorization: Bearer <token>` on every call (for a gateway or proxy in front). */
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
  const nodeOptions = { binaryOptions: BINARY_READ_OPTIONS, jsonOptions: JSON_READ_OPTIONS, ...(options.ca ? { nodeOptions: { ca: options.ca } } : {}) };
  const transport =
    options.protocol === "grpc"
      ? createGrpcTransport({ baseUrl, interceptors, ...nodeOptions })
      : createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors, ...nodeOptions });
  return createClient(CoordinatorService, transport);
}

export { CoordinatorService };
export { watchWorkflow, isFinal, type WatchOptions, type TokenSource } from "../common/watch.js";
export * from "../../gen/horus/coordinator/v1/coordinator_pb.js";
export * from "../../gen/horus/coordinator/v1/workflow_pb.js";

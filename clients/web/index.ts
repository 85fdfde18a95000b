// A typed browser client for the coordinator, over Connect (JSON, HTTP/1.1 or
// 2, through any proxy) or gRPC-web, with a bearer token and a watch helper
// that reconnects and resumes from the last cursor. The coordinator must
// allow the page's origin: `horus coordinator --cors-origin https://app.example.com`.
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { BINARY_READ_OPTIONS, JSON_READ_OPTIONS } from "../../src/common/depth.js";

/** Deep step outputs stay readable (see src/common/depth.ts). */
const READ = { binaryOptions: BINARY_READ_OPTIONS, jsonOptions: JSON_READ_OPTIONS };
import { bearerToken, type TokenSource } from "../common/watch.js";

export type CoordinatorClient = Client<typeof CoordinatorService>;

export interface CoordinatorClientOptions {
  /** Sent as `Authorization: Bearer <token>` on every call. */
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
  const transport =
    options.protocol === "grpc-web"
      ? createGrpcWebTransport({ baseUrl, interceptors, ...READ })
      : createConnectTransport({ baseUrl, interceptors, ...READ, ...(options.useBinaryFormat ? { useBinaryFormat: true } : {}) });
  return createClient(CoordinatorService, transport);
}

export { CoordinatorService };
export { watchWorkflow, isFinal, type WatchOptions, type TokenSource } from "../common/watch.js";
export * from "../../gen/horus/coordinator/v1/coordinator_pb.js";
export * from "../../gen/horus/coordinator/v1/workflow_pb.js";

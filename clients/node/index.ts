// A typed Node client for the coordinator: the generated CoordinatorService
// client over Connect. Issue-tracker work extends it (tokens, resuming watch).
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";

export type CoordinatorClient = Client<typeof CoordinatorService>;

export interface CoordinatorClientOptions {
  /** "connect" (default; JSON over HTTP/1.1, proxy friendly) or "grpc" (binary over HTTP/2). */
  protocol?: "connect" | "grpc";
}

/** createCoordinatorClient("http://localhost:9090").submitWorkflow({...}) */
export function createCoordinatorClient(baseUrl: string, options: CoordinatorClientOptions = {}): CoordinatorClient {
  const transport = options.protocol === "grpc" ? createGrpcTransport({ baseUrl }) : createConnectTransport({ baseUrl, httpVersion: "1.1" });
  return createClient(CoordinatorService, transport);
}

export { CoordinatorService };
export * from "../../gen/horus/coordinator/v1/coordinator_pb.js";
export * from "../../gen/horus/coordinator/v1/workflow_pb.js";

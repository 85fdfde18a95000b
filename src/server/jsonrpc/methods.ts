// JSON-RPC method names, derived from the service descriptor: snake_case of
// each RPC (SubmitWorkflow -> submit_workflow), except where the seed's
// OpenRPC API named a method differently and clients depend on that name.
import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";

/** Seed names that are not plain snake_case of the RPC, by RPC name. */
export const SEED_NAMES: Readonly<Record<string, string>> = {
  GetWorkflow: "get_workflow_status",
};

export interface BridgeMethod {
  /** The JSON-RPC method name. */
  name: string;
  method: DescMethod;
  /** Server streaming: a subscription over /rpc/ws, collected into one result over POST /rpc. */
  streaming: boolean;
}

export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z])([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

/** Every unary and server-streaming method of `service`, by JSON-RPC name. */
export function bridgeMethods(service: DescService, names: Readonly<Record<string, string>> = SEED_NAMES): Map<string, BridgeMethod> {
  const out = new Map<string, BridgeMethod>();
  for (const method of service.methods) {
    // Client and bidi streams have no natural JSON-RPC shape; the coordinator has none.
    if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") continue;
    const name = names[method.name] ?? snakeCase(method.name);
    out.set(name, { name, method, streaming: method.methodKind === "server_streaming" });
  }
  return out;
}

/**
 * The messages of a stream as one result over a transport that cannot push:
 * a response whose fields are all repeated (GetWorkflowLogsResponse: lines)
 * is merged into one message, so get_workflow_logs answers {lines: [...]} as
 * the seed did; any other kind of message is returned as an array.
 */
export function mergeable(schema: DescMessage): boolean {
  return schema.fields.length > 0 && schema.fields.every((f) => f.fieldKind === "list");
}

// Starts real coordinators on port 0 and builds clients over each protocol.
import type { ChildProcess } from "node:child_process";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowState, type Workflow } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from "../../src/coordinator/app.js";
import { fromValue, toValueMap, type JsonValue } from "../../src/common/json.js";
import { isTerminalWorkflow, stepStateName } from "../../src/engine/states.js";
import type { Plain, PlainClient } from "horus-api";
import { horusServer } from "./cli.js";

export type CoordinatorClient = Client<typeof CoordinatorService>;

export const PROTOCOLS = {
  "connect+json over HTTP/1.1": (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  "connect+binary over HTTP/1.1": (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  "connect+binary over h2c": (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
  "grpc over h2c": (baseUrl: string) => createGrpcTransport({ baseUrl }),
  "grpc-web over HTTP/1.1": (baseUrl: string) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  "grpc-web over h2c": (baseUrl: string) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
} satisfies Record<string, (baseUrl: string) => Transport>;

export async function coordinator(options: CoordinatorOptions = {}): Promise<{ running: RunningCoordinator; client: CoordinatorClient }> {
  const running = await startCoordinator({ port: 0, ...options });
  const client = createClient(CoordinatorService, PROTOCOLS["connect+json over HTTP/1.1"](running.url));
  return { running, client };
}

/** Submits YAML and waits for the workflow to end; returns the final state. */
export async function runYaml(client: CoordinatorClient, yaml: string, inputs: Record<string, JsonValue> = {}, timeoutMs?: number): Promise<Workflow> {
  const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, inputs: toValueMap(inputs) });
  return waitForEnd(client, workflowId, timeoutMs);
}

/** Waits for the workflow to end; returns its final state (plain JSON outputs when given a plain client, e.g. horus-client-node's). */
export async function waitForEnd(client: CoordinatorClient, workflowId: string, timeoutMs?: number): Promise<Workflow>;
export async function waitForEnd(client: PlainClient<typeof CoordinatorService>, workflowId: string, timeoutMs?: number): Promise<Plain<Workflow>>;
export async function waitForEnd(anyClient: CoordinatorClient | PlainClient<typeof CoordinatorService>, workflowId: string, timeoutMs = 20_000): Promise<Workflow | Plain<Workflow>> {
  // Both read the same fields here; only the Value fields differ.
  const client = anyClient as CoordinatorClient;
  const deadline = Date.now() + timeoutMs;
  for await (const msg of client.watchWorkflow({ workflowId }, { timeoutMs })) {
    if (msg.kind.case === "event" && msg.kind.value.kind.case === "workflow" && isTerminalWorkflow(msg.kind.value.kind.value.state)) break;
    if (msg.kind.case === "snapshot" && isTerminalWorkflow(msg.kind.value.state)) break;
    if (Date.now() > deadline) break;
  }
  const { workflow } = await client.getWorkflow({ workflowId });
  return workflow!;
}

export function outputs(wf: Workflow): Record<string, JsonValue> {
  return Object.fromEntries(wf.steps.map((s) => [s.id, fromValue(s.output)]));
}

export function stepStates(wf: Workflow): Record<string, string> {
  return Object.fromEntries(wf.steps.map((s) => [s.id, stepStateName(s.state)]));
}

export { WorkflowState };

/** A `horus coordinator` (or other serving command) process, with a client over h2c. */
export interface CoordinatorProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  client: CoordinatorClient;
}

/** Starts `horus ARGS` and connects a client once it listens. */
export async function coordinatorProcess(args: string[]): Promise<CoordinatorProcess> {
  const p = await horusServer(args);
  return { ...p, client: createClient(CoordinatorService, PROTOCOLS["connect+binary over h2c"](p.url)) };
}

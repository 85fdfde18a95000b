// Bundled into the page of grpc-web-browser.test.ts: Google's grpc-web
// client (the npm package grpc-web, no generated code: a MethodDescriptor per
// method with protobuf-es doing the bytes) calling the coordinator.
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { GrpcWebClientBase, MethodDescriptor, MethodType, type RpcError } from "grpc-web";
import {
  SubmitWorkflowRequestSchema,
  SubmitWorkflowResponseSchema,
  WatchWorkflowRequestSchema,
  WatchWorkflowResponseSchema,
} from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowState } from "../../gen/horus/coordinator/v1/workflow_pb.js";

const SERVICE = "/horus.coordinator.v1.CoordinatorService/";

function method<I extends DescMessage, O extends DescMessage>(name: string, kind: string, input: I, output: O) {
  type Ctor<T> = new (...args: unknown[]) => T;
  return new MethodDescriptor<MessageShape<I>, MessageShape<O>>(
    SERVICE + name,
    kind,
    Object as unknown as Ctor<MessageShape<I>>,
    Object as unknown as Ctor<MessageShape<O>>,
    (m: MessageShape<I>) => toBinary(input, m),
    (b: Uint8Array) => fromBinary(output, b),
  );
}

const submit = method("SubmitWorkflow", MethodType.UNARY, SubmitWorkflowRequestSchema, SubmitWorkflowResponseSchema);
const watch = method("WatchWorkflow", MethodType.SERVER_STREAMING, WatchWorkflowRequestSchema, WatchWorkflowResponseSchema);
const nothing = method("NoSuchMethod", MethodType.UNARY, SubmitWorkflowRequestSchema, SubmitWorkflowResponseSchema);

/** A unary call; rpcCall is the callback form every grpc-web release exports. */
function unary<I, O>(client: GrpcWebClientBase, url: string, req: I, desc: MethodDescriptor<I, O>): Promise<O> {
  return new Promise((resolve, reject) => {
    client.rpcCall(url, req, {}, desc, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Submits `yaml`, watches the workflow to its end; format "text" (grpc-web's default) or "binary". */
async function runGrpcWeb(baseUrl: string, format: string, yaml: string) {
  const client = new GrpcWebClientBase({ format });
  const { workflowId } = await unary(client, baseUrl + submit.getName(), create(SubmitWorkflowRequestSchema, { definition: { case: "yaml", value: yaml } }), submit);
  const seen: string[] = [];
  const status = await new Promise<{ code: number; details: string }>((resolve, reject) => {
    const stream = client.serverStreaming(baseUrl + watch.getName(), create(WatchWorkflowRequestSchema, { workflowId }), {}, watch);
    stream.on("data", (m) => {
      if (m.kind.case === "snapshot") seen.push(`snapshot ${WorkflowState[m.kind.value.state]}`);
      else if (m.kind.case === "event" && m.kind.value.kind.case === "workflow") seen.push(`workflow ${WorkflowState[m.kind.value.kind.value.state]}`);
      else if (m.kind.case === "event") seen.push(`event ${m.kind.value.kind.case}`);
    });
    stream.on("status", (s) => resolve({ code: s.code, details: s.details }));
    stream.on("error", (e: RpcError) => reject(new Error(`watch failed: ${e.code} ${e.message}`)));
  });
  const unknown = await unary(client, baseUrl + nothing.getName(), create(SubmitWorkflowRequestSchema), nothing).then(
    () => ({ code: 0, message: "" }),
    (e: RpcError) => ({ code: e.code, message: e.message }),
  );
  return { workflowId, seen, status, unknown };
}

(globalThis as { runGrpcWeb?: typeof runGrpcWeb }).runGrpcWeb = runGrpcWeb;

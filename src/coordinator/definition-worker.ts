// The worker thread of definition-pool.ts: reads and validates one
// definition at a time, off the coordinator's event loop. The yaml package
// takes about a second per megabyte, and decoding a request of 100,000 steps
// (protobuf binary or JSON) most of a second: on the main thread either held
// every other request up.
import { create, fromBinary, fromJsonString, toBinary, toJsonString, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parentPort, workerData } from "node:worker_threads";
import {
  RegisterWorkflowTemplateRequestSchema,
  RunWorkflowRequestSchema,
  SubmitWorkflowRequestSchema,
  ValidateWorkflowRequestSchema,
  type RunWorkflowRequest,
  type SubmitWorkflowRequest,
} from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowSpecSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { BINARY_READ_OPTIONS, JSON_READ_OPTIONS } from "../common/depth.js";
import { createRequestValidation } from "../server/validation.js";
import { DEFAULT_LIMITS, type Problem, type ValidationLimits, type WorkflowDefinition } from "../workflow/definition.js";
import { checkDefinition, type Definition } from "./check-definition.js";

/** The request methods whose messages a worker decodes, by method name. */
export const REQUEST_SCHEMAS = {
  SubmitWorkflow: SubmitWorkflowRequestSchema,
  ValidateWorkflow: ValidateWorkflowRequestSchema,
  RegisterWorkflowTemplate: RegisterWorkflowTemplateRequestSchema,
  RunWorkflow: RunWorkflowRequestSchema,
} as const;
export type DefinitionMethod = keyof typeof REQUEST_SCHEMAS;

export type DefinitionJob =
  | { id: number; kind: "yaml"; yaml: string; limits: Partial<ValidationLimits> }
  | {
      id: number;
      /** A whole request message of one of REQUEST_SCHEMAS, as the client encoded it. */
      kind: "request";
      method: DefinitionMethod;
      format: "binary" | "json";
      bytes: Uint8Array;
      limits: Partial<ValidationLimits>;
    };

/** A ConnectError that can cross threads (details as their type name and binary). */
export interface RequestError {
  code: Code;
  message: string;
  details: Array<{ type: string; value: Uint8Array }>;
}

export interface DefinitionReply {
  id: number;
  problems: Problem[];
  /**
   * The parsed definition. Left out when it is invalid and has more steps
   * than the limit: a definition refused for its size is not worth copying
   * back to the main thread, which would then spend the time saved here.
   */
  definition?: WorkflowDefinition;
  /**
   * Request jobs: the request without its definition, encoded as it came,
   * for Connect to decode on the main thread in its place (cheap: the
   * definition is what was large).
   */
  message?: Uint8Array;
  /** Request jobs: why the request is refused before its definition is looked at (it does not decode, or breaks its constraints). */
  error?: RequestError;
}

/** Steps of a definition with its inline children, up to `stop` (counting further tells nothing). */
export function countSteps(def: WorkflowDefinition, stop: number): number {
  let n = 0;
  const stack = [def];
  while (stack.length > 0 && n <= stop) {
    const d = stack.pop()!;
    n += d.steps.length + (d.onFailure?.length ?? 0);
    for (const s of [...d.steps, ...(d.onFailure ?? [])]) if (s.workflow && "inline" in s.workflow) stack.push(s.workflow.inline);
  }
  return n;
}

/** checkDefinition, keeping only what is worth copying back. */
function check(definition: Definition, limits: Partial<ValidationLimits>): Pick<DefinitionReply, "problems" | "definition"> {
  const checked = checkDefinition(definition, limits);
  const parsed = checked.parsed.definition;
  const maxSteps = limits.maxSteps ?? DEFAULT_LIMITS.maxSteps;
  if (!parsed || (checked.problems.length > 0 && countSteps(parsed, maxSteps) > maxSteps)) return { problems: checked.problems };
  return { problems: checked.problems, definition: parsed };
}

/**
 * The request with an empty spec for its definition, in `format`. It keeps
 * every other field, so the interceptors (tokens, request constraints) see
 * them as usual; the empty spec satisfies the `definition` oneof.
 */
export function stubRequest<Desc extends DescMessage>(schema: Desc, format: "binary" | "json", request?: MessageShape<Desc>): Uint8Array {
  const definition: SubmitWorkflowRequest["definition"] = { case: "spec", value: create(WorkflowSpecSchema) };
  // A copy: `request` itself is left as it is. RunWorkflow holds its definition in `submit`.
  const stub = (
    (schema as DescMessage) === RunWorkflowRequestSchema
      ? { ...create(RunWorkflowRequestSchema), ...(request as RunWorkflowRequest | undefined), submit: { ...create(SubmitWorkflowRequestSchema), ...(request as RunWorkflowRequest | undefined)?.submit, definition } }
      : { ...(create(schema) as object), ...(request as object | undefined), definition }
  ) as unknown as MessageShape<Desc>;
  return format === "binary" ? toBinary(schema, stub) : new TextEncoder().encode(toJsonString(schema, stub));
}

/** Made on first use: the main thread imports this module too (REQUEST_SCHEMAS, stubRequest). */
let validation: ReturnType<typeof createRequestValidation> | undefined;

function asRequestError(err: unknown, fallback: Code): RequestError {
  const e = ConnectError.from(err, fallback);
  return {
    code: e.code,
    message: e.rawMessage,
    details: e.details.map((d) => ("desc" in d ? { type: d.desc.typeName, value: toBinary(d.desc, create(d.desc, d.value)) } : { type: d.type, value: d.value })),
  };
}

function handleRequest(job: Extract<DefinitionJob, { kind: "request" }>): DefinitionReply {
  const schema = REQUEST_SCHEMAS[job.method] as DescMessage;
  let request: MessageShape<typeof SubmitWorkflowRequestSchema>;
  // As Connect decodes them: the same read limits, and its messages ("parse binary: ...").
  try {
    request = (job.format === "binary"
      ? fromBinary(schema, job.bytes, BINARY_READ_OPTIONS)
      : fromJsonString(schema, new TextDecoder().decode(job.bytes), { ignoreUnknownFields: true, ...JSON_READ_OPTIONS })) as typeof request;
  } catch (err) {
    const m = err instanceof Error ? err.message : String(err);
    return { id: job.id, problems: [], message: stubRequest(schema, job.format), error: { code: Code.InvalidArgument, message: job.format === "binary" ? `parse binary: ${m}` : m, details: [] } };
  }
  // The whole request, definition included, against its proto constraints (what the interceptor checks of the rest again).
  try {
    (validation ??= createRequestValidation()).check(schema, request);
  } catch (err) {
    return { id: job.id, problems: [], message: stubRequest(schema, job.format), error: asRequestError(err, Code.InvalidArgument) };
  }
  const definition = job.method === "RunWorkflow" ? (request as unknown as RunWorkflowRequest).submit!.definition : request.definition;
  return { id: job.id, ...check(definition, job.limits), message: stubRequest(schema, job.format, request) };
}

function handle(job: DefinitionJob): DefinitionReply {
  if (job.kind === "request") return handleRequest(job);
  return { id: job.id, ...check({ case: "yaml", value: job.yaml }, job.limits) };
}

/** The workerData the pool starts this module with. */
export const DEFINITION_WORKER = "horus-definition-worker";

// Only in the pool's own threads: request-offload.ts imports this module for
// its schemas, and may itself run in a worker thread (a test runner's) whose
// port carries someone else's messages.
if (workerData === DEFINITION_WORKER) {
  parentPort?.on("message", (job: DefinitionJob) => {
    const reply = handle(job);
    parentPort!.postMessage(reply, reply.message ? [reply.message.buffer as ArrayBuffer] : []);
  });
}

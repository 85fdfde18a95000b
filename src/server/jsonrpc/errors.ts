// JSON-RPC error codes: the four protocol errors of the spec, and one
// application code per Connect code so a JSON-RPC client can tell "not found"
// from "unavailable, retry" exactly as a Connect client can. The table is
// published in rpc.discover and in docs/api.md.
import { toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { ValidateWorkflowResponseSchema } from "../../../gen/horus/coordinator/v1/coordinator_pb.js";

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;

/** Connect code n is JSON-RPC code -32000 - n, inside the spec's range for server errors. */
export function applicationCode(code: Code): number {
  return -32000 - code;
}

/** snake_case Connect code names ("not_found"), as the Connect protocol spells them. */
export function connectCodeName(code: Code): string {
  return Code[code]!.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Every application code with its meaning, for documents and docs. */
export const APPLICATION_ERRORS: Array<{ code: number; connect: string; message: string }> = [
  [Code.Canceled, "the call was cancelled"],
  [Code.Unknown, "unknown error"],
  [Code.InvalidArgument, "the request is invalid (e.g. a workflow definition with problems; data.problems lists them)"],
  [Code.DeadlineExceeded, "the deadline passed"],
  [Code.NotFound, "no such workflow"],
  [Code.AlreadyExists, "already exists"],
  [Code.PermissionDenied, "permission denied"],
  [Code.ResourceExhausted, "too much: a limit was reached"],
  [Code.FailedPrecondition, "the workflow is not in a state that allows this"],
  [Code.Aborted, "aborted, retry"],
  [Code.OutOfRange, "out of range"],
  [Code.Unimplemented, "not implemented"],
  [Code.Internal, "internal error"],
  [Code.Unavailable, "the coordinator or its store is unavailable right now; retry"],
  [Code.DataLoss, "data loss"],
  [Code.Unauthenticated, "not authenticated"],
].map(([code, message]) => ({ code: applicationCode(code as Code), connect: connectCodeName(code as Code), message: message as string }));

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** An error answered to the client as is. */
export class JsonRpcError extends Error {
  override name = "JsonRpcError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }

  toJSON(): JsonRpcErrorObject {
    return { code: this.code, message: this.message, ...(this.data !== undefined ? { data: this.data } : {}) };
  }
}

/**
 * Any error a method threw, as JSON-RPC: request validation failures are
 * invalid params naming each field; other Connect errors get their
 * application code, with the Connect code name and the details we know.
 */
export function toJsonRpcError(err: unknown): JsonRpcErrorObject {
  if (err instanceof JsonRpcError) return err.toJSON();
  const ce = ConnectError.from(err);
  const [violations] = ce.findDetails(ViolationsSchema);
  if (violations && ce.code === Code.InvalidArgument) {
    return {
      code: INVALID_PARAMS,
      message: ce.rawMessage,
      data: {
        violations: violations.violations.map((v) => ({
          field: (v.field?.elements ?? []).map((e) => e.fieldName + (e.subscript.case ? `[${String(e.subscript.value)}]` : "")).join("."),
          rule: v.ruleId,
          message: v.message,
        })),
      },
    };
  }
  const data: Record<string, unknown> = { connect_code: connectCodeName(ce.code) };
  const [problems] = ce.findDetails(ValidateWorkflowResponseSchema);
  if (problems) data.problems = (toJson(ValidateWorkflowResponseSchema, problems) as { problems?: unknown[] }).problems ?? [];
  // Internal failures keep their message short and never leak a stack.
  const message = ce.code === Code.Internal || ce.code === Code.Unknown ? ce.rawMessage.split("\n")[0]! : ce.rawMessage;
  return { code: applicationCode(ce.code), message, data };
}

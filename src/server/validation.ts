// Request validation with protovalidate: the constraints live in the proto
// (buf.validate options), and every surface checks them the same way before a
// method runs. Connect, gRPC and gRPC-web get it as a server interceptor; the
// JSON-RPC bridge calls `check` itself, with the same validator.
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { violationsToProto, type Violation } from "@bufbuild/protovalidate";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

export interface RequestValidationOptions {
  /** A validator to share (default: a new one; it caches compiled rules per message type). */
  validator?: Validator;
}

export interface RequestValidation {
  /** Throws INVALID_ARGUMENT naming every violated field when `message` breaks its constraints. */
  check<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): void;
  /** The same check for Connect handlers: unary requests and every message of a client stream. */
  interceptor: Interceptor;
}

/** One violation as "field.path: message", the form clients see. */
export function describeViolation(v: Violation): string {
  return v.toString().replace(/ \[[^\]]*\]$/, "");
}

export function createRequestValidation(options: RequestValidationOptions = {}): RequestValidation {
  const validator = options.validator ?? createValidator();

  function check<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): void {
    const result = validator.validate(schema, message);
    if (result.kind === "valid") return;
    if (result.kind === "error") {
      // A rule that cannot be compiled or evaluated is our bug, not the caller's.
      throw new ConnectError(`request validation failed: ${result.error.message}`, Code.Internal);
    }
    const violations = result.error.violations;
    const [proto] = violationsToProto(violations);
    // The message names each field; the Violations detail carries structured
    // field paths and rule ids for clients that want them.
    throw new ConnectError(`invalid request: ${violations.map(describeViolation).join("; ")}`, Code.InvalidArgument, undefined, [
      { desc: ViolationsSchema, value: proto },
    ]);
  }

  const interceptor: Interceptor = (next) => async (req) => {
    if (!req.stream) {
      check(req.method.input, req.message);
      return next(req);
    }
    const input = req.method.input;
    const messages = req.message;
    async function* checked() {
      for await (const m of messages) {
        check(input, m);
        yield m;
      }
    }
    return next({ ...req, message: checked() });
  };

  return { check, interceptor };
}

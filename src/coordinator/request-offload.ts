// The coordinator's side of server/large-requests.ts: large SubmitWorkflow,
// ValidateWorkflow and RegisterWorkflowTemplate messages are decoded and
// their definitions checked in the definition pool's workers; the methods
// (service.ts, the one implementation every surface calls) read the result
// from the handler context instead of checking the definition themselves.
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import type { LargeRequestOffload } from "../server/large-requests.js";
import type { ValidationLimits } from "../workflow/definition.js";
import { checkedOffThread, type CheckedDefinition, type CheckedOffThread } from "./check-definition.js";
import type { DefinitionPool } from "./definition-pool.js";
import { REQUEST_SCHEMAS, stubRequest, type DefinitionMethod } from "./definition-worker.js";

/** What a worker found for this call's request: its definition checked, or why the request is refused. */
type OffThread = { checked: CheckedOffThread } | { error: ConnectError };

const OFF_THREAD = createContextKey<OffThread | undefined>(undefined, { description: "the request's definition, checked in a worker" });

export interface RequestOffloadOptions {
  pool: DefinitionPool;
  limits?: Partial<ValidationLimits>;
}

export function createRequestOffload(options: RequestOffloadOptions): LargeRequestOffload {
  const { pool } = options;
  const limits = options.limits ?? {};
  const methodOf = (m: DescMethod) => (m.parent.typeName === CoordinatorService.typeName && Object.hasOwn(REQUEST_SCHEMAS, m.name) ? (m.name as DefinitionMethod) : undefined);
  return {
    minBytes: pool.offloadBytes,
    handles: (m) => methodOf(m) !== undefined,
    async decode(m, framing, message, values: ContextValues) {
      const method = methodOf(m)!;
      try {
        const reply = await pool.checkRequest(method, framing.format, message, limits);
        if (reply.error) {
          const e = reply.error;
          const error = new ConnectError(e.message, e.code);
          // Already encoded (the Violations of a broken constraint): every protocol sends them as they are.
          error.details.push(...e.details);
          values.set(OFF_THREAD, { error });
        } else {
          values.set(OFF_THREAD, { checked: { problems: reply.problems, ...(reply.definition ? { definition: reply.definition } : {}) } });
        }
        // A worker that died answers with a problem and no message: the request is refused for that problem.
        return reply.message ?? stubRequest(REQUEST_SCHEMAS[method], framing.format);
      } catch (err) {
        // Too many waiting, or shutting down: the method answers with that.
        values.set(OFF_THREAD, { error: ConnectError.from(err, Code.Internal) });
        return stubRequest(REQUEST_SCHEMAS[method], framing.format);
      }
    },
  };
}

/**
 * The definition of this call's request as a worker checked it (planned
 * here when valid); undefined when the request was small and decoded as
 * usual. Throws what refused the request in the worker.
 */
export function checkedInWorker(ctx: HandlerContext, limits: Partial<ValidationLimits> | undefined): CheckedDefinition | undefined {
  const found = ctx.values.get(OFF_THREAD);
  if (!found) return undefined;
  if ("error" in found) throw found.error;
  return checkedOffThread(found.checked, limits);
}

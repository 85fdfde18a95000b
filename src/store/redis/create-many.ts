// The arguments and reply of the createMany script (lua/create-many.lua): new
// workflows, their idempotency keys and their index entries in one call.
// Pure: the store hands it keys and hash fields, and runs what it returns.
import type { WorkflowRecord } from "../../engine/model.js";
import { isTerminalWorkflow } from "../../engine/states.js";
import { UnexpectedReplyError } from "./calls.js";
import type { Keys } from "./keys.js";
import type { ScriptCall } from "./scripts.js";

export interface CreateManyInput {
  keys: Keys;
  /** The creating coordinator: the owner of every new workflow. */
  nodeId: string;
  /** TTL of a new hash until its first commit (ms). */
  provisionalTtlMs: number;
  /** TTL of an idempotency key (ms). */
  idempotencyTtlMs: number;
  /** Each record with its hash fields (field/value pairs, as record-codec.ts encodeRecord writes them). */
  records: ReadonlyArray<{ record: WorkflowRecord; fields: string[] }>;
}

export function createManyCall(input: CreateManyInput): { keys: string[]; args: Array<string | number> } {
  const k = input.keys;
  const keys = [k.all, k.active, k.owned(input.nodeId)];
  const args: Array<string | number> = [input.nodeId, input.provisionalTtlMs, input.idempotencyTtlMs];
  for (const { record: r, fields } of input.records) {
    const hash = k.workflow(r.id);
    keys.push(hash, k.state(r.state), k.name(r.name), r.idempotencyKey !== undefined ? k.idempotency(r.idempotencyKey) : hash);
    args.push(r.id, r.idempotencyKey !== undefined ? "1" : "0", isTerminalWorkflow(r.state) ? "0" : "1", fields.length / 2);
    for (const f of fields) args.push(f);
  }
  return { keys, args };
}

export type CreateManyResult = { ok: true; results: Array<{ id: string; existing: boolean }> } | { ok: false; existingId: string };

/** The script's reply, one result per record in the order given. */
export function parseCreateManyReply(records: readonly WorkflowRecord[], reply: unknown): CreateManyResult {
  const r = reply as string[];
  if (r[0] === "EXISTS") return { ok: false, existingId: r[1]! };
  if (!Array.isArray(r) || r[0] !== "OK" || r.length !== records.length + 1) throw new UnexpectedReplyError(`unexpected reply from createMany: ${JSON.stringify(r).slice(0, 200)}`);
  return {
    ok: true,
    results: records.map((rec, i) => {
      const got = r[i + 1]!;
      return got === "new" ? { id: rec.id, existing: false } : { id: got.slice(1), existing: true };
    }),
  };
}

/** createManyCall and parseCreateManyReply as one call for runScript. */
export function createManyScriptCall(input: CreateManyInput): ScriptCall<CreateManyResult> {
  const records = input.records.map((r) => r.record);
  return { script: "createMany", ...createManyCall(input), parse: (reply) => parseCreateManyReply(records, reply) };
}

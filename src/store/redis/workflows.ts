// Workflows: creating them, reading one, and the commit that changes one.
// Every change is one fenced script on the workflow's own keys; the
// indexes follow (indexes.ts), and watchers are told (notifications.ts).
import type { WorkflowRecord } from "../../engine/model.js";
import { isTerminalWorkflow } from "../../engine/states.js";
import { LeaseLostError, type Store, type WorkflowCommit } from "../store.js";
import { commitCall, createCall } from "./calls.js";
import { persistently, unavailable, type StoreContext } from "./context.js";
import { createManyScriptCall } from "./create-many.js";
import type { Indexes } from "./indexes.js";
import type { Notifications } from "./notifications.js";
import { WF, decodeRecord, encodeRecord } from "./record-codec.js";
import { runScript } from "./scripts.js";

/** A created workflow that never got its first commit disappears after this. */
const PROVISIONAL_TTL_MS = 10 * 60_000;

export interface WorkflowsOptions {
  /** A Redis Cluster: indexes live in other slots, so creation cannot write them in the same script. */
  cluster: boolean;
  /** How long an idempotency key is remembered (ms). */
  idempotencyTtlMs: number;
  /** Events kept per workflow, about (0: all). */
  maxEvents: number;
}

type Created = { id: string; existing: boolean };

export function createWorkflowStore(
  ctx: StoreContext,
  indexes: Indexes,
  notifications: Notifications,
  options: WorkflowsOptions,
): Pick<Store, "createWorkflow" | "createWorkflows" | "getWorkflow" | "commit"> {
  const { client, keys: k, nodeId, owned } = ctx;

  /**
   * Standalone Redis: one createMany call stores the workflows, their
   * idempotency keys and their index entries together. A Cluster keeps
   * indexes in other slots than workflows, so no one script can write both:
   * there each workflow takes createOne's three steps, all workflows at once.
   */
  async function createWorkflows(records: readonly WorkflowRecord[]): Promise<Created[]> {
    if (records.length === 0) return [];
    if (options.cluster) return createEach(records);
    const call = createManyScriptCall({
      keys: k,
      nodeId,
      provisionalTtlMs: PROVISIONAL_TTL_MS,
      idempotencyTtlMs: options.idempotencyTtlMs,
      records: records.map((record) => ({ record, fields: encodeRecord(record) })),
    });
    const reply = await runScript(client, call).catch(unavailable);
    if (!reply.ok) throw new Error(`workflow ${reply.existingId} already exists`);
    reply.results.forEach((r, i) => {
      if (!r.existing) owned.set(r.id, { fence: "1", seq: 0, name: records[i]!.name });
    });
    return reply.results;
  }

  /** createWorkflows on a Cluster: every record at once; a key repeated in the batch goes to its first record's result. */
  async function createEach(records: readonly WorkflowRecord[]): Promise<Created[]> {
    const first = new Map<string, number>();
    const results = await Promise.all(
      records.map((r, i) => {
        if (r.idempotencyKey === undefined) return createOne(r);
        const earlier = first.get(r.idempotencyKey);
        if (earlier !== undefined) return undefined;
        first.set(r.idempotencyKey, i);
        return createOne(r);
      }),
    );
    return results.map((r, i) => r ?? { id: results[first.get(records[i]!.idempotencyKey!)!]!.id, existing: true });
  }

  /** One workflow: the hash (with a provisional TTL), then its idempotency key, then its index entries. */
  async function createOne(record: WorkflowRecord): Promise<Created> {
    const id = record.id;
    const created = await runScript(client, createCall({ keys: k, id, owner: nodeId, provisionalTtlMs: PROVISIONAL_TTL_MS, fields: encodeRecord(record) })).catch(unavailable);
    if (!created) throw new Error(`workflow ${id} already exists`);
    if (record.idempotencyKey !== undefined) {
      const key = k.idempotency(record.idempotencyKey);
      const set = await client.set(key, id, "PX", options.idempotencyTtlMs, "NX").catch(unavailable);
      if (set === null) {
        const existing = await client.get(key).catch(unavailable);
        await client.del(k.workflow(id)).catch(() => {});
        if (existing !== null) return { id: existing, existing: true };
        await client.set(key, id, "PX", options.idempotencyTtlMs).catch(unavailable);
      }
    }
    owned.set(id, { fence: "1", seq: 0, name: record.name });
    await indexes.addNew(record);
    return { id, existing: false };
  }

  return {
    async createWorkflow(record) {
      return (await createWorkflows([record]))[0]!;
    },

    createWorkflows,

    async getWorkflow(id) {
      const h = await client.hgetall(k.workflow(id)).catch(unavailable);
      if (!h[WF.record]) return undefined;
      return { record: decodeRecord(h), cursor: h[WF.cursor] ?? "0-0" };
    },

    async commit(id, commit: WorkflowCommit) {
      const own = owned.get(id);
      if (!own) throw new LeaseLostError(`workflow ${id} is not owned by this coordinator`);
      const header = commit.header;
      const terminal = header !== undefined && isTerminalWorkflow(header.state);
      const call = commitCall({ keys: k, id, fence: own.fence, expectedSeq: own.seq, ttlMs: terminal ? ctx.retentionMs : 0, maxEvents: options.maxEvents, ends: terminal, commit });
      const res = await persistently(ctx, `commit of ${id}`, () => runScript(client, call));
      switch (res.kind) {
        case "seqMismatch":
          owned.delete(id);
          throw new LeaseLostError(`workflow ${id}: the store is at commit ${res.seq}, this coordinator at ${own.seq}; reloading`, true);
        case "gone":
          owned.delete(id);
          throw new LeaseLostError(`workflow ${id} is gone from Redis (deleted, expired, or Redis restarted without its data)`, false, true);
        case "fenced":
          owned.delete(id);
          throw new LeaseLostError(`workflow ${id} was taken over by another coordinator (FENCED ${res.fence})`);
        case "ok":
        case "dup":
          break;
      }
      own.seq++;
      if (terminal) owned.delete(id);
      if (header) {
        const from = res.kind === "ok" ? res.previousState : undefined;
        await persistently(ctx, `indexes of ${id}`, () => indexes.reindex(id, own.name, from, header.state, header.finishedAt));
      }
      // The script published "e" (and "t") for every node; watchers here are woken now.
      if (commit.events.length > 0 && res.kind === "ok") notifications.committed(id);
      return res.kind === "ok" ? res.cursors : [];
    },
  };
}

// The cross-workflow indexes (keys.ts: idx:all, idx:state:<n>, idx:name:<name>,
// idx:active, idx:finished, owned:<node>) and the listings read from them.
// They live in other Cluster slots than the workflows, so they are written
// with single-key commands after the workflow itself: a crash in between
// leaves a stale entry, which readers verify against the workflow and drop.
import type { WorkflowRecord } from "../../engine/model.js";
import { WorkflowState as W, isTerminalWorkflow } from "../../engine/states.js";
import { InvalidCursorError, type ListQuery, type WorkflowSummaryRecord } from "../store.js";
import { unavailable, type StoreContext } from "./context.js";
import { SUMMARY_FIELDS, decodeSummary } from "./record-codec.js";

const PAGE_TOKEN = /^[A-Za-z0-9_-]{1,200}$/;
const TERMINAL_STATES = [W.SUCCEEDED, W.FAILED, W.CANCELLED];

export interface Indexes {
  /** Indexes a workflow just stored by this node (the Cluster's create path). */
  addNew(record: WorkflowRecord): Promise<void>;
  /**
   * Moves a workflow between state indexes after its state changed from
   * `from` (the stored state number; undefined: unknown, so from every other).
   */
  reindex(id: string, name: string, from: string | undefined, to: number, finishedAt: number | undefined): Promise<void>;
  /** Forgets index entries of workflows whose retention ran out. */
  trim(): Promise<void>;
  list(query: ListQuery): Promise<{ items: WorkflowSummaryRecord[]; nextPageToken: string }>;
  summaries(ids: string[]): Promise<WorkflowSummaryRecord[]>;
}

export function createIndexes(ctx: StoreContext): Indexes {
  const { client, keys: k, nodeId } = ctx;
  const summaryFields = (id: string) => client.hmget(k.workflow(id), ...SUMMARY_FIELDS);

  return {
    async addNew(record) {
      const id = record.id;
      const ops: Array<Promise<unknown>> = [client.zadd(k.all, 0, id), client.zadd(k.state(record.state), 0, id), client.zadd(k.name(record.name), 0, id)];
      if (!isTerminalWorkflow(record.state)) ops.push(client.zadd(k.active, 0, id), client.sadd(k.owned(nodeId), id));
      await Promise.all(ops).catch(unavailable);
    },

    async reindex(id, name, from, to, finishedAt) {
      const ops: Array<Promise<unknown>> = [client.zadd(k.state(to), 0, id)];
      const olds = from === undefined ? Object.values(W).filter((s) => typeof s === "number" && s !== to) : from === String(to) ? [] : [Number(from)];
      for (const s of olds) ops.push(client.zrem(k.state(s as number), id));
      if (isTerminalWorkflow(to as WorkflowRecord["state"])) {
        ops.push(client.zrem(k.active, id), client.srem(k.owned(nodeId), id), client.zadd(k.finished, finishedAt ?? Date.now(), `${id}\n${name}`));
      } else {
        // Also what brings a workflow run again by RetryWorkflow back among the running.
        ops.push(client.zadd(k.active, 0, id), client.sadd(k.owned(nodeId), id), client.zrem(k.finished, `${id}\n${name}`));
      }
      await Promise.all(ops);
    },

    async trim() {
      const cutoff = Date.now() - ctx.retentionMs;
      const gone = await client.zrangebyscore(k.finished, "-inf", cutoff, "LIMIT", 0, 1000);
      if (gone.length === 0) return;
      const ops: Array<Promise<unknown>> = [client.zrem(k.finished, ...gone)];
      for (const entry of gone) {
        const [id, name] = [entry.slice(0, entry.indexOf("\n")), entry.slice(entry.indexOf("\n") + 1)];
        ops.push(client.zrem(k.all, id), client.zrem(k.name(name), id));
        for (const s of TERMINAL_STATES) ops.push(client.zrem(k.state(s), id));
      }
      await Promise.all(ops);
    },

    async list(query) {
      if (query.pageToken && !PAGE_TOKEN.test(query.pageToken)) throw new InvalidCursorError(query.pageToken);
      const states = new Set<number>(query.states);
      const index = query.name ? k.name(query.name) : states.size === 1 ? k.state([...states][0]!) : k.all;
      const items: WorkflowSummaryRecord[] = [];
      let bound = query.pageToken ? `(${query.pageToken}` : "+";
      const batch = Math.max(query.pageSize + 1, 50);
      for (;;) {
        const ids = await client.zrevrangebylex(index, bound, "-", "LIMIT", 0, batch).catch(unavailable);
        if (ids.length === 0) break;
        const rows = await Promise.all(ids.map(summaryFields)).catch(unavailable);
        const stale: string[] = [];
        for (let i = 0; i < ids.length; i++) {
          const summary = decodeSummary(ids[i]!, rows[i]!);
          if (!summary) {
            stale.push(ids[i]!);
            continue;
          }
          if (states.size > 0 && !states.has(summary.state)) continue;
          if (query.name && summary.name !== query.name) continue;
          if (items.length === query.pageSize) {
            return { items, nextPageToken: items[items.length - 1]!.id };
          }
          items.push(summary);
        }
        // Entries of expired workflows: drop them so later lists skip less.
        if (stale.length > 0) client.zrem(index, ...stale).catch(() => {});
        if (ids.length < batch) break;
        bound = `(${ids[ids.length - 1]}`;
      }
      return { items, nextPageToken: "" };
    },

    async summaries(ids) {
      const rows = await Promise.all(ids.map(summaryFields)).catch(unavailable);
      return ids.flatMap((id, i) => decodeSummary(id, rows[i]!) ?? []);
    },
  };
}

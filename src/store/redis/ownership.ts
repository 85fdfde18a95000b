// Leases and fencing: each coordinator node renews a lease in the nodes
// zset (on Redis's clock), owns its running workflows (owned:<node>), and
// takes over a dead node's workflows by claiming them, which moves each
// workflow's fencing token on so the old owner's commits fail.
import { isTerminalWorkflow } from "../../engine/states.js";
import type { Ownership } from "../store.js";
import { claimCall, heartbeatCall } from "./calls.js";
import { unavailable, type StoreContext } from "./context.js";
import type { Indexes } from "./indexes.js";
import type { Notifications } from "./notifications.js";
import { WF, decodeRecord } from "./record-codec.js";
import { runScript } from "./scripts.js";

/** Heartbeats between two trims of the finished-workflow indexes. */
const TRIM_EVERY = 20;

export function createOwnership(ctx: StoreContext, indexes: Indexes, notifications: Notifications): Ownership {
  const { client, keys: k, nodeId, owned } = ctx;
  let heartbeats = 0;

  return {
    nodeId,

    async heartbeat(leaseMs) {
      const { expired, live } = await runScript(client, heartbeatCall({ keys: k, node: nodeId, leaseMs })).catch(unavailable);
      if (heartbeats++ % TRIM_EVERY === 0) await indexes.trim().catch((err) => ctx.warn("could not trim expired index entries", err));
      return { expired: expired.filter((n) => n !== nodeId), live };
    },

    async ownedBy(node) {
      return client.smembers(k.owned(node)).catch(unavailable);
    },

    async active() {
      const ids = await client.zrange(k.active, "0", "-1").catch(unavailable);
      const owners = await Promise.all(ids.map((id) => client.hget(k.workflow(id), WF.owner))).catch(unavailable);
      const out: Array<{ id: string; owner: string }> = [];
      const vanished: string[] = [];
      ids.forEach((id, i) => (owners[i] === null ? vanished.push(id) : out.push({ id, owner: owners[i]! })));
      if (vanished.length > 0) await client.zrem(k.active, ...vanished).catch(() => {});
      return out;
    },

    onNotice(listener) {
      notifications.onNotice(listener);
    },

    async claim(id, from, notice) {
      const res = await runScript(client, claimCall({ keys: k, id, owner: nodeId, ...(from !== undefined ? { from } : {}) })).catch(unavailable);
      if (res.kind === "gone") {
        owned.delete(id);
        await Promise.all([client.zrem(k.active, id), from ? client.srem(k.owned(from), id) : 0]).catch(() => {});
        return undefined;
      }
      if (res.kind !== "ok") {
        if (from) await client.srem(k.owned(from), id).catch(() => {});
        return undefined;
      }
      const got = await client.hgetall(k.workflow(id)).catch(unavailable);
      if (!got[WF.record]) return undefined;
      const record = decodeRecord(got);
      const previous = from ?? (res.previousOwner !== nodeId ? res.previousOwner : undefined);
      if (isTerminalWorkflow(record.state)) {
        await indexes.reindex(id, record.name, undefined, record.state, record.finishedAt).catch(() => {});
        if (previous) await client.srem(k.owned(previous), id).catch(() => {});
        return undefined;
      }
      owned.set(id, { fence: res.fence, seq: res.seq, name: record.name });
      if (notice && previous) notifications.notice(previous, notice, id);
      await Promise.all([client.sadd(k.owned(nodeId), id), previous ? client.srem(k.owned(previous), id) : 0]).catch(unavailable);
      return record;
    },

    async reopen(id) {
      const res = await runScript(client, claimCall({ keys: k, id, owner: nodeId })).catch(unavailable);
      if (res.kind !== "ok") return undefined;
      const got = await client.hgetall(k.workflow(id)).catch(unavailable);
      if (!got[WF.record]) return undefined;
      const record = decodeRecord(got);
      owned.set(id, { fence: res.fence, seq: res.seq, name: record.name });
      if (res.previousOwner && res.previousOwner !== nodeId) await client.srem(k.owned(res.previousOwner), id).catch(() => {});
      return record;
    },

    async forgetNode(node) {
      await Promise.all([client.zrem(k.nodes, node), client.del(k.owned(node))]).catch(unavailable);
    },

    async release() {
      // Score 0: expired for everyone, so the next heartbeat anywhere takes our workflows over.
      await client.zadd(k.nodes, "XX", "0", nodeId).catch(unavailable);
    },
  };
}

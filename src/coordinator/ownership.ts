// Keeps this coordinator's lease alive and takes over the workflows of
// coordinators whose lease ran out. A workflow is advanced by one owner at a
// time; the store's fencing tokens make a slow or partitioned old owner
// harmless, so nothing here has to be exact about time.
import type { Logger } from "pino";
import type { Ownership } from "../store/store.js";
import type { Executor } from "./executor.js";

export interface OwnershipLoopOptions {
  ownership: Ownership;
  executor: Executor;
  /**
   * How long a lease lasts without renewal (default 6,000 ms). It is renewed
   * every third of that, so a dead coordinator's workflows are taken over
   * within about 1.33 x leaseMs.
   */
  leaseMs?: number;
  /** Every this many rounds, also scan all running workflows for ones with no live owner (default 10). */
  fullScanEvery?: number;
  logger: Logger;
}

export interface OwnershipLoop {
  /**
   * Resolves once this node's lease is stored (or the first try failed):
   * from then on workflows it creates are not mistaken for orphans, so it
   * may serve before it takes anything over.
   */
  readonly registered: Promise<void>;
  /** Resolves after the first round (this node registered, orphans claimed). */
  readonly ready: Promise<void>;
  /** Stops renewing; call release() after the executor has drained. */
  stop(): Promise<void>;
  /** Ends the lease now so other coordinators take over at once. */
  release(): Promise<void>;
}

export function startOwnershipLoop(options: OwnershipLoopOptions): OwnershipLoop {
  const { ownership, executor, logger } = options;
  const leaseMs = options.leaseMs ?? 6_000;
  const fullScanEvery = options.fullScanEvery ?? 10;
  let round = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  let failing = false;
  /** Workflows recorded as ours but not held by the executor at the last full scan. */
  let unheld = new Set<string>();

  async function takeOver(id: string, from: string): Promise<void> {
    // A copy held from before the other node took the workflow (this node's
    // lease lapsed, say, while Redis restarted) lacks that node's commits:
    // dropped before the claim, it cannot commit under the new token.
    executor.forget(id);
    const record = await ownership.claim(id, from);
    if (!record || stopped) return;
    logger.info({ workflowId: id, from }, "took over a workflow");
    await executor.adopt(record);
  }

  let onRegistered: () => void = () => undefined;
  const registered = new Promise<void>((resolve) => (onRegistered = resolve));

  async function once(): Promise<void> {
    const { expired, live } = await ownership.heartbeat(leaseMs).finally(() => onRegistered());
    for (const node of expired) {
      const ids = await ownership.ownedBy(node);
      if (ids.length > 0) logger.warn({ node, workflows: ids.length }, "a coordinator's lease ran out; taking over its workflows");
      const results = await Promise.allSettled(ids.map((id) => takeOver(id, node)));
      // Keep the node listed until every claim went through, so a failed one is tried again.
      if (results.every((r) => r.status === "fulfilled")) await ownership.forgetNode(node);
    }
    if (round++ % fullScanEvery === 0) {
      // Safety net for workflows whose owner is in no list at all (a node
      // that died between storing a workflow and indexing it), and for ones
      // recorded as ours that we do not hold (Redis lost the writes that
      // finished them). Ours are taken only when seen on two scans in a row,
      // so a workflow being created right now is never mistaken for one.
      const alive = new Set([...live, ownership.nodeId]);
      const all = await ownership.active();
      const orphans = all.filter((w) => !alive.has(w.owner) && !expired.includes(w.owner) && !executor.owns(w.id));
      const mine = all.filter((w) => w.owner === ownership.nodeId && !executor.owns(w.id));
      const again = mine.filter((w) => unheld.has(w.id));
      unheld = new Set(mine.map((w) => w.id));
      await Promise.allSettled([...orphans, ...again].map((w) => takeOver(w.id, w.owner)));
    }
  }

  function schedule(delay: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      current = once()
        .then(() => {
          if (failing) logger.info("store reachable again; lease renewed");
          failing = false;
        })
        .catch((err) => {
          if (!failing) logger.warn({ err }, "could not renew the coordinator lease; retrying");
          failing = true;
        })
        .finally(() => schedule(Math.max(100, Math.floor(leaseMs / 3))));
    }, delay);
  }

  const ready = once().catch((err) => {
    logger.warn({ err }, "first lease round failed; retrying");
  });
  current = ready;
  void ready.then(() => schedule(Math.max(100, Math.floor(leaseMs / 3))));

  return {
    registered,
    ready,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
    async release() {
      await ownership.release().catch((err) => logger.warn({ err }, "could not release the coordinator lease"));
    },
  };
}

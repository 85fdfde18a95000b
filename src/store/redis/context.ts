// What the parts of the Redis store share: the connection, the key layout,
// this node, the workflows it owns, and how Redis errors become store
// errors. redis-store.ts makes one and hands it to each part.
import { ReplyError } from "ioredis";
import { InvalidCursorError, LeaseLostError, StoreUnavailableError } from "../store.js";
import { UnexpectedReplyError } from "./calls.js";
import type { RedisClient } from "./connection.js";
import type { Keys } from "./keys.js";

/** What this node knows of a workflow it owns: its token and how many commits it applied. */
export interface Owned {
  fence: string;
  seq: number;
  name: string;
}

export interface StoreContext {
  /** Commands and scripts (defineScripts has run on it). */
  client: RedisClient;
  keys: Keys;
  nodeId: string;
  /** Workflows this node owns, by id. */
  owned: Map<string, Owned>;
  /** Finished workflows, their events and logs expire after this long (ms). */
  retentionMs: number;
  warn(message: string, error?: unknown): void;
  /** True once the store is closed: writes stop retrying. */
  isClosed(): boolean;
}

/** Errors that mean "Redis cannot answer now" rather than a bug. */
export function isTransient(err: unknown): boolean {
  if (err instanceof ReplyError) return /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|BUSY)/.test((err as Error).message);
  return err instanceof Error && !(err instanceof UnexpectedReplyError);
}

/** Rethrows a Redis failure as the store's error: UNAVAILABLE for a transient one. */
export function unavailable(err: unknown): never {
  if (err instanceof LeaseLostError || err instanceof InvalidCursorError || err instanceof StoreUnavailableError) throw err;
  if (isTransient(err)) throw new StoreUnavailableError(`redis unavailable: ${String((err as Error).message)}`, { cause: err });
  throw err;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a write until it succeeds, retrying while Redis is unreachable; gives up only when closed. */
export async function persistently<T>(ctx: StoreContext, what: string, fn: () => Promise<T>): Promise<T> {
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (ctx.isClosed() || !isTransient(err) || err instanceof LeaseLostError) unavailable(err);
      ctx.warn(`${what}: redis unavailable, retrying: ${(err as Error).message}`, err);
      await sleep(delay);
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

// Which store a coordinator keeps its state in. This is the one place that
// decides it: an injected store, else Redis when it is configured, else the
// in-process memory store. The CLI only describes the choice (flags become
// `redis` or `memory` options) and never builds a store itself.
import type { Logger } from "../common/logger.js";
import { createMemoryStore, type MemoryStoreOptions } from "../store/memory/memory-store.js";
import { createRedisStore, type RedisStoreOptions } from "../store/redis/redis-store.js";
import type { Store } from "../store/store.js";

export interface StoreChoice {
  /** A store built by the caller (tests, embedders); used as given. Default: Redis when `redis` is set, else the in-process memory store. */
  store?: Store;
  /** Keep all state in Redis: durable, and shared by every coordinator on it. */
  redis?: Omit<RedisStoreOptions, "onWarning">;
  /** Options of the in-process store, used when neither `store` nor `redis` is given. */
  memory?: Omit<MemoryStoreOptions, "maxLogLinesPerStep">;
  /** Log lines kept per step attempt; later ones are dropped after one truncation marker (default 10,000). */
  maxLogLinesPerStep?: number;
}

/** The store `choice` names, connected (Redis) and ready. */
export async function openStore(choice: StoreChoice, logger: Logger): Promise<Store> {
  if (choice.store) return choice.store;
  const logCap = choice.maxLogLinesPerStep !== undefined ? { maxLogLinesPerStep: choice.maxLogLinesPerStep } : {};
  if (choice.redis) return createRedisStore({ ...choice.redis, ...logCap, onWarning: (msg, err) => logger.warn({ err }, msg) });
  return createMemoryStore({ ...choice.memory, ...logCap });
}

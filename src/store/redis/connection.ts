// Opens ioredis connections tuned for a coordinator: commands fail fast
// while Redis is unreachable (no offline queue, a command timeout) so
// requests end UNAVAILABLE instead of hanging, and the client keeps
// reconnecting in the background.
import { Cluster, Redis, type RedisOptions } from "ioredis";

export interface RedisConnectionOptions {
  /** redis://[user:pass@]host:port[/db]; with cluster, one or more comma-separated seed URLs. */
  url: string;
  /** Treat `url` as Redis Cluster seed nodes. */
  cluster?: boolean;
  /** A command not answered within this time fails (default 5,000 ms). */
  commandTimeoutMs?: number;
  /**
   * A connection for SUBSCRIBE: its owner subscribes again on every
   * "ready" (standalone Redis). ioredis's own resubscription on reconnect
   * leaves its promise unhandled: if Redis drops again at that moment, the
   * rejection has no handler, and an unhandled rejection ends a Node process.
   *
   * It sends every command at once, in the order given, without automatic
   * pipelining: ioredis leaves (P)SUBSCRIBE and UNSUBSCRIBE out of its
   * pipelines but not PUNSUBSCRIBE (its list of such commands spells it
   * "unpsubscribe"), so a PUNSUBSCRIBE went a tick after a PSUBSCRIBE
   * called after it, and the pattern ended unsubscribed while a live list
   * still wanted it.
   */
  subscriber?: boolean;
}

export type RedisClient = Redis | Cluster;

function baseOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    // Reconnect quickly at first, then every second: an outage ends as soon as Redis is back.
    retryStrategy: (times) => Math.min(50 * times, 1_000),
    // The first connection may queue commands until ready; see connect().
    lazyConnect: true,
  };
}

export function openRedis(options: RedisConnectionOptions): RedisClient {
  const base = baseOptions(options.commandTimeoutMs ?? 5_000);
  if (options.cluster) {
    const nodes = options.url.split(",").map((u) => {
      const parsed = new URL(u.trim());
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
    const first = new URL(options.url.split(",")[0]!.trim());
    return new Cluster(nodes, {
      enableOfflineQueue: false,
      enableAutoPipelining: !options.subscriber,
      lazyConnect: true,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
      redisOptions: {
        ...base,
        enableAutoPipelining: !options.subscriber,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      },
    });
  }
  return new Redis(options.url, options.subscriber ? { ...base, autoResubscribe: false, enableAutoPipelining: false } : base);
}

/** Connects, waiting for the first ready state (bounded by `timeoutMs`). */
export async function connect(client: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from Redis within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

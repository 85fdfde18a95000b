// Dynamic registration: supervisors announce themselves with
// RegisterSupervisor and renew that by registering again. Registrations live
// in the store (shared by every coordinator on it), and each coordinator
// syncs its pool with them: a new registration joins the pool, one whose
// lease ran out leaves it (its jobs are reported lost and run elsewhere).
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { SupervisorRegistry } from "../store/supervisors.js";
import type { SupervisorPool, SupervisorSummary } from "./pool.js";

export interface RegistrySyncOptions {
  registry: SupervisorRegistry;
  pool: SupervisorPool;
  /** How long a registration lasts unless renewed (default 10,000 ms). */
  leaseMs?: number;
  /** How often the pool is synced with the store (default: a third of the lease, at most 1,000 ms). */
  syncEveryMs?: number;
  /** Builds the transport to a registered supervisor's URL. */
  transportFor(url: string): Transport;
  onWarning?(message: string, error?: unknown): void;
  now?: () => number;
}

export interface RegistrationRequest {
  name: string;
  url: string;
  runners: Array<{ name: string; capacity: number }>;
  labels: Record<string, string>;
}

export interface RegistrySync {
  /** Stores (or renews) a registration and adds it to this coordinator's pool at once. */
  register(req: RegistrationRequest): Promise<{ leaseMs: number }>;
  /** The pool's supervisors, with lease expiry for registered ones. */
  list(): Array<SupervisorSummary & { leaseExpiresAt?: number }>;
  /** Syncs once (also runs on a timer). */
  sync(): Promise<void>;
  stop(): void;
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const PREFIX = "registered:";

export function startRegistrySync(options: RegistrySyncOptions): RegistrySync {
  const { registry, pool } = options;
  const now = options.now ?? Date.now;
  const leaseMs = options.leaseMs ?? 10_000;
  const warn = options.onWarning ?? (() => {});
  const expiries = new Map<string, number>();
  const urls = new Map<string, string>();
  let syncing: Promise<void> | undefined;

  async function syncOnce(): Promise<void> {
    const live = await registry.list(now());
    const seen = new Set<string>();
    for (const r of live) {
      seen.add(r.name);
      expiries.set(r.name, r.expiresAt);
      const endpoint = PREFIX + r.name;
      if (urls.has(r.name) && urls.get(r.name) !== r.url) pool.remove(endpoint, `re-registered at ${r.url}`);
      urls.set(r.name, r.url);
      pool.add({ name: endpoint, url: r.url, source: "registered", transport: options.transportFor(r.url) });
    }
    for (const endpoint of pool.endpoints()) {
      if (!endpoint.startsWith(PREFIX)) continue;
      const name = endpoint.slice(PREFIX.length);
      if (seen.has(name)) continue;
      pool.remove(endpoint, "its registration lease ran out (no heartbeat)");
      expiries.delete(name);
      urls.delete(name);
    }
  }

  function sync(): Promise<void> {
    // One at a time; a call during a sync waits for it and syncs again.
    syncing = (syncing ?? Promise.resolve()).then(syncOnce).catch((err) => warn(`could not read supervisor registrations: ${(err as Error).message}`, err));
    return syncing;
  }

  const timer = setInterval(() => void sync(), options.syncEveryMs ?? Math.max(100, Math.min(1_000, Math.floor(leaseMs / 3))));
  timer.unref();

  return {
    async register(req) {
      if (!NAME.test(req.name)) throw new ConnectError(`name: a supervisor name of letters, digits, "_", "." and "-" is required, got "${req.name}"`, Code.InvalidArgument);
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        throw new ConnectError(`url: supervisor ${req.name} needs an http:// or https:// base URL, got "${req.url}"`, Code.InvalidArgument);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new ConnectError(`url: supervisor ${req.name} needs an http:// or https:// base URL, got "${req.url}"`, Code.InvalidArgument);
      }
      for (const r of req.runners) {
        if (!r.name || r.capacity < 0) throw new ConnectError(`runners: supervisor ${req.name} announced runner "${r.name}" with capacity ${r.capacity}`, Code.InvalidArgument);
      }
      await registry.register({
        name: req.name,
        url: req.url.replace(/\/+$/, ""),
        runners: Object.fromEntries(req.runners.map((r) => [r.name, r.capacity])),
        labels: { ...req.labels },
        expiresAt: now() + leaseMs,
      });
      await sync();
      return { leaseMs };
    },
    list() {
      return pool.describe().map((s) => {
        const registered = s.source === "registered" ? expiries.get(s.name) ?? [...urls].find(([, u]) => u === s.url)?.[0] : undefined;
        const expiry = typeof registered === "number" ? registered : typeof registered === "string" ? expiries.get(registered) : undefined;
        return { ...s, ...(expiry !== undefined ? { leaseExpiresAt: expiry } : {}) };
      });
    },
    sync,
    stop() {
      clearInterval(timer);
    },
  };
}

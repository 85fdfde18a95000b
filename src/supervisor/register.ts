// `horus supervisor --register URL`: announces this supervisor to
// coordinators with RegisterSupervisor and keeps registering again (the
// heartbeat) every third of the lease the coordinator grants, so it stays
// in their pool while it runs and drops out by itself when it stops.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { bearerToken } from "../../clients/api/src/token.js";

export interface RegistrationOptions {
  /** Coordinator base URLs to register with (any one of a group sharing a store is enough). */
  coordinators: string[];
  name: string;
  /** Where coordinators reach this supervisor. */
  url: string;
  runners: Array<{ name: string; capacity: number }>;
  labels: Record<string, string>;
  onWarning?(message: string): void;
  onInfo?(message: string): void;
  /** Bearer token for RegisterSupervisor (the coordinator's registration token). */
  token?: string;
  /** PEM CA certificates to trust for https:// coordinators. */
  ca?: string | Buffer;
}

export interface Registration {
  stop(): void;
}

export function startRegistration(options: RegistrationOptions): Registration {
  const warn = options.onWarning ?? (() => {});
  const info = options.onInfo ?? (() => {});
  const abort = new AbortController();
  for (const coordinator of options.coordinators) {
    const client = createClient(
      CoordinatorService,
      createConnectTransport({
        baseUrl: coordinator,
        httpVersion: "1.1",
        ...(options.token ? { interceptors: [bearerToken(options.token)] } : {}),
        ...(options.ca ? { nodeOptions: { ca: options.ca } } : {}),
      }),
    );
    void (async () => {
      let registered = false;
      while (!abort.signal.aborted) {
        let delay = 1_000;
        try {
          const res = await client.registerSupervisor(
            { name: options.name, url: options.url, runners: options.runners, labels: options.labels },
            { signal: abort.signal, timeoutMs: 5_000 },
          );
          if (!registered) info(`registered with ${coordinator} (lease ${res.leaseMs} ms)`);
          registered = true;
          delay = Math.max(100, Math.floor(Number(res.leaseMs) / 3));
        } catch (err) {
          if (abort.signal.aborted) return;
          if (registered) warn(`could not renew registration with ${coordinator}: ${(err as Error).message}`);
          registered = false;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          abort.signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
        });
      }
    })();
  }
  return { stop: () => abort.abort() };
}

// Serves a reference supervisor on its own port (`horus supervisor`), with
// the same one-port server as the coordinator.
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { SupervisorService } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { silentLogger, type Logger } from "../common/logger.js";
import { createSupervisor, type SupervisorOptions } from "../supervisor/index.js";
import { createHorusServer } from "./listen.js";

export interface SupervisorServerOptions {
  /** TCP port; 0 picks a free one (default 8080). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  supervisor?: SupervisorOptions;
  logger?: Logger;
}

export interface RunningSupervisor {
  url: string;
  port: number;
  name: string;
  close(): Promise<void>;
}

export async function startSupervisorServer(options: SupervisorServerOptions = {}): Promise<RunningSupervisor> {
  const logger = options.logger ?? silentLogger();
  const supervisor = createSupervisor(options.supervisor ?? {});
  const shutdown = new AbortController();
  const routes = (router: ConnectRouter) => router.service(SupervisorService, supervisor.service);
  const server = createHorusServer({ handler: connectNodeAdapter({ routes, shutdownSignal: shutdown.signal }) });
  const address = await server.listen(options.port ?? 8080, options.host ?? "127.0.0.1");
  logger.info({ url: server.url(), name: supervisor.name }, "supervisor listening");
  let closing: Promise<void> | undefined;
  return {
    url: server.url(),
    port: address.port,
    name: supervisor.name,
    close() {
      closing ??= (async () => {
        shutdown.abort(new ConnectError("supervisor is shutting down", Code.Unavailable));
        await supervisor.close();
        await server.close();
      })();
      return closing;
    },
  };
}

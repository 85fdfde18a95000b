// `horus supervisor`: run the reference supervisor until SIGTERM or SIGINT.
// The flags are mapped and checked by supervisor-flags.ts (pure); this shell
// reads the files they name, resolves --run-as, builds the runners, and serves.
import { Option, type Command } from "commander";
import { createLogger, type Logger } from "../../common/logger.js";
import { CliError } from "../errors.js";
import { collect, LOG_LEVELS } from "../flags.js";
import { globals } from "../globals.js";
import { caOption, checkHost, registrationToken, resolveUser, secretFileOption, serverTokens, tlsOptions } from "../security.js";
import { serve } from "../serve.js";
import { SUPERVISOR_DEFAULTS as D, supervisorSettings, type RunnerPlan, type SupervisorFlags } from "../supervisor-flags.js";

export function registerSupervisor(program: Command): void {
  program
    .command("supervisor")
    .description("Run the reference supervisor with the built-in runners (js, shell, noop).")
    .option("-p, --port <port>", "port to serve SupervisorService on", D.port)
    .option("--host <host>", "interface to bind", D.host)
    .option("--name <name>", "name reported to coordinators")
    .option("--capacity <n|runner=n>", "jobs a runner may run at once: N for every runner, or runner=N (repeatable)", collect, [])
    .option("--label <key=value>", "label reported to coordinators (repeatable)", collect, [])
    .option("--default-timeout <duration>", "time limit of steps without a timeout, e.g. 30s, 5m", D.defaultTimeout)
    .option("--register <url>", "register with this coordinator and keep the registration alive (repeatable)", collect, [])
    .option("--advertise-url <url>", "URL coordinators reach this supervisor at (default: the listening URL)")
    .option("--external-runner <name>", "serve runner NAME through Redis queues for external runner processes (repeatable; needs --redis-url)", collect, [])
    .addOption(new Option("--redis-url <url>", "Redis for --external-runner queues").env("HORUS_REDIS_URL"))
    .option("--redis-prefix <prefix>", "prefix of the runner queue keys", D.redisPrefix)
    .option("--runner-lease <duration>", "an external runner process renews its job lease within this; a job whose lease ran out is re-queued", D.runnerLease)
    .option("--insecure", "allow listening on a non-loopback --host without tokens", D.insecure)
    .option("--tls-cert <file>", "PEM certificate (chain): serve TLS, HTTP/2 and HTTP/1.1 by ALPN (with --tls-key)")
    .option("--tls-key <file>", "PEM private key for --tls-cert")
    .option("--registration-token-file <file>", "token for RegisterSupervisor with --register (env HORUS_REGISTRATION_TOKEN)")
    .option("--run-as <user>", "run js and shell steps as this OS user (name or uid[:gid]); needs root")
    .option("--disable-runner <name>", "do not offer this built-in runner, e.g. js or shell (repeatable)", collect, [])
    .option("--max-output-bytes <n>", "largest job output, JSON bytes", D.maxOutputBytes)
    .addOption(new Option("--allowed-host <name>", "without tokens: host name coordinators may call this supervisor by, besides loopback, --host, the TLS certificate's and --advertise-url's (repeatable; env: comma-separated)").env("HORUS_ALLOWED_HOSTS").argParser(collect).default([]))
    .option("--inherit-env <name>", "pass this environment variable to js and shell steps, which otherwise get only PATH, HOME, LANG, TZ and HORUS_* job variables (repeatable)", collect, [])
    .option("--max-held-output-bytes <n>", "most JSON bytes of outputs kept for finished jobs (and, separately, in the event buffer); the oldest go first", D.maxHeldOutputBytes)
    .option("--js-max-memory-mb <n>", "resident memory of a js step's process in MB, ArrayBuffers included; past it the step fails MEMORY_LIMIT", D.jsMaxMemoryMb)
    .option("--secret-file <file>", "named secrets for steps that declare them (secrets: [NAME]): one NAME=value a line, # comments; re-read on SIGHUP")
    .addOption(new Option("--log-level <level>", "log level").choices(LOG_LEVELS).default(D.logLevel))
    .action(async (flags: SupervisorFlags) => {
      const mapped = supervisorSettings(flags);
      if ("error" in mapped) throw new CliError(mapped.error);
      const { server, supervisor, files } = mapped.settings;
      const { startSupervisorServer } = await import("../../server/supervisor-server.js");
      const logger = createLogger(mapped.settings.logLevel, "supervisor");
      const secrets = files.secretFile ? await secretFileOption(files.secretFile, logger) : undefined;
      const runAs = mapped.settings.runAs ? resolveUser(mapped.settings.runAs) : undefined;
      const runners = await buildRunners(mapped.settings.runners, runAs, logger);
      const regToken = registrationToken(files.registrationTokenFile);
      const { tokenFile, caFile } = globals(program);
      const security = {
        ...serverTokens(tokenFile),
        ...(await tlsOptions(files.tlsCert, files.tlsKey)),
        ...caOption(caFile),
        ...(regToken ? { registrationToken: regToken } : {}),
        ...mapped.settings.security,
      };
      checkHost(server.host!, security);
      if (runAs) logger.info({ uid: runAs.uid, gid: runAs.gid }, "js and shell steps run as another user");
      const start = () => startSupervisorServer({
        ...server,
        security,
        logger,
        supervisor: { runners, ...supervisor, ...(secrets ? { secrets } : {}) },
      });
      // Without --register nothing connects to it until a coordinator names it: say how, since a step waits READY meanwhile.
      const unregistered = (url: string) => `not registered with any coordinator: pass --register http://localhost:9090 (the coordinator's URL), or start the coordinator with --supervisor ${server.advertiseUrl ?? url}`;
      await serve("supervisor", logger, start, server.register!.length === 0 ? unregistered : undefined);
    });
}

/** The built-in runners less the disabled ones, plus one Redis-queue runner per external name. */
async function buildRunners(plan: RunnerPlan, runAs: { uid: number; gid: number } | undefined, logger: Logger) {
  const { builtinRunners } = await import("../../runners/index.js");
  const runners = builtinRunners({ inheritEnv: plan.inheritEnv, js: { maxMemoryMb: plan.jsMaxMemoryMb, ...(runAs ? { runAs } : {}) }, ...(runAs ? { shell: { runAs } } : {}) });
  if (plan.external) {
    const { createRedisQueueRunner } = await import("../../runners/redis-queue/runner.js");
    const { names, ...queue } = plan.external;
    for (const name of names) runners.set(name, createRedisQueueRunner({ name, ...queue, onWarning: (msg) => logger.warn(msg) }));
  }
  for (const name of plan.disabled) {
    await runners.get(name)?.close?.();
    runners.delete(name);
  }
  return runners;
}

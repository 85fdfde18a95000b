// `horus coordinator`: run a coordinator until SIGTERM or SIGINT. The flags
// are mapped and checked by coordinator-flags.ts (pure); this shell reads the
// files they name, builds the logger and the in-process supervisor's
// runners, and serves.
import { Option, type Command } from "commander";
import { createLogger } from "../../common/logger.js";
import { COORDINATOR_DEFAULTS as D, coordinatorSettings, type CoordinatorFlags } from "../coordinator-flags.js";
import { CliError } from "../errors.js";
import { collect, LOG_LEVELS } from "../flags.js";
import { globals } from "../globals.js";
import { caOption, checkHost, secretFileOption, serverTokens, supervisorTokens, tlsOptions } from "../security.js";
import { serve } from "../serve.js";

export function registerCoordinator(program: Command): void {
  program
    .command("coordinator")
    .description("Run a coordinator. Without --supervisor it runs the reference supervisor in-process; without --redis-url state lives in memory.")
    .option("-p, --port <port>", "port for Connect, gRPC and gRPC-web (HTTP/1.1 and h2c)", D.port)
    .option("--host <host>", "interface to bind", D.host)
    .option("--supervisor <url>", "supervisor base URL (repeatable)", collect, [])
    .option("--max-steps <n>", "most steps one workflow may have", D.maxSteps)
    .option("--max-payload-bytes <n>", "largest step payload in bytes", D.maxPayloadBytes)
    .addOption(new Option("--redis-url <url>", "keep state in Redis, shared by every coordinator on it (comma-separated seeds with --redis-cluster)").env("HORUS_REDIS_URL"))
    .option("--redis-cluster", "the Redis URL names Redis Cluster seed nodes", D.redisCluster)
    .option("--redis-prefix <prefix>", "prefix of every Redis key, so deployments can share one Redis", D.redisPrefix)
    .option("--retention <duration>", "how long finished workflows, their events and logs are kept in Redis", D.retention)
    .option("--lease <duration>", "workflow ownership lease; a dead coordinator's workflows move to another within ~1.33x this", D.lease)
    .option("--supervisor-timeout <duration>", "a supervisor silent this long is down; its jobs run elsewhere", D.supervisorTimeout)
    .option("--unroutable-timeout <duration>", "a step no supervisor can serve fails NO_SUPERVISOR after waiting this long", D.unroutableTimeout)
    .option("--registration-lease <duration>", "how long a RegisterSupervisor registration lasts unless renewed", D.registrationLease)
    .option("--no-embedded", "without --supervisor, do not run the in-process supervisor (use registered ones only)")
    .option("--insecure", "allow listening on a non-loopback --host without tokens (anyone who reaches the port can run code)", D.insecure)
    .option("--public-metrics", "serve /metrics without a token", D.publicMetrics)
    .option("--tls-cert <file>", "PEM certificate (chain): serve TLS, HTTP/2 and HTTP/1.1 by ALPN (with --tls-key)")
    .option("--tls-key <file>", "PEM private key for --tls-cert")
    .option("--supervisor-token-file <file>", "token sent to supervisors: `TOKEN` for all, or `URL TOKEN` per supervisor, one a line")
    .option("--max-request-bytes <n>", "largest request on any surface, in bytes", D.maxRequestBytes)
    .option("--max-output-bytes <n>", "largest step output accepted from a supervisor, JSON bytes", D.maxOutputBytes)
    .option("--max-submit-rate <n>", "workflow submissions per second per token, each definition of a batch counting (bursts of twice that; 0: no limit)", D.maxSubmitRate)
    .option("--max-streams-per-client <n>", "open streams (watches, followed logs, WebSocket subscriptions) per token (0: no limit)", D.maxStreamsPerClient)
    .option("--max-events-per-workflow <n>", "events kept per workflow in the store; older ones are trimmed (0: all)", D.maxEventsPerWorkflow)
    .option("--cors-origin <origin>", 'browser origin allowed to call, e.g. https://app.example.com, or "*" for any (repeatable)', collect, [])
    .option("--max-log-lines <n>", "log lines kept per step attempt; later ones are dropped after a truncation marker", D.maxLogLines)
    .addOption(new Option("--allowed-host <name>", 'host name (or address) clients may call this coordinator by, besides loopback, --host and the TLS certificate\'s names; "*" for any (repeatable; env: comma-separated)').env("HORUS_ALLOWED_HOSTS").argParser(collect).default([]))
    .option("--max-connections <n>", "open connections; past it the oldest idle connection without a valid token is closed for a new one", D.maxConnections)
    .option("--headers-timeout <duration>", "a request head (and a new connection's first request) must arrive within this", D.headersTimeout)
    .option("--body-timeout <duration>", "a request body must arrive within this after its head", D.bodyTimeout)
    .option("--idle-timeout <duration>", "connections (HTTP/1.1 keep-alive, HTTP/2) with no request in progress are closed after this", D.idleTimeout)
    .option("--max-memory-bytes <n>", "without --redis-url: estimated bytes of workflow state kept in memory; the oldest finished workflows are forgotten beyond it (default: a third of the heap limit)")
    .option("--max-duration <duration>", "longest timeout or retry backoff a definition may ask for", D.maxDuration)
    .option("--max-cel-steps <n>", "evaluation steps one when/for_each evaluation may take (refused at submit when it cannot fit, else its step fails)", D.maxCelSteps)
    .option("--max-cel-size <n>", "elements (and string characters / 16) of any list or string one when/for_each evaluation builds", D.maxCelSize)
    .option("--max-cel-time <duration>", "wall-clock limit of one when/for_each evaluation", D.maxCelTime)
    .option("--max-workflow-depth <n>", "levels of sub-workflows (inline or templates); deeper fails the step WORKFLOW_TOO_DEEP", D.maxWorkflowDepth)
    .option("--max-transition-time <duration>", "longest one workflow's state transition may hold the coordinator; past it the workflow is quarantined (FAILED, INTERNAL)", D.maxTransitionTime)
    .option("--inherit-env <name>", "in-process supervisor: pass this environment variable to js and shell steps, which otherwise get only PATH, HOME, LANG, TZ and HORUS_* job variables (repeatable)", collect, [])
    .option("--secret-file <file>", "in-process supervisor: named secrets for steps that declare them, one NAME=value a line; re-read on SIGHUP")
    .addOption(new Option("--log-level <level>", "log level").choices(LOG_LEVELS).default(D.logLevel))
    .action(async (flags: CoordinatorFlags) => {
      const mapped = coordinatorSettings(flags);
      if ("error" in mapped) throw new CliError(mapped.error);
      const { options, files, inheritEnv } = mapped.settings;
      const { startCoordinator } = await import("../../coordinator/app.js");
      const { builtinRunners } = await import("../../runners/index.js");
      const logger = createLogger(mapped.settings.logLevel, "coordinator");
      const secrets = files.secretFile ? await secretFileOption(files.secretFile, logger) : undefined;
      const { tokenFile, caFile } = globals(program);
      const security = {
        ...mapped.settings.security,
        ...serverTokens(tokenFile),
        ...(await tlsOptions(files.tlsCert, files.tlsKey)),
        ...caOption(caFile),
        ...(files.supervisorTokenFile ? { supervisorTokens: supervisorTokens(files.supervisorTokenFile) } : {}),
      };
      checkHost(options.host!, security);
      const embeddedSupervisor = { ...(inheritEnv.length > 0 ? { runners: builtinRunners({ inheritEnv }) } : {}), ...(secrets ? { secrets } : {}) };
      const start = () => startCoordinator({
        ...options,
        security,
        ...(Object.keys(embeddedSupervisor).length > 0 ? { embeddedSupervisor } : {}),
        logger,
      });
      await serve("coordinator", logger, start);
    });
}

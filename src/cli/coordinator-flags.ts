// `horus coordinator`'s flags as a pure mapping: commander's parsed values
// (with HORUS_REDIS_URL and HORUS_ALLOWED_HOSTS already merged in by
// commander) become the options startCoordinator takes, or one line naming
// the flag that is wrong. Reading files (tokens, TLS, secrets) and building
// objects (logger, runners) is left to the command (commands/coordinator.ts),
// so this part can be tested with a table and no process.
import type { LogLevel } from "../common/logger.js";
import type { CoordinatorOptions, CoordinatorSecurity } from "../coordinator/app.js";
import { allowedHosts, count, duration, durationAtLeast, envNames, HTTP_BASE_URL, logLevel, port, positive, positiveDuration, REDIS_URL, redisPrefix, settle } from "./flags.js";
import { CliError } from "./errors.js";

/** The coordinator command's options as commander hands them over: text as typed, lists for repeatable flags. */
export interface CoordinatorFlags {
  port: string;
  host: string;
  supervisor: string[];
  maxSteps: string;
  maxPayloadBytes: string;
  redisUrl?: string;
  redisCluster: boolean;
  redisPrefix: string;
  retention: string;
  lease: string;
  supervisorTimeout: string;
  unroutableTimeout: string;
  registrationLease: string;
  /** false with --no-embedded. */
  embedded: boolean;
  insecure: boolean;
  publicMetrics: boolean;
  tlsCert?: string;
  tlsKey?: string;
  supervisorTokenFile?: string;
  maxRequestBytes: string;
  maxOutputBytes: string;
  maxSubmitRate: string;
  maxStreamsPerClient: string;
  maxEventsPerWorkflow: string;
  corsOrigin: string[];
  maxLogLines: string;
  allowedHost: string[];
  maxConnections: string;
  headersTimeout: string;
  bodyTimeout: string;
  idleTimeout: string;
  maxMemoryBytes?: string;
  maxDuration: string;
  maxCelSteps: string;
  maxCelSize: string;
  maxCelTime: string;
  maxWorkflowDepth: string;
  maxTransitionTime: string;
  inheritEnv: string[];
  secretFile?: string;
  logLevel: string;
}

/** The flags as commander gives them when none is typed: the defaults `--help` shows, which the command declares. */
export const COORDINATOR_DEFAULTS: Readonly<CoordinatorFlags> = {
  port: "9090",
  host: "127.0.0.1",
  supervisor: [],
  maxSteps: "10000",
  maxPayloadBytes: String(256 * 1024),
  redisCluster: false,
  redisPrefix: "horus",
  retention: "7d",
  lease: "6s",
  supervisorTimeout: "5s",
  unroutableTimeout: "60s",
  registrationLease: "10s",
  embedded: true,
  insecure: false,
  publicMetrics: false,
  maxRequestBytes: String(4 * 1024 * 1024),
  maxOutputBytes: String(4 * 1024 * 1024),
  maxSubmitRate: "200",
  maxStreamsPerClient: "256",
  maxEventsPerWorkflow: "100000",
  corsOrigin: [],
  maxLogLines: "10000",
  allowedHost: [],
  maxConnections: "10000",
  headersTimeout: "20s",
  bodyTimeout: "60s",
  idleTimeout: "60s",
  maxDuration: "30d",
  maxCelSteps: "1000000",
  maxCelSize: "1000000",
  maxCelTime: "5s",
  maxWorkflowDepth: "8",
  maxTransitionTime: "10s",
  inheritEnv: [],
  logLevel: "info",
};

/** The security options flags decide alone; tokens, TLS, CA and supervisor tokens come from files the command reads. */
export type FlagSecurity = Pick<CoordinatorSecurity, "insecure" | "publicMetrics" | "maxRequestBytes" | "maxOutputBytes" | "clientLimits" | "allowedHosts" | "connections">;

/** What the flags decide, checked. */
export interface CoordinatorSettings {
  /** startCoordinator's options, but for the logger, the embedded supervisor's runners and secrets, and `security`. */
  options: Omit<CoordinatorOptions, "logger" | "embeddedSupervisor" | "security" | "store">;
  security: FlagSecurity;
  /** Files the command reads before serving (it names the flag when one cannot be read). */
  files: { tlsCert?: string; tlsKey?: string; supervisorTokenFile?: string; secretFile?: string };
  /** --inherit-env: variables the in-process supervisor passes to js and shell steps. */
  inheritEnv: string[];
  logLevel: LogLevel;
}

/** Maps the coordinator's flags to its settings, or to the first problem as one line naming its flag. */
export function coordinatorSettings(flags: CoordinatorFlags): { settings: CoordinatorSettings } | { error: string } {
  const result = settle(() => mapFlags(flags));
  return "error" in result ? result : { settings: result.value };
}

function mapFlags(flags: CoordinatorFlags): CoordinatorSettings {
  const inheritEnv = envNames(flags.inheritEnv);
  // Floors: shorter, a healthy peer's health answers or renewals could not arrive in time.
  const supervisorTimeoutMs = durationAtLeast(flags.supervisorTimeout, "--supervisor-timeout", 200);
  const unroutableTimeoutMs = duration(flags.unroutableTimeout, "--unroutable-timeout");
  const registrationLeaseMs = durationAtLeast(flags.registrationLease, "--registration-lease", 300);
  for (const u of flags.supervisor) {
    if (!HTTP_BASE_URL.test(u)) throw new CliError(`--supervisor must be a base URL like http://supervisor1:8080, got "${u}"`);
  }
  const leaseMs = durationAtLeast(flags.lease, "--lease", 300);
  const redisUrl = flags.redisUrl || undefined;
  if (redisUrl) {
    for (const u of redisUrl.split(",")) {
      if (!REDIS_URL.test(u.trim())) throw new CliError(`--redis-url must look like redis://host:6379, got "${u.trim()}"`);
    }
  }
  const retentionMs = duration(flags.retention, "--retention");
  const cors = flags.corsOrigin.map((o) => o.replace(/\/$/, ""));
  for (const o of cors) {
    if (o !== "*" && !/^https?:\/\/[^\s/]+$/.test(o)) throw new CliError(`--cors-origin must be an origin like https://app.example.com (or "*"), got "${o}"`);
  }
  redisPrefix(flags.redisPrefix);
  const security: FlagSecurity = {
    insecure: flags.insecure === true,
    publicMetrics: flags.publicMetrics === true,
    maxRequestBytes: positive(flags.maxRequestBytes, "--max-request-bytes"),
    maxOutputBytes: positive(flags.maxOutputBytes, "--max-output-bytes"),
    clientLimits: { submitsPerSecond: count(flags.maxSubmitRate, "--max-submit-rate"), maxStreamsPerClient: count(flags.maxStreamsPerClient, "--max-streams-per-client") },
    allowedHosts: allowedHosts(flags.allowedHost),
    connections: {
      maxConnections: positive(flags.maxConnections, "--max-connections"),
      // Shorter would cut off healthy clients.
      headersTimeoutMs: durationAtLeast(flags.headersTimeout, "--headers-timeout", 100),
      bodyTimeoutMs: durationAtLeast(flags.bodyTimeout, "--body-timeout", 100),
      idleTimeoutMs: durationAtLeast(flags.idleTimeout, "--idle-timeout", 100),
    },
  };
  const maxEventsPerWorkflow = count(flags.maxEventsPerWorkflow, "--max-events-per-workflow");
  const maxMemoryBytes = flags.maxMemoryBytes === undefined ? {} : { maxMemoryBytes: positive(flags.maxMemoryBytes, "--max-memory-bytes") };
  const maxDurationMs = duration(flags.maxDuration, "--max-duration");
  const celBudget = {
    maxSteps: positive(flags.maxCelSteps, "--max-cel-steps"),
    maxSize: positive(flags.maxCelSize, "--max-cel-size"),
    maxMillis: positiveDuration(flags.maxCelTime, "--max-cel-time"),
  };
  const maxDepth = positive(flags.maxWorkflowDepth, "--max-workflow-depth");
  const transitionBudgetMs = positiveDuration(flags.maxTransitionTime, "--max-transition-time");
  const options: CoordinatorSettings["options"] = {
    port: port(flags.port),
    host: flags.host,
    supervisors: flags.supervisor,
    embedded: flags.embedded !== false,
    supervisorTimeoutMs,
    unroutableTimeoutMs,
    registrationLeaseMs,
    limits: { maxSteps: positive(flags.maxSteps, "--max-steps"), maxPayloadBytes: positive(flags.maxPayloadBytes, "--max-payload-bytes"), maxDurationMs, celBudget, maxDepth },
    transitionBudgetMs,
    // The store itself is chosen by the coordinator (coordinator/store-choice.ts); the flags only describe it.
    ...(redisUrl
      ? { redis: { url: redisUrl, cluster: flags.redisCluster === true, prefix: flags.redisPrefix, retentionMs, maxEventsPerWorkflow }, leaseMs }
      : { memory: { maxEventsPerWorkflow, ...maxMemoryBytes } }),
    ...(cors.length > 0 ? { cors: { origins: cors } } : {}),
    maxLogLinesPerStep: positive(flags.maxLogLines, "--max-log-lines"),
  };
  const files = {
    ...(flags.tlsCert ? { tlsCert: flags.tlsCert } : {}),
    ...(flags.tlsKey ? { tlsKey: flags.tlsKey } : {}),
    ...(flags.supervisorTokenFile ? { supervisorTokenFile: flags.supervisorTokenFile } : {}),
    ...(flags.secretFile ? { secretFile: flags.secretFile } : {}),
  };
  return { options, security, files, inheritEnv, logLevel: logLevel(flags.logLevel) };
}

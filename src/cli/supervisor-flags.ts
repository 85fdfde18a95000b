// `horus supervisor`'s flags as a pure mapping: commander's parsed values
// (with HORUS_REDIS_URL and HORUS_ALLOWED_HOSTS already merged in by
// commander) become the supervisor server's options and a description of
// its runners, or one line naming the flag that is wrong. Reading files,
// resolving --run-as and building the runners is left to the command
// (commands/supervisor.ts), so this part can be tested with a table.
import type { LogLevel } from "../common/logger.js";
import type { SupervisorSecurity, SupervisorServerOptions } from "../server/supervisor-server.js";
import type { SupervisorOptions } from "../supervisor/index.js";
import { allowedHosts, duration, envNames, HTTP_BASE_URL, logLevel, NAME_PATTERN, pairs, port, positive, REDIS_URL, redisPrefix, settle } from "./flags.js";
import { CliError } from "./errors.js";

/** The supervisor command's options as commander hands them over: text as typed, lists for repeatable flags. */
export interface SupervisorFlags {
  port: string;
  host: string;
  name?: string;
  capacity: string[];
  label: string[];
  defaultTimeout: string;
  register: string[];
  advertiseUrl?: string;
  externalRunner: string[];
  redisUrl?: string;
  redisPrefix: string;
  runnerLease: string;
  insecure: boolean;
  tlsCert?: string;
  tlsKey?: string;
  registrationTokenFile?: string;
  runAs?: string;
  disableRunner: string[];
  maxOutputBytes: string;
  allowedHost: string[];
  inheritEnv: string[];
  maxHeldOutputBytes: string;
  jsMaxMemoryMb: string;
  secretFile?: string;
  logLevel: string;
}

/** The flags as commander gives them when none is typed: the defaults `--help` shows, which the command declares. */
export const SUPERVISOR_DEFAULTS: Readonly<SupervisorFlags> = {
  port: "8080",
  host: "127.0.0.1",
  capacity: [],
  label: [],
  defaultTimeout: "5m",
  register: [],
  externalRunner: [],
  redisPrefix: "horus",
  runnerLease: "10s",
  insecure: false,
  disableRunner: [],
  maxOutputBytes: String(1024 * 1024),
  allowedHost: [],
  inheritEnv: [],
  maxHeldOutputBytes: String(256 * 1024 * 1024),
  jsMaxMemoryMb: "512",
  logLevel: "info",
};

/** The built-in runners --disable-runner may remove. */
export const BUILTIN_RUNNERS = ["js", "shell", "noop"] as const;

/** The runners to build: the built-in ones, less the disabled, plus one Redis-queue runner per external name. */
export interface RunnerPlan {
  /** --inherit-env: variables js and shell steps get. */
  inheritEnv: string[];
  /** --js-max-memory-mb. */
  jsMaxMemoryMb: number;
  /** --external-runner names, served through Redis queues; absent without any. */
  external?: { names: string[]; redisUrl: string; prefix: string; leaseMs: number };
  /** --disable-runner: built-in runners not offered. */
  disabled: string[];
}

/** What the flags decide, checked. */
export interface SupervisorSettings {
  /** The server's options, but for the logger, `security` and the supervisor's runners and secrets. */
  server: Pick<SupervisorServerOptions, "port" | "host" | "register" | "advertiseUrl">;
  supervisor: Omit<SupervisorOptions, "runners" | "secrets">;
  runners: RunnerPlan;
  /** The security options flags decide alone; tokens, TLS, CA and the registration token come from files the command reads. */
  security: Pick<SupervisorSecurity, "insecure" | "allowedHosts">;
  /** Files the command reads before serving. */
  files: { tlsCert?: string; tlsKey?: string; registrationTokenFile?: string; secretFile?: string };
  /** --run-as as typed; the command resolves it to a uid and gid. */
  runAs?: string;
  logLevel: LogLevel;
}

/** Maps the supervisor's flags to its settings, or to the first problem as one line naming its flag. */
export function supervisorSettings(flags: SupervisorFlags): { settings: SupervisorSettings } | { error: string } {
  const result = settle(() => mapFlags(flags));
  return "error" in result ? result : { settings: result.value };
}

function mapFlags(flags: SupervisorFlags): SupervisorSettings {
  const inheritEnv = envNames(flags.inheritEnv);
  for (const u of [...flags.register, ...(flags.advertiseUrl ? [flags.advertiseUrl] : [])]) {
    if (!HTTP_BASE_URL.test(u)) throw new CliError(`--register and --advertise-url take a base URL like http://coordinator:9090, got "${u}"`);
  }
  const jsMaxMemoryMb = positive(flags.jsMaxMemoryMb, "--js-max-memory-mb");
  const heldBytes = positive(flags.maxHeldOutputBytes, "--max-held-output-bytes");
  const runnerLeaseMs = duration(flags.runnerLease, "--runner-lease");
  const external = externalRunners(flags.externalRunner, flags.redisUrl, redisPrefix(flags.redisPrefix), runnerLeaseMs, flags.runnerLease);
  for (const name of flags.disableRunner) {
    if (!(BUILTIN_RUNNERS as readonly string[]).includes(name)) throw new CliError(`--disable-runner takes js, shell or noop, got "${name}"`);
  }
  const security = { insecure: flags.insecure === true, allowedHosts: allowedHosts(flags.allowedHost) };
  const server = {
    port: port(flags.port),
    host: flags.host,
    register: flags.register,
    ...(flags.advertiseUrl ? { advertiseUrl: flags.advertiseUrl } : {}),
  };
  const supervisor = {
    ...(flags.name ? { name: flags.name } : {}),
    ...capacity(flags.capacity),
    labels: pairs(flags.label, "--label"),
    defaultTimeoutMs: duration(flags.defaultTimeout, "--default-timeout"),
    maxOutputBytes: positive(flags.maxOutputBytes, "--max-output-bytes"),
    // One budget for both: outputs held for finished jobs, and those in the event buffer.
    maxHeldOutputBytes: heldBytes,
    eventBufferBytes: heldBytes,
  };
  const files = {
    ...(flags.tlsCert ? { tlsCert: flags.tlsCert } : {}),
    ...(flags.tlsKey ? { tlsKey: flags.tlsKey } : {}),
    ...(flags.registrationTokenFile ? { registrationTokenFile: flags.registrationTokenFile } : {}),
    ...(flags.secretFile ? { secretFile: flags.secretFile } : {}),
  };
  return {
    server,
    supervisor,
    runners: { inheritEnv, jsMaxMemoryMb, ...(external ? { external } : {}), disabled: flags.disableRunner },
    security,
    files,
    ...(flags.runAs ? { runAs: flags.runAs } : {}),
    logLevel: logLevel(flags.logLevel),
  };
}

/** --external-runner names with the Redis their runner processes read jobs from. */
function externalRunners(names: string[], redisUrl: string | undefined, prefix: string, leaseMs: number, leaseText: string): RunnerPlan["external"] {
  if (names.length === 0) return undefined;
  if (!redisUrl) throw new CliError("--external-runner needs --redis-url (the Redis its runner processes read jobs from)");
  if (!REDIS_URL.test(redisUrl)) throw new CliError(`--redis-url must look like redis://host:6379, got "${redisUrl}"`);
  // Shorter, a healthy runner process's renewals could not arrive in time.
  if (leaseMs < 100) throw new CliError(`--runner-lease must be at least 100ms, got "${leaseText}"`);
  for (const name of names) {
    if (!NAME_PATTERN.test(name)) throw new CliError(`--external-runner takes a runner name of letters, digits, "_", "." and "-", got "${name}"`);
  }
  return { names, redisUrl, prefix, leaseMs };
}

/** --capacity: one N for every runner, or runner=N items. */
function capacity(items: string[]): { capacity?: number | Record<string, number> } {
  if (items.length === 0) return {};
  if (items.length === 1 && !items[0]!.includes("=")) return { capacity: positive(items[0]!, "--capacity") };
  const perRunner: Record<string, number> = {};
  for (const [runner, n] of Object.entries(pairs(items, "--capacity"))) perRunner[runner] = positive(n, `--capacity ${runner}`);
  return { capacity: perRunner };
}

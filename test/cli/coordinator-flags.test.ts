// `horus coordinator`'s flags mapped to startCoordinator's options, without a
// process: the command line goes through the command's own commander
// definition (so defaults and HORUS_* variables apply as they do for a user),
// its action replaced, and the parsed flags through the pure mapping.
import { describe, expect, it } from "vitest";
import { commandFlags } from "../helpers/command-flags.js";
import { registerCoordinator } from "../../src/cli/commands/coordinator.js";
import { COORDINATOR_DEFAULTS, coordinatorSettings, type CoordinatorFlags, type CoordinatorSettings } from "../../src/cli/coordinator-flags.js";

/** The flags commander hands the coordinator action for `horus coordinator ...args`, with `env` set meanwhile. */
const parsed = (args: string[], env: Record<string, string> = {}) => commandFlags<CoordinatorFlags>(registerCoordinator, "coordinator", args, env);

async function settings(args: string[], env: Record<string, string> = {}): Promise<CoordinatorSettings> {
  const result = coordinatorSettings(await parsed(args, env));
  if ("error" in result) throw new Error(result.error);
  return result.settings;
}

async function problem(args: string[]): Promise<string | undefined> {
  const result = coordinatorSettings(await parsed(args));
  return "error" in result ? result.error : undefined;
}

describe("coordinator flags to options", () => {
  it("the defaults: embedded, in memory, every limit at its documented default", async () => {
    expect(await settings([])).toEqual({
      options: {
        port: 9090,
        host: "127.0.0.1",
        supervisors: [],
        embedded: true,
        supervisorTimeoutMs: 5_000,
        unroutableTimeoutMs: 60_000,
        registrationLeaseMs: 10_000,
        limits: { maxSteps: 10_000, maxPayloadBytes: 256 * 1024, maxDurationMs: 30 * 86_400_000, celBudget: { maxSteps: 1_000_000, maxSize: 1_000_000, maxMillis: 5_000 }, maxDepth: 8 },
        transitionBudgetMs: 10_000,
        memory: { maxEventsPerWorkflow: 100_000 },
        maxLogLinesPerStep: 10_000,
      },
      security: {
        insecure: false,
        publicMetrics: false,
        maxRequestBytes: 4 * 1024 * 1024,
        maxOutputBytes: 4 * 1024 * 1024,
        clientLimits: { submitsPerSecond: 200, maxStreamsPerClient: 256 },
        allowedHosts: [],
        connections: { maxConnections: 10_000, headersTimeoutMs: 20_000, bodyTimeoutMs: 60_000, idleTimeoutMs: 60_000 },
      },
      files: {},
      inheritEnv: [],
      logLevel: "info",
    });
  });

  it("COORDINATOR_DEFAULTS are what commander gives when no flag is typed", async () => {
    expect(await parsed([])).toEqual(COORDINATOR_DEFAULTS);
  });

  it("the store: Redis (with its lease) when --redis-url or HORUS_REDIS_URL is set, else memory with its bounds", async () => {
    const redis = await settings(["--redis-url", "redis://r1:6379,redis://r2:6379", "--redis-cluster", "--redis-prefix", "blue", "--retention", "1d", "--lease", "2s", "--max-events-per-workflow", "50", "--max-memory-bytes", "1000"]);
    expect(redis.options.redis).toEqual({ url: "redis://r1:6379,redis://r2:6379", cluster: true, prefix: "blue", retentionMs: 86_400_000, maxEventsPerWorkflow: 50 });
    expect(redis.options.leaseMs).toBe(2_000);
    expect(redis.options.memory).toBeUndefined();

    const fromEnv = await settings([], { HORUS_REDIS_URL: "redis://env:6379" });
    expect(fromEnv.options.redis?.url).toBe("redis://env:6379");
    expect((await settings(["--redis-url", "redis://flag:6379"], { HORUS_REDIS_URL: "redis://env:6379" })).options.redis?.url).toBe("redis://flag:6379");

    const memory = await settings(["--max-events-per-workflow", "0", "--max-memory-bytes", "1000", "--lease", "2s"]);
    expect(memory.options.memory).toEqual({ maxEventsPerWorkflow: 0, maxMemoryBytes: 1000 });
    expect(memory.options.redis).toBeUndefined();
    // The lease belongs to a shared store: without one it is checked, not passed.
    expect(memory.options.leaseMs).toBeUndefined();
  });

  const cases: Array<{ what: string; args: string[]; env?: Record<string, string>; pick: (s: CoordinatorSettings) => unknown; expected: unknown }> = [
    { what: "--port 0 picks a free port", args: ["--port", "0"], pick: (s) => s.options.port, expected: 0 },
    { what: "-p is --port", args: ["-p", "7070"], pick: (s) => s.options.port, expected: 7070 },
    { what: "--supervisor is repeatable, in order", args: ["--supervisor", "http://a:1", "--supervisor", "https://b"], pick: (s) => s.options.supervisors, expected: ["http://a:1", "https://b"] },
    { what: "--no-embedded", args: ["--no-embedded"], pick: (s) => s.options.embedded, expected: false },
    { what: "a CORS origin loses its trailing slash", args: ["--cors-origin", "https://app.example.com/", "--cors-origin", "*"], pick: (s) => s.options.cors, expected: { origins: ["https://app.example.com", "*"] } },
    { what: "no CORS option without --cors-origin", args: [], pick: (s) => "cors" in s.options, expected: false },
    { what: "--allowed-host values and HORUS_ALLOWED_HOSTS split at commas", args: ["--allowed-host", "a.example.com, [::1]"], pick: (s) => s.security.allowedHosts, expected: ["a.example.com", "[::1]"] },
    { what: "HORUS_ALLOWED_HOSTS alone", args: [], env: { HORUS_ALLOWED_HOSTS: "x.example.com,*" }, pick: (s) => s.security.allowedHosts, expected: ["x.example.com", "*"] },
    { what: "0 lifts the rate and stream limits", args: ["--max-submit-rate", "0", "--max-streams-per-client", "0"], pick: (s) => s.security.clientLimits, expected: { submitsPerSecond: 0, maxStreamsPerClient: 0 } },
    { what: "--insecure and --public-metrics", args: ["--insecure", "--public-metrics"], pick: (s) => [s.security.insecure, s.security.publicMetrics], expected: [true, true] },
    { what: "files are named for the command to read", args: ["--tls-cert", "c.pem", "--tls-key", "k.pem", "--supervisor-token-file", "s", "--secret-file", "sec"], pick: (s) => s.files, expected: { tlsCert: "c.pem", tlsKey: "k.pem", supervisorTokenFile: "s", secretFile: "sec" } },
    { what: "--inherit-env names", args: ["--inherit-env", "MY_VAR", "--inherit-env", "_X1"], pick: (s) => s.inheritEnv, expected: ["MY_VAR", "_X1"] },
    { what: "the CEL budget and depth", args: ["--max-cel-steps", "5", "--max-cel-size", "6", "--max-cel-time", "250ms", "--max-workflow-depth", "2"], pick: (s) => [s.options.limits?.celBudget, s.options.limits?.maxDepth], expected: [{ maxSteps: 5, maxSize: 6, maxMillis: 250 }, 2] },
    { what: "the connection timeouts at their floor", args: ["--headers-timeout", "100ms", "--body-timeout", "100ms", "--idle-timeout", "1m"], pick: (s) => s.security.connections, expected: { maxConnections: 10_000, headersTimeoutMs: 100, bodyTimeoutMs: 100, idleTimeoutMs: 60_000 } },
    { what: "the supervisor timings at their floors", args: ["--supervisor-timeout", "200ms", "--registration-lease", "300ms", "--unroutable-timeout", "90"], pick: (s) => [s.options.supervisorTimeoutMs, s.options.registrationLeaseMs, s.options.unroutableTimeoutMs], expected: [200, 300, 90_000] },
    { what: "--log-level", args: ["--log-level", "debug"], pick: (s) => s.logLevel, expected: "debug" },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      expect(c.pick(await settings(c.args, c.env))).toEqual(c.expected);
    });
  }
});

describe("coordinator flag problems: one line naming the flag", () => {
  const cases: Array<[string[], string]> = [
    [["--port", "70000"], 'invalid port "70000"'],
    [["--port", "http"], 'invalid port "http"'],
    [["--supervisor", "supervisor1:8080"], '--supervisor must be a base URL like http://supervisor1:8080, got "supervisor1:8080"'],
    [["--max-steps", "0"], '--max-steps must be a positive integer, got "0"'],
    [["--max-payload-bytes", "1.5"], '--max-payload-bytes must be a positive integer, got "1.5"'],
    [["--redis-url", "localhost"], '--redis-url must look like redis://host:6379, got "localhost"'],
    [["--redis-url", "redis://a:1, http://b"], '--redis-url must look like redis://host:6379, got "http://b"'],
    [["--redis-prefix", "a b"], '--redis-prefix may hold letters, digits, "_", "." and "-" only, got "a b"'],
    [["--retention", "forever"], '--retention must be a duration like 30s or 5m, got "forever"'],
    [["--lease", "10ms"], '--lease must be at least 300ms, got "10ms"'],
    [["--lease", "soon"], '--lease must be a duration like 30s or 5m, got "soon"'],
    [["--supervisor-timeout", "199ms"], '--supervisor-timeout must be at least 200ms, got "199ms"'],
    [["--unroutable-timeout", "x"], '--unroutable-timeout must be a duration like 30s or 5m, got "x"'],
    [["--registration-lease", "299ms"], '--registration-lease must be at least 300ms, got "299ms"'],
    [["--max-request-bytes", "-1"], '--max-request-bytes must be a positive integer, got "-1"'],
    [["--max-output-bytes", "lots"], '--max-output-bytes must be a positive integer, got "lots"'],
    [["--max-submit-rate", "-1"], '--max-submit-rate must be a whole number (0 for no limit), got "-1"'],
    [["--max-streams-per-client", "2.5"], '--max-streams-per-client must be a whole number (0 for no limit), got "2.5"'],
    [["--max-events-per-workflow", "many"], '--max-events-per-workflow must be a whole number (0 for no limit), got "many"'],
    [["--cors-origin", "https://app.example.com/path"], '--cors-origin must be an origin like https://app.example.com (or "*"), got "https://app.example.com/path"'],
    [["--max-log-lines", "0"], '--max-log-lines must be a positive integer, got "0"'],
    [["--allowed-host", "http://x.example.com"], '--allowed-host takes a host name or address without scheme or port, e.g. horus.example.com, got "http://x.example.com"'],
    [["--max-connections", "0"], '--max-connections must be a positive integer, got "0"'],
    [["--headers-timeout", "99ms"], '--headers-timeout must be at least 100ms, got "99ms"'],
    [["--body-timeout", "fast"], '--body-timeout must be a duration like 30s or 5m, got "fast"'],
    [["--idle-timeout", "50ms"], '--idle-timeout must be at least 100ms, got "50ms"'],
    [["--max-memory-bytes", "0"], '--max-memory-bytes must be a positive integer, got "0"'],
    [["--max-duration", "a while"], '--max-duration must be a duration like 30s or 5m, got "a while"'],
    [["--max-cel-steps", "0"], '--max-cel-steps must be a positive integer, got "0"'],
    [["--max-cel-size", "lots"], '--max-cel-size must be a positive integer, got "lots"'],
    [["--max-cel-time", "-5s"], '--max-cel-time must be a duration like 30s or 5m, got "-5s"'],
    [["--max-cel-time", "0.1ms"], '--max-cel-time must be a positive duration like 5s, got "0.1ms"'],
    [["--max-workflow-depth", "2.5"], '--max-workflow-depth must be a positive integer, got "2.5"'],
    [["--max-transition-time", "soon"], '--max-transition-time must be a duration like 30s or 5m, got "soon"'],
    [["--max-transition-time", "0"], '--max-transition-time must be a positive duration like 5s, got "0"'],
    [["--inherit-env", "NOT A NAME"], '--inherit-env takes an environment variable name like MY_VAR, got "NOT A NAME"'],
  ];
  for (const [args, message] of cases) {
    it(args.join(" "), async () => {
      expect(await problem(args)).toBe(message);
    });
  }

  it("a log level commander would refuse is refused by the mapping too", () => {
    expect(coordinatorSettings({ ...COORDINATOR_DEFAULTS, logLevel: "loud" })).toEqual({ error: '--log-level takes fatal, error, warn, info, debug, trace, silent, got "loud"' });
  });
});

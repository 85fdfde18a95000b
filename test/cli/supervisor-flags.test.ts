// `horus supervisor`'s flags mapped to the supervisor server's options and
// its runner plan, without a process: the command line goes through the
// command's own commander definition (defaults and HORUS_* variables as a
// user gets them), its action replaced, and the parsed flags through the pure
// mapping.
import { describe, expect, it } from "vitest";
import { commandFlags } from "../helpers/command-flags.js";
import { registerSupervisor } from "../../src/cli/commands/supervisor.js";
import { SUPERVISOR_DEFAULTS, supervisorSettings, type SupervisorFlags, type SupervisorSettings } from "../../src/cli/supervisor-flags.js";

/** The flags commander hands the supervisor action for `horus supervisor ...args`, with `env` set meanwhile. */
const parsed = (args: string[], env: Record<string, string> = {}) => commandFlags<SupervisorFlags>(registerSupervisor, "supervisor", args, env);

async function settings(args: string[], env: Record<string, string> = {}): Promise<SupervisorSettings> {
  const result = supervisorSettings(await parsed(args, env));
  if ("error" in result) throw new Error(result.error);
  return result.settings;
}

async function problem(args: string[], env: Record<string, string> = {}): Promise<string | undefined> {
  const result = supervisorSettings(await parsed(args, env));
  return "error" in result ? result.error : undefined;
}

describe("supervisor flags to options", () => {
  it("the defaults: the built-in runners, no external ones, every limit at its documented default", async () => {
    expect(await settings([])).toEqual({
      server: { port: 8080, host: "127.0.0.1", register: [] },
      supervisor: { labels: {}, defaultTimeoutMs: 300_000, maxOutputBytes: 1024 * 1024, maxHeldOutputBytes: 256 * 1024 * 1024, eventBufferBytes: 256 * 1024 * 1024 },
      runners: { inheritEnv: [], jsMaxMemoryMb: 512, disabled: [] },
      security: { insecure: false, allowedHosts: [] },
      files: {},
      logLevel: "info",
    });
  });

  it("SUPERVISOR_DEFAULTS are what commander gives when no flag is typed", async () => {
    expect(await parsed([])).toEqual(SUPERVISOR_DEFAULTS);
  });

  const cases: Array<{ what: string; args: string[]; env?: Record<string, string>; pick: (s: SupervisorSettings) => unknown; expected: unknown }> = [
    { what: "one --capacity for every runner", args: ["--capacity", "16"], pick: (s) => s.supervisor.capacity, expected: 16 },
    { what: "--capacity per runner (a later one wins)", args: ["--capacity", "js=2", "--capacity", "shell=3", "--capacity", "js=4"], pick: (s) => s.supervisor.capacity, expected: { js: 4, shell: 3 } },
    { what: "no capacity option without --capacity", args: [], pick: (s) => "capacity" in s.supervisor, expected: false },
    { what: "--label pairs; a value may hold =", args: ["--label", "zone=eu", "--label", "expr=a=b"], pick: (s) => s.supervisor.labels, expected: { zone: "eu", expr: "a=b" } },
    { what: "--name", args: ["--name", "sup-a"], pick: (s) => s.supervisor.name, expected: "sup-a" },
    { what: "--register and --advertise-url", args: ["--register", "http://c1:9090", "--register", "https://c2", "--advertise-url", "http://me:8080"], pick: (s) => s.server, expected: { port: 8080, host: "127.0.0.1", register: ["http://c1:9090", "https://c2"], advertiseUrl: "http://me:8080" } },
    { what: "one budget for held outputs and the event buffer", args: ["--max-held-output-bytes", "1000"], pick: (s) => [s.supervisor.maxHeldOutputBytes, s.supervisor.eventBufferBytes], expected: [1000, 1000] },
    { what: "external runners with their Redis, prefix and lease", args: ["--external-runner", "upper", "--external-runner", "a.b-c_d", "--redis-url", "redis://r:6379", "--redis-prefix", "q", "--runner-lease", "100ms"], pick: (s) => s.runners.external, expected: { names: ["upper", "a.b-c_d"], redisUrl: "redis://r:6379", prefix: "q", leaseMs: 100 } },
    { what: "the external runners' Redis from HORUS_REDIS_URL", args: ["--external-runner", "upper"], env: { HORUS_REDIS_URL: "rediss://env:6380" }, pick: (s) => s.runners.external?.redisUrl, expected: "rediss://env:6380" },
    { what: "a Redis URL without external runners is not used (nor checked)", args: ["--redis-url", "localhost", "--runner-lease", "1ms"], pick: (s) => s.runners.external, expected: undefined },
    { what: "--disable-runner", args: ["--disable-runner", "js", "--disable-runner", "shell"], pick: (s) => s.runners.disabled, expected: ["js", "shell"] },
    { what: "--inherit-env and --js-max-memory-mb", args: ["--inherit-env", "PASSED_ON", "--js-max-memory-mb", "64"], pick: (s) => [s.runners.inheritEnv, s.runners.jsMaxMemoryMb], expected: [["PASSED_ON"], 64] },
    { what: "--allowed-host and HORUS_ALLOWED_HOSTS split at commas", args: [], env: { HORUS_ALLOWED_HOSTS: "a.example.com, 10.0.0.1" }, pick: (s) => s.security.allowedHosts, expected: ["a.example.com", "10.0.0.1"] },
    { what: "--run-as is passed on for the command to resolve", args: ["--run-as", "nobody"], pick: (s) => s.runAs, expected: "nobody" },
    { what: "files are named for the command to read", args: ["--tls-cert", "c", "--tls-key", "k", "--registration-token-file", "r", "--secret-file", "s"], pick: (s) => s.files, expected: { tlsCert: "c", tlsKey: "k", registrationTokenFile: "r", secretFile: "s" } },
    { what: "--default-timeout", args: ["--default-timeout", "30s"], pick: (s) => s.supervisor.defaultTimeoutMs, expected: 30_000 },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      expect(c.pick(await settings(c.args, c.env))).toEqual(c.expected);
    });
  }
});

describe("supervisor flag problems: one line naming the flag", () => {
  const cases: Array<[string[], string]> = [
    [["--port", "-1"], 'invalid port "-1"'],
    [["--inherit-env", "NOT A NAME"], '--inherit-env takes an environment variable name like MY_VAR, got "NOT A NAME"'],
    [["--register", "coordinator:9090"], '--register and --advertise-url take a base URL like http://coordinator:9090, got "coordinator:9090"'],
    [["--advertise-url", "me"], '--register and --advertise-url take a base URL like http://coordinator:9090, got "me"'],
    [["--js-max-memory-mb", "0"], '--js-max-memory-mb must be a positive integer, got "0"'],
    [["--max-held-output-bytes", "big"], '--max-held-output-bytes must be a positive integer, got "big"'],
    [["--runner-lease", "soon"], '--runner-lease must be a duration like 30s or 5m, got "soon"'],
    [["--external-runner", "x"], "--external-runner needs --redis-url (the Redis its runner processes read jobs from)"],
    [["--external-runner", "x", "--redis-url", "localhost:6379"], '--redis-url must look like redis://host:6379, got "localhost:6379"'],
    [["--external-runner", "x", "--redis-url", "redis://r", "--runner-lease", "99ms"], '--runner-lease must be at least 100ms, got "99ms"'],
    [["--external-runner", "x", "--redis-url", "redis://r", "--redis-prefix", "{q}"], '--redis-prefix may hold letters, digits, "_", "." and "-" only, got "{q}"'],
    [["--external-runner", "a b", "--redis-url", "redis://r"], '--external-runner takes a runner name of letters, digits, "_", "." and "-", got "a b"'],
    [["--disable-runner", "python"], '--disable-runner takes js, shell or noop, got "python"'],
    [["--allowed-host", "host:8080"], '--allowed-host takes a host name or address without scheme or port, e.g. horus.example.com, got "host:8080"'],
    [["--capacity", "0"], '--capacity must be a positive integer, got "0"'],
    [["--capacity", "js=2", "--capacity", "8"], '--capacity expects key=value, got "8"'],
    [["--capacity", "js=many"], '--capacity js must be a positive integer, got "many"'],
    [["--label", "zone"], '--label expects key=value, got "zone"'],
    [["--default-timeout", "later"], '--default-timeout must be a duration like 30s or 5m, got "later"'],
    [["--max-output-bytes", "1e3x"], '--max-output-bytes must be a positive integer, got "1e3x"'],
  ];
  for (const [args, message] of cases) {
    it(args.join(" "), async () => {
      expect(await problem(args)).toBe(message);
    });
  }
});

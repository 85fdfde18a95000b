#!/usr/bin/env node
// `horus`: run a coordinator or supervisor, or talk to a coordinator.
// Thin by design: every command calls the generated client, and every
// failure becomes one line on stderr and a non-zero exit.
import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { create, toJson } from "@bufbuild/protobuf";
import { planToProto, problemsToProto } from "../coordinator/convert.js";
import { ListSupervisorsResponseSchema, ListWorkflowsResponseSchema, SubmitWorkflowResponseSchema, SubmitWorkflowsResponseSchema, ValidateWorkflowResponseSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { LogStream, WorkflowSchema, WorkflowTemplateSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { toValueMap, type JsonMap, type JsonValue } from "../common/json.js";
import { createLogger, type Logger, type LogLevel } from "../common/logger.js";
import { WorkflowState, parseWorkflowState, workflowStateName } from "../engine/states.js";
import { parseWorkflowYaml } from "../workflow/parse.js";
import { validateAndPlan } from "../workflow/plan.js";
import { parseDuration } from "../workflow/duration.js";
import { parseInputText } from "../workflow/inputs.js";
import { CliError, coordinatorClient, describeError } from "./client.js";
import { followWorkflow } from "./follow.js";
import { summaryLine, workflowText } from "./format.js";
import { registerSchedule } from "./commands/schedule.js";
import { styleFor } from "./colour.js";
import { reachableRunnerWarnings } from "./runner-check.js";
import { asksForVersion, packageVersion, registerVersion } from "./commands/version.js";
import { registerCompletion } from "./commands/completion.js";

const DEFAULT_COORDINATOR = process.env.HORUS_COORDINATOR || "http://localhost:9090";
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

interface Globals {
  coordinator: string;
  json: boolean;
  tokenFile?: string;
  caFile?: string;
}

const program = new Command();
program
  .name("horus")
  .description("Horus Coordinator: run DAG workflows on supervisors and runners.")
  .option("--coordinator <url>", "coordinator to talk to (env HORUS_COORDINATOR)", DEFAULT_COORDINATOR)
  .option("--json", "print machine-readable JSON", false)
  .option("--token-file <file>", "clients: the bearer token to send (first line; env HORUS_TOKEN holds the token itself); coordinator and supervisor: the accepted tokens, `TOKEN [ROLE]` per line (env HORUS_TOKENS)")
  .option("--ca-file <file>", "PEM CA certificates to trust for https:// URLs (env HORUS_CA_FILE)")
  .showHelpAfterError("(run `horus --help` for usage)")
  .configureOutput({ outputError: (str, write) => write(str) })
  .exitOverride();

registerVersion(program);

function globals(): Globals {
  return program.opts<Globals>();
}

/** How `run`, `watch` and `retry` follow a workflow: live on a terminal, in colour unless NO_COLOR. */
function followOptions() {
  return { live: !globals().json && process.stdout.isTTY === true, json: globals().json, out: process.stdout, style: styleFor(process.stdout) };
}

/** Submission warnings (e.g. a runner no supervisor offers) on stderr, so stdout stays the ids or the run. */
function printWarnings(warnings: string[], prefix = ""): void {
  const style = styleFor(process.stderr);
  for (const w of warnings) process.stderr.write(`${style.warn("warning:")} ${prefix}${w}\n`);
}

// The client commands read the token and CA through the environment (client.ts).
program.hook("preAction", () => {
  const g = globals();
  if (g.tokenFile) process.env.HORUS_TOKEN_FILE = g.tokenFile;
  if (g.caFile) process.env.HORUS_CA_FILE = g.caFile;
});

function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

async function readDefinition(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : code ?? String(err)}`);
  }
}

/**
 * `--input key=value` and `--inputs file.json`. A value is converted by its
 * input's declared type when the workflow declares it (`yaml`: the
 * definition), else parsed as JSON when it is JSON.
 */
async function collectInputs(pairs: string[], file: string | undefined, yaml?: string): Promise<JsonMap> {
  const declared = yaml === undefined ? undefined : parseWorkflowYaml(yaml).definition?.inputs;
  const inputs: JsonMap = {};
  if (file) {
    const text = await readDefinition(file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new CliError(`${file} must hold a JSON object`);
    Object.assign(inputs, parsed);
  }
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError(`--input expects key=value, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    const key = pair.slice(0, eq);
    const decl = declared && Object.hasOwn(declared, key) ? declared[key] : undefined;
    if (decl) {
      const got = parseInputText(key, decl.type, raw);
      if ("error" in got) throw new CliError(`--input ${got.error}`);
      inputs[key] = got.value;
      continue;
    }
    let value: JsonValue;
    try {
      value = JSON.parse(raw) as JsonValue;
    } catch {
      value = raw;
    }
    inputs[pair.slice(0, eq)] = value;
  }
  return inputs;
}

async function submit(file: string, opts: { input: string[]; inputs?: string; idempotencyKey?: string }) {
  const yaml = await readDefinition(file);
  const inputs = await collectInputs(opts.input, opts.inputs, yaml);
  const client = coordinatorClient(globals().coordinator);
  const res = await client.submitWorkflow({
    definition: { case: "yaml", value: yaml },
    inputs: toValueMap(inputs),
    idempotencyKey: opts.idempotencyKey ?? "",
  });
  return { client, res };
}

/**
 * Several files in one SubmitWorkflows call, each with the same inputs.
 * With an idempotency key, file n (from 1) is submitted under "KEY:n", so
 * running the same command again starts nothing new.
 */
async function submitMany(files: string[], opts: { input: string[]; inputs?: string; idempotencyKey?: string }) {
  const yamls = await Promise.all(files.map(readDefinition));
  const inputs = await Promise.all(yamls.map(async (yaml) => toValueMap(await collectInputs(opts.input, opts.inputs, yaml))));
  const client = coordinatorClient(globals().coordinator);
  return client.submitWorkflows({
    workflows: yamls.map((yaml, i) => ({
      definition: { case: "yaml", value: yaml },
      inputs: inputs[i]!,
      idempotencyKey: opts.idempotencyKey ? `${opts.idempotencyKey}:${i + 1}` : "",
    })),
  });
}

const collect = (value: string, previous: string[]) => [...previous, value];

program
  .command("coordinator")
  .description("Run a coordinator. Without --supervisor it runs the reference supervisor in-process; without --redis-url state lives in memory.")
  .option("-p, --port <port>", "port for Connect, gRPC and gRPC-web (HTTP/1.1 and h2c)", "9090")
  .option("--host <host>", "interface to bind", "127.0.0.1")
  .option("--supervisor <url>", "supervisor base URL (repeatable)", collect, [])
  .option("--max-steps <n>", "most steps one workflow may have", "10000")
  .option("--max-payload-bytes <n>", "largest step payload in bytes", String(256 * 1024))
  .addOption(new Option("--redis-url <url>", "keep state in Redis, shared by every coordinator on it (comma-separated seeds with --redis-cluster)").env("HORUS_REDIS_URL"))
  .option("--redis-cluster", "the Redis URL names Redis Cluster seed nodes", false)
  .option("--redis-prefix <prefix>", "prefix of every Redis key, so deployments can share one Redis", "horus")
  .option("--retention <duration>", "how long finished workflows, their events and logs are kept in Redis", "7d")
  .option("--lease <duration>", "workflow ownership lease; a dead coordinator's workflows move to another within ~1.33x this", "6s")
  .option("--supervisor-timeout <duration>", "a supervisor silent this long is down; its jobs run elsewhere", "5s")
  .option("--unroutable-timeout <duration>", "a step no supervisor can serve fails NO_SUPERVISOR after waiting this long", "60s")
  .option("--registration-lease <duration>", "how long a RegisterSupervisor registration lasts unless renewed", "10s")
  .option("--no-embedded", "without --supervisor, do not run the in-process supervisor (use registered ones only)")
  .option("--insecure", "allow listening on a non-loopback --host without tokens (anyone who reaches the port can run code)", false)
  .option("--public-metrics", "serve /metrics without a token", false)
  .option("--tls-cert <file>", "PEM certificate (chain): serve TLS, HTTP/2 and HTTP/1.1 by ALPN (with --tls-key)")
  .option("--tls-key <file>", "PEM private key for --tls-cert")
  .option("--supervisor-token-file <file>", "token sent to supervisors: `TOKEN` for all, or `URL TOKEN` per supervisor, one a line")
  .option("--max-request-bytes <n>", "largest request on any surface, in bytes", String(4 * 1024 * 1024))
  .option("--max-output-bytes <n>", "largest step output accepted from a supervisor, JSON bytes", String(4 * 1024 * 1024))
  .option("--max-submit-rate <n>", "workflow submissions per second per token, each definition of a batch counting (bursts of twice that; 0: no limit)", "200")
  .option("--max-streams-per-client <n>", "open streams (watches, followed logs, WebSocket subscriptions) per token (0: no limit)", "256")
  .option("--max-events-per-workflow <n>", "events kept per workflow in the store; older ones are trimmed (0: all)", "100000")
  .option("--cors-origin <origin>", 'browser origin allowed to call, e.g. https://app.example.com, or "*" for any (repeatable)', collect, [])
  .option("--max-log-lines <n>", "log lines kept per step attempt; later ones are dropped after a truncation marker", "10000")
  .addOption(new Option("--allowed-host <name>", 'host name (or address) clients may call this coordinator by, besides loopback, --host and the TLS certificate\'s names; "*" for any (repeatable; env: comma-separated)').env("HORUS_ALLOWED_HOSTS").argParser(collect).default([]))
  .option("--max-connections <n>", "open connections; past it the oldest idle connection without a valid token is closed for a new one", "10000")
  .option("--headers-timeout <duration>", "a request head (and a new connection's first request) must arrive within this", "20s")
  .option("--body-timeout <duration>", "a request body must arrive within this after its head", "60s")
  .option("--idle-timeout <duration>", "connections (HTTP/1.1 keep-alive, HTTP/2) with no request in progress are closed after this", "60s")
  .option("--max-memory-bytes <n>", "without --redis-url: estimated bytes of workflow state kept in memory; the oldest finished workflows are forgotten beyond it (default: a third of the heap limit)")
  .option("--max-duration <duration>", "longest timeout or retry backoff a definition may ask for", "30d")
  .option("--max-cel-steps <n>", "evaluation steps one when/for_each evaluation may take (refused at submit when it cannot fit, else its step fails)", "1000000")
  .option("--max-cel-size <n>", "elements (and string characters / 16) of any list or string one when/for_each evaluation builds", "1000000")
  .option("--max-cel-time <duration>", "wall-clock limit of one when/for_each evaluation", "5s")
  .option("--max-workflow-depth <n>", "levels of sub-workflows (inline or templates); deeper fails the step WORKFLOW_TOO_DEEP", "8")
  .option("--max-transition-time <duration>", "longest one workflow's state transition may hold the coordinator; past it the workflow is quarantined (FAILED, INTERNAL)", "10s")
  .option("--inherit-env <name>", "in-process supervisor: pass this environment variable to js and shell steps, which otherwise get only PATH, HOME, LANG, TZ and HORUS_* job variables (repeatable)", collect, [])
  .option("--secret-file <file>", "in-process supervisor: named secrets for steps that declare them, one NAME=value a line; re-read on SIGHUP")
  .addOption(new Option("--log-level <level>", "log level").choices(LOG_LEVELS).default("info"))
  .action(async (opts) => {
    const { startCoordinator } = await import("../coordinator/app.js");
    const inheritEnv = envNames(opts.inheritEnv as string[]);
    const { builtinRunners } = await import("../runners/index.js");
    const supervisorTimeoutMs = durationOption(opts.supervisorTimeout, "--supervisor-timeout");
    const unroutableTimeoutMs = durationOption(opts.unroutableTimeout, "--unroutable-timeout");
    const registrationLeaseMs = durationOption(opts.registrationLease, "--registration-lease");
    if (supervisorTimeoutMs < 200) throw new CliError(`--supervisor-timeout must be at least 200ms, got "${opts.supervisorTimeout}"`);
    if (registrationLeaseMs < 300) throw new CliError(`--registration-lease must be at least 300ms, got "${opts.registrationLease}"`);
    for (const u of opts.supervisor as string[]) {
      if (!/^https?:\/\/[^\s/]+/.test(u)) throw new CliError(`--supervisor must be a base URL like http://supervisor1:8080, got "${u}"`);
    }
    const logger = createLogger(opts.logLevel as LogLevel, "coordinator");
    const secrets = opts.secretFile ? await secretFileOption(opts.secretFile as string, logger) : undefined;
    const lease = durationOption(opts.lease, "--lease");
    if (lease < 300) throw new CliError(`--lease must be at least 300ms, got "${opts.lease}"`);
    if (opts.redisUrl) {
      for (const u of String(opts.redisUrl).split(",")) {
        if (!/^rediss?:\/\/[^\s/]+/.test(u.trim())) throw new CliError(`--redis-url must look like redis://host:6379, got "${u.trim()}"`);
      }
    }
    const retention = durationOption(opts.retention, "--retention");
    const cors = (opts.corsOrigin as string[]).map((o) => o.replace(/\/$/, ""));
    for (const o of cors) {
      if (o !== "*" && !/^https?:\/\/[^\s/]+$/.test(o)) throw new CliError(`--cors-origin must be an origin like https://app.example.com (or "*"), got "${o}"`);
    }
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(opts.redisPrefix)) throw new CliError(`--redis-prefix may hold letters, digits, "_", "." and "-" only, got "${opts.redisPrefix}"`);
    const sec = await import("./security.js");
    const security = {
      ...sec.serverTokens(globals().tokenFile),
      ...(await sec.tlsOptions(opts.tlsCert, opts.tlsKey)),
      ...sec.caOption(globals().caFile),
      ...(opts.supervisorTokenFile ? { supervisorTokens: sec.supervisorTokens(opts.supervisorTokenFile) } : {}),
      insecure: opts.insecure === true,
      publicMetrics: opts.publicMetrics === true,
      maxRequestBytes: parsePositive(opts.maxRequestBytes, "--max-request-bytes"),
      maxOutputBytes: parsePositive(opts.maxOutputBytes, "--max-output-bytes"),
      clientLimits: { submitsPerSecond: parseCount(opts.maxSubmitRate, "--max-submit-rate"), maxStreamsPerClient: parseCount(opts.maxStreamsPerClient, "--max-streams-per-client") },
      allowedHosts: allowedHostsOption(opts.allowedHost as string[]),
      connections: {
        maxConnections: parsePositive(opts.maxConnections, "--max-connections"),
        headersTimeoutMs: timeoutOption(opts.headersTimeout, "--headers-timeout"),
        bodyTimeoutMs: timeoutOption(opts.bodyTimeout, "--body-timeout"),
        idleTimeoutMs: timeoutOption(opts.idleTimeout, "--idle-timeout"),
      },
    };
    sec.checkHost(opts.host, security);
    const maxEvents = parseCount(opts.maxEventsPerWorkflow, "--max-events-per-workflow");
    const maxMemoryBytes = opts.maxMemoryBytes === undefined ? {} : { maxMemoryBytes: parsePositive(opts.maxMemoryBytes, "--max-memory-bytes") };
    const maxDurationMs = durationOption(opts.maxDuration, "--max-duration");
    const celBudget = {
      maxSteps: parsePositive(opts.maxCelSteps, "--max-cel-steps"),
      maxSize: parsePositive(opts.maxCelSize, "--max-cel-size"),
      maxMillis: positiveDuration(opts.maxCelTime, "--max-cel-time"),
    };
    const maxDepth = parsePositive(opts.maxWorkflowDepth, "--max-workflow-depth");
    const transitionBudgetMs = positiveDuration(opts.maxTransitionTime, "--max-transition-time");
    const start = () => startCoordinator({
      security,
      ...(opts.redisUrl ? {} : { memory: { maxEventsPerWorkflow: maxEvents, ...maxMemoryBytes } }),
      port: parsePort(opts.port),
      host: opts.host,
      supervisors: opts.supervisor,
      embedded: opts.embedded !== false,
      supervisorTimeoutMs,
      unroutableTimeoutMs,
      registrationLeaseMs,
      limits: { maxSteps: parsePositive(opts.maxSteps, "--max-steps"), maxPayloadBytes: parsePositive(opts.maxPayloadBytes, "--max-payload-bytes"), maxDurationMs, celBudget, maxDepth },
      transitionBudgetMs,
      ...(opts.redisUrl ? { redis: { url: opts.redisUrl, cluster: opts.redisCluster, prefix: opts.redisPrefix, retentionMs: retention, maxEventsPerWorkflow: maxEvents }, leaseMs: lease } : {}),
      ...(cors.length > 0 ? { cors: { origins: cors } } : {}),
      maxLogLinesPerStep: parsePositive(opts.maxLogLines, "--max-log-lines"),
      ...(inheritEnv.length > 0 || secrets ? { embeddedSupervisor: { ...(inheritEnv.length > 0 ? { runners: builtinRunners({ inheritEnv }) } : {}), ...(secrets ? { secrets } : {}) } } : {}),
      logger,
    });
    await serve("coordinator", logger, start);
  });

program
  .command("supervisor")
  .description("Run the reference supervisor with the built-in runners (js, shell, noop).")
  .option("-p, --port <port>", "port to serve SupervisorService on", "8080")
  .option("--host <host>", "interface to bind", "127.0.0.1")
  .option("--name <name>", "name reported to coordinators")
  .option("--capacity <n|runner=n>", "jobs a runner may run at once: N for every runner, or runner=N (repeatable)", collect, [])
  .option("--label <key=value>", "label reported to coordinators (repeatable)", collect, [])
  .option("--default-timeout <duration>", "time limit of steps without a timeout, e.g. 30s, 5m", "5m")
  .option("--register <url>", "register with this coordinator and keep the registration alive (repeatable)", collect, [])
  .option("--advertise-url <url>", "URL coordinators reach this supervisor at (default: the listening URL)")
  .option("--external-runner <name>", "serve runner NAME through Redis queues for external runner processes (repeatable; needs --redis-url)", collect, [])
  .addOption(new Option("--redis-url <url>", "Redis for --external-runner queues").env("HORUS_REDIS_URL"))
  .option("--redis-prefix <prefix>", "prefix of the runner queue keys", "horus")
  .option("--runner-lease <duration>", "an external runner process renews its job lease within this; a job whose lease ran out is re-queued", "10s")
  .option("--insecure", "allow listening on a non-loopback --host without tokens", false)
  .option("--tls-cert <file>", "PEM certificate (chain): serve TLS, HTTP/2 and HTTP/1.1 by ALPN (with --tls-key)")
  .option("--tls-key <file>", "PEM private key for --tls-cert")
  .option("--registration-token-file <file>", "token for RegisterSupervisor with --register (env HORUS_REGISTRATION_TOKEN)")
  .option("--run-as <user>", "run js and shell steps as this OS user (name or uid[:gid]); needs root")
  .option("--disable-runner <name>", "do not offer this built-in runner, e.g. js or shell (repeatable)", collect, [])
  .option("--max-output-bytes <n>", "largest job output, JSON bytes", String(1024 * 1024))
  .addOption(new Option("--allowed-host <name>", "without tokens: host name coordinators may call this supervisor by, besides loopback, --host, the TLS certificate's and --advertise-url's (repeatable; env: comma-separated)").env("HORUS_ALLOWED_HOSTS").argParser(collect).default([]))
  .option("--inherit-env <name>", "pass this environment variable to js and shell steps, which otherwise get only PATH, HOME, LANG, TZ and HORUS_* job variables (repeatable)", collect, [])
  .option("--max-held-output-bytes <n>", "most JSON bytes of outputs kept for finished jobs (and, separately, in the event buffer); the oldest go first", String(256 * 1024 * 1024))
  .option("--js-max-memory-mb <n>", "resident memory of a js step's process in MB, ArrayBuffers included; past it the step fails MEMORY_LIMIT", "512")
  .option("--secret-file <file>", "named secrets for steps that declare them (secrets: [NAME]): one NAME=value a line, # comments; re-read on SIGHUP")
  .addOption(new Option("--log-level <level>", "log level").choices(LOG_LEVELS).default("info"))
  .action(async (opts) => {
    const { startSupervisorServer } = await import("../server/supervisor-server.js");
    const inheritEnv = envNames(opts.inheritEnv as string[]);
    const logger = createLogger(opts.logLevel as LogLevel, "supervisor");
    const secrets = opts.secretFile ? await secretFileOption(opts.secretFile as string, logger) : undefined;
    for (const u of [...(opts.register as string[]), ...(opts.advertiseUrl ? [opts.advertiseUrl as string] : [])]) {
      if (!/^https?:\/\/[^\s/]+/.test(u)) throw new CliError(`--register and --advertise-url take a base URL like http://coordinator:9090, got "${u}"`);
    }
    const sec = await import("./security.js");
    const runAs = opts.runAs ? sec.resolveUser(opts.runAs) : undefined;
    const jsMemory = parsePositive(opts.jsMaxMemoryMb, "--js-max-memory-mb");
    const heldBytes = parsePositive(opts.maxHeldOutputBytes, "--max-held-output-bytes");
    const runners = await runnerSet(opts.externalRunner as string[], opts.redisUrl, opts.redisPrefix, durationOption(opts.runnerLease, "--runner-lease"), logger, runAs, inheritEnv, jsMemory);
    for (const name of opts.disableRunner as string[]) {
      if (!["js", "shell", "noop"].includes(name)) throw new CliError(`--disable-runner takes js, shell or noop, got "${name}"`);
      await runners.get(name)?.close?.();
      runners.delete(name);
    }
    const registrationToken = sec.registrationToken(opts.registrationTokenFile);
    const security = {
      ...sec.serverTokens(globals().tokenFile),
      ...(await sec.tlsOptions(opts.tlsCert, opts.tlsKey)),
      ...sec.caOption(globals().caFile),
      ...(registrationToken ? { registrationToken } : {}),
      insecure: opts.insecure === true,
      allowedHosts: allowedHostsOption(opts.allowedHost as string[]),
    };
    sec.checkHost(opts.host, security);
    if (runAs) logger.info({ uid: runAs.uid, gid: runAs.gid }, "js and shell steps run as another user");
    const start = () => startSupervisorServer({
      security,
      port: parsePort(opts.port),
      host: opts.host,
      logger,
      register: opts.register,
      ...(opts.advertiseUrl ? { advertiseUrl: opts.advertiseUrl } : {}),
      supervisor: {
        runners,
        ...(opts.name ? { name: opts.name } : {}),
        ...capacityOption(opts.capacity as string[]),
        labels: pairs(opts.label as string[], "--label"),
        defaultTimeoutMs: durationOption(opts.defaultTimeout, "--default-timeout"),
        maxOutputBytes: parsePositive(opts.maxOutputBytes, "--max-output-bytes"),
        maxHeldOutputBytes: heldBytes,
        eventBufferBytes: heldBytes,
        ...(secrets ? { secrets } : {}),
      },
    });
    // Without --register nothing connects to it until a coordinator names it: say how, since a step waits READY meanwhile.
    const unregistered = (url: string) => `not registered with any coordinator: pass --register http://localhost:9090 (the coordinator's URL), or start the coordinator with --supervisor ${opts.advertiseUrl ?? url}`;
    await serve("supervisor", logger, start, (opts.register as string[]).length === 0 ? unregistered : undefined);
  });

program
  .command("supervisors")
  .description("List the coordinator's supervisors with health and load.")
  .action(async () => {
    const res = await coordinatorClient(globals().coordinator).listSupervisors({});
    if (globals().json) return printJson(toJson(ListSupervisorsResponseSchema, res));
    if (res.supervisors.length === 0) return print("no supervisors");
    for (const s of res.supervisors) {
      const load = s.runners.map((r) => `${r.name} ${r.inFlight}/${r.capacity}`).join(", ");
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",");
      print(`${s.name.padEnd(16)} ${s.health.padEnd(10)} ${s.source.padEnd(10)} ${s.url || "-"}  ${load}${labels ? `  [${labels}]` : ""}`);
    }
  });

program
  .command("run")
  .description("Submit a workflow file and follow it live until it ends. Exit 0 when it succeeds, 1 when it fails or is cancelled.")
  .argument("<file>", "workflow YAML file")
  .option("--input <key=value>", "a workflow input, converted by its declared type (else parsed as JSON when it is JSON) (repeatable)", collect, [])
  .option("--inputs <file>", "workflow inputs from a JSON object file")
  .option("--idempotency-key <key>", "submit at most once per key")
  .action(async (file, opts) => {
    const { client, res } = await submit(file, opts);
    printWarnings(res.warnings);
    const final = await followWorkflow(client, res.workflowId, followOptions());
    process.exitCode = final.state === WorkflowState.SUCCEEDED ? 0 : 1;
  });

program
  .command("watch")
  .description("Follow a workflow live until it ends (exit code as for run).")
  .argument("<id>", "workflow id")
  .action(async (id) => {
    const client = coordinatorClient(globals().coordinator);
    const final = await followWorkflow(client, id, followOptions());
    process.exitCode = final.state === WorkflowState.SUCCEEDED ? 0 : 1;
  });

program
  .command("submit")
  .description("Submit workflow files and print their ids, one line each in the order given. Several files go in one call: if any is invalid, none is submitted.")
  .argument("<file...>", "workflow YAML files")
  .option("--input <key=value>", "a workflow input (repeatable; every file gets the same)", collect, [])
  .option("--inputs <file>", "workflow inputs from a JSON object file")
  .option("--idempotency-key <key>", "submit at most once per key (with several files, file n is submitted under KEY:n)")
  .action(async (files: string[], opts) => {
    if (files.length === 1) {
      const { res } = await submit(files[0]!, opts);
      printWarnings(res.warnings);
      if (globals().json) printJson(toJson(SubmitWorkflowResponseSchema, res));
      else print(res.workflowId);
      return;
    }
    const res = await submitMany(files, opts);
    res.workflows.forEach((w, i) => printWarnings(w.warnings, `${files[i]}: `));
    if (globals().json) printJson(toJson(SubmitWorkflowsResponseSchema, res));
    else print(res.workflows.map((w) => w.workflowId).join("\n"));
  });

program
  .command("status")
  .description("Show a workflow and its steps.")
  .argument("<id>", "workflow id")
  .action(async (id) => {
    const res = await coordinatorClient(globals().coordinator).getWorkflow({ workflowId: id });
    if (globals().json) printJson(toJson(WorkflowSchema, res.workflow!));
    else print(workflowText(res.workflow!, styleFor(process.stdout)));
  });

program
  .command("list")
  .description("List workflows, newest first.")
  .option("--state <state>", "only this state: pending, running, succeeded, failed, cancelled (repeatable)", collect, [])
  .option("--name <name>", "only workflows with this name")
  .option("--limit <n>", "how many", "50")
  .option("--page-token <token>", "continue a previous listing")
  .action(async (opts) => {
    const states = (opts.state as string[]).map((s) => {
      const st = parseWorkflowState(s);
      if (st === undefined) throw new CliError(`unknown state "${s}" (use pending, running, succeeded, failed or cancelled)`);
      return st;
    });
    const res = await coordinatorClient(globals().coordinator).listWorkflows({
      states,
      name: opts.name ?? "",
      pageSize: parsePositive(opts.limit, "--limit"),
      pageToken: opts.pageToken ?? "",
    });
    if (globals().json) return printJson(toJson(ListWorkflowsResponseSchema, res));
    if (res.workflows.length === 0) return print("no workflows");
    const style = styleFor(process.stdout);
    print(res.workflows.map((w) => summaryLine(w, style)).join("\n"));
    if (res.nextPageToken) print(`more: --page-token ${res.nextPageToken}`);
  });

program
  .command("cancel")
  .description("Cancel a workflow; running jobs are asked to stop.")
  .argument("<id>", "workflow id")
  .option("--reason <text>", "why, recorded with the workflow")
  .action(async (id, opts) => {
    const res = await coordinatorClient(globals().coordinator).cancelWorkflow({ workflowId: id, reason: opts.reason ?? "" });
    if (globals().json) printJson({ state: workflowStateName(res.state) });
    else print(`workflow ${id} ${workflowStateName(res.state)}`);
  });

program
  .command("retry")
  .description("Run a FAILED or CANCELLED workflow again from where it failed (same id; succeeded steps keep their outputs).")
  .argument("<id>", "workflow id")
  .option("--no-follow", "return at once instead of following it to the end")
  .action(async (id, opts) => {
    const client = coordinatorClient(globals().coordinator);
    const res = await client.retryWorkflow({ workflowId: id });
    if (!opts.follow) {
      if (globals().json) printJson({ state: workflowStateName(res.state) });
      else print(`workflow ${id} ${workflowStateName(res.state)}`);
      return;
    }
    const final = await followWorkflow(client, id, followOptions());
    process.exitCode = final.state === WorkflowState.SUCCEEDED ? 0 : 1;
  });

const template = program.command("template").description("Versioned workflow templates, run by sub-workflow steps (`workflow: {template: NAME}`).");

template
  .command("register")
  .description("Store a workflow file as the next version of a template (the same content as the latest version keeps that version).")
  .argument("<name>", "template name")
  .argument("<file>", "workflow YAML file")
  .action(async (name, file) => {
    const yaml = await readDefinition(file);
    const res = await coordinatorClient(globals().coordinator).registerWorkflowTemplate({ name, definition: { case: "yaml", value: yaml } });
    if (globals().json) printJson(toJson(WorkflowTemplateSchema, res.template!));
    else print(`template ${name} version ${res.template!.version}${res.existing ? " (unchanged: same content as that version)" : ""}`);
  });

template
  .command("list")
  .description("Every template with its latest version.")
  .action(async () => {
    const res = await coordinatorClient(globals().coordinator).listWorkflowTemplates({});
    if (globals().json) printJson(res.templates.map((t) => toJson(WorkflowTemplateSchema, t)));
    else for (const t of res.templates) print(`${t.name}  v${t.version}  ${t.spec?.steps.length ?? 0} steps`);
  });

template
  .command("get")
  .description("Print one version of a template (the latest by default) as JSON.")
  .argument("<name>", "template name")
  .option("--version <n>", "version number", "0")
  .action(async (name, opts) => {
    const version = Number(opts.version);
    if (!Number.isInteger(version) || version < 0) throw new CliError(`--version must be a version number, got "${opts.version}"`);
    const res = await coordinatorClient(globals().coordinator).getWorkflowTemplate({ name, version });
    printJson(toJson(WorkflowTemplateSchema, res.template!));
  });

program
  .command("logs")
  .description("Print the log lines of a workflow's steps.")
  .argument("<id>", "workflow id")
  .option("-f, --follow", "keep printing new lines until the workflow ends", false)
  .option("--step <id>", "only this step")
  .action(async (id, opts) => {
    const client = coordinatorClient(globals().coordinator);
    for await (const res of client.getWorkflowLogs({ workflowId: id, stepId: opts.step ?? "", follow: opts.follow })) {
      for (const l of res.lines) {
        if (globals().json) print(JSON.stringify({ step: l.stepId, attempt: l.attempt, stream: LogStream[l.stream]?.toLowerCase(), line: l.line }));
        else print(`${l.stepId}${l.attempt > 1 ? `#${l.attempt}` : ""} | ${l.stream === LogStream.STDERR ? "! " : ""}${l.line}`);
      }
    }
  });

program
  .command("validate")
  .description("Check a workflow file without running it (no coordinator needed). Exit 1 with every problem when invalid. When a coordinator answers, also warn about runners none of its supervisors offers.")
  .argument("<file>", "workflow YAML file")
  .option("--max-steps <n>", "most steps one workflow may have", "10000")
  .action(async (file, opts) => {
    const parsed = parseWorkflowYaml(await readDefinition(file));
    const problems = [...parsed.problems];
    let levels: string[][] = [];
    if (parsed.definition) {
      const result = validateAndPlan(parsed.definition, { maxSteps: parsePositive(opts.maxSteps, "--max-steps") });
      problems.push(...result.problems);
      levels = result.plan?.levels ?? [];
    }
    if (globals().json) {
      printJson(toJson(ValidateWorkflowResponseSchema, create(ValidateWorkflowResponseSchema, { valid: problems.length === 0, problems: problemsToProto(problems), plan: planToProto(levels) })));
    } else if (problems.length > 0) {
      process.stderr.write(`${file}: ${problems.length} problem${problems.length > 1 ? "s" : ""}\n${problems.map((p) => `  ${p.field ? `${p.field}: ` : ""}${p.message}`).join("\n")}\n`);
    } else {
      print(`${file}: valid, ${parsed.definition!.steps.length} steps in ${levels.length} levels`);
      levels.forEach((l, i) => print(`  level ${i}: ${l.join(", ")}`));
    }
    if (problems.length > 0) process.exitCode = 1;
    else printWarnings(await reachableRunnerWarnings(globals().coordinator, parsed.definition!));
  });

function pairs(items: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new CliError(`${flag} expects key=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function capacityOption(items: string[]): { capacity?: number | Record<string, number> } {
  if (items.length === 0) return {};
  if (items.length === 1 && !items[0]!.includes("=")) return { capacity: parsePositive(items[0]!, "--capacity") };
  const perRunner: Record<string, number> = {};
  for (const [runner, n] of Object.entries(pairs(items, "--capacity"))) perRunner[runner] = parsePositive(n, `--capacity ${runner}`);
  return { capacity: perRunner };
}

/** The built-in runners plus one Redis-queue runner per --external-runner name. */
async function runnerSet(names: string[], redisUrl: string | undefined, prefix: string, leaseMs: number, logger: Logger, runAs: { uid: number; gid: number } | undefined, inheritEnv: string[], jsMaxMemoryMb: number) {
  const { builtinRunners } = await import("../runners/index.js");
  const runners = builtinRunners({ inheritEnv, js: { maxMemoryMb: jsMaxMemoryMb, ...(runAs ? { runAs } : {}) }, ...(runAs ? { shell: { runAs } } : {}) });
  if (names.length === 0) return runners;
  if (!redisUrl) throw new CliError("--external-runner needs --redis-url (the Redis its runner processes read jobs from)");
  if (!/^rediss?:\/\/[^\s/]+/.test(redisUrl)) throw new CliError(`--redis-url must look like redis://host:6379, got "${redisUrl}"`);
  if (leaseMs < 100) throw new CliError("--runner-lease must be at least 100ms");
  const { createRedisQueueRunner } = await import("../runners/redis-queue/runner.js");
  for (const name of names) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new CliError(`--external-runner takes a runner name of letters, digits, "_", "." and "-", got "${name}"`);
    runners.set(name, createRedisQueueRunner({ name, redisUrl, prefix, leaseMs, onWarning: (msg) => logger.warn(msg) }));
  }
  return runners;
}

/** `--secret-file`, read before serving (a bad file is a one-line error) and again on SIGHUP. */
async function secretFileOption(path: string, logger: Logger) {
  const { loadSecretFile, reloadOnSighup } = await import("../supervisor/secrets.js");
  let file;
  try {
    file = await loadSecretFile(path);
  } catch (err) {
    throw new CliError(`--secret-file ${(err as Error).message}`);
  }
  logger.info(`secrets loaded from ${path}: ${file.names().length} held (${file.names().join(", ") || "none"})`);
  reloadOnSighup(file, path, { info: (m) => logger.info(m), warn: (m) => logger.warn(m) });
  return file;
}

/** `--inherit-env` names, checked: a step's environment is no place for a typo to go unnoticed. */
function envNames(names: string[]): string[] {
  for (const name of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new CliError(`--inherit-env takes an environment variable name like MY_VAR, got "${name}"`);
  }
  return names;
}

function durationOption(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new CliError(`${flag} must be a duration like 30s or 5m, got "${text}"`);
  return ms;
}

/** A duration of at least 1 ms (zero would refuse everything). */
function positiveDuration(text: string, flag: string): number {
  const ms = durationOption(text, flag);
  if (!(ms >= 1)) throw new CliError(`${flag} must be a positive duration like 5s, got "${text}"`);
  return ms;
}

/** A connection timeout: a duration of at least 100 ms (shorter would cut off healthy clients). */
function timeoutOption(text: string, flag: string): number {
  const ms = durationOption(text, flag);
  if (ms < 100) throw new CliError(`${flag} must be at least 100ms, got "${text}"`);
  return ms;
}

/** --allowed-host values (each may hold comma-separated names, as HORUS_ALLOWED_HOSTS does). */
function allowedHostsOption(values: string[]): string[] {
  const names = values.flatMap((v) => v.split(",")).map((n) => n.trim()).filter((n) => n !== "");
  for (const n of names) {
    if (n !== "*" && !/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?)$/.test(n)) {
      throw new CliError(`--allowed-host takes a host name or address without scheme or port, e.g. horus.example.com, got "${n}"`);
    }
  }
  return names;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`invalid port "${text}"`);
  return n;
}

function parseCount(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} must be a whole number (0 for no limit), got "${text}"`);
  return n;
}

function parsePositive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

/** Starts a server, says where it listens, and closes it gracefully on SIGTERM or SIGINT. */
async function serve(what: string, logger: Logger, start: () => Promise<{ url: string; name?: string; close(): Promise<void> }>, note?: (url: string) => string): Promise<void> {
  const running = await start().catch((err) => {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot start the ${what}: ${(err as Error).message}`);
  });
  process.stderr.write(`horus ${what}${running.name ? ` ${running.name}` : ""} listening on ${running.url}\n`);
  if (note) process.stderr.write(`${note(running.url)}\n`);
  await untilSignal(async () => {
    logger.info("shutting down");
    await running.close();
  });
}

/** Runs `stop` on SIGTERM or SIGINT, then exits 0; a second signal exits at once. */
function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) process.exit(sig === "SIGINT" ? 130 : 143);
      stopping = true;
      stop().then(
        () => resolve(),
        (err) => {
          process.stderr.write(`error during shutdown: ${(err as Error).message}\n`);
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

registerSchedule(program, { collectInputs, readDefinition });
registerCompletion(program);

async function main(): Promise<void> {
  if (asksForVersion(process.argv)) return print(packageVersion());
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      // commander already printed help or the usage error.
      const helpish = code === "commander.helpDisplayed" || code === "commander.help" || code === "commander.version";
      process.exitCode = helpish ? 0 : 2;
      return;
    }
    process.stderr.write(`horus: ${describeError(err, globals().coordinator)}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 2;
  }
}

await main();

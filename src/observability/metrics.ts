// Prometheus metrics of one coordinator, served at GET /metrics. Fed from the
// outside through hooks (the executor's committed events and dispatches, a
// timing wrapper around the store) and read at scrape time from the pool, so
// neither the engine nor the executor knows about Prometheus. Each
// coordinator has its own registry: tests run several in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ExecutorHooks } from "./executor-hooks.js";
import type { SupervisorSummary } from "../dispatch/pool.js";
import type { DomainEvent } from "../engine/model.js";
import { StepState, WorkflowState, isTerminalStep, isTerminalWorkflow, stepStateName, workflowStateName } from "../engine/states.js";
import type { Store } from "../store/store.js";

/** What the gauges read at scrape time. */
export interface MetricsSources {
  /** Supervisors with health and load per runner. */
  supervisors?: () => SupervisorSummary[];
  /** Jobs waiting in the coordinator for a supervisor (the ready queue). */
  waiting?: () => number;
  /** Workflows this coordinator is advancing. */
  activeWorkflows?: () => number;
}

export interface MetricsOptions {
  /** Also export the process metrics of prom-client (CPU, memory, event loop lag, GC) (default true). */
  processMetrics?: boolean;
}

export interface CoordinatorMetrics {
  readonly registry: Registry;
  /** For createExecutor({ hooks }). */
  readonly executorHooks: ExecutorHooks;
  /** The same store, with every call timed into horus_store_operation_duration_seconds. */
  instrumentStore<S extends Store>(store: S): S;
  /** Sets what the gauges read (the pool exists only after the executor). */
  setSources(sources: MetricsSources): void;
  /** The Prometheus text exposition. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Store methods that do I/O (subscribe and the rest are local bookkeeping). */
const TIMED_STORE_METHODS = new Set([
  "createWorkflow",
  "createWorkflows",
  "getWorkflow",
  "listWorkflows",
  "commit",
  "readEvents",
  "appendLogs",
  "readLogs",
  "putTemplate",
  "getTemplate",
  "listTemplates",
  "summaries",
  "ping",
]);

// Dispatch latency is mostly in-process work and one RPC: milliseconds. Step
// durations range from a noop to hour-long jobs.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
const HEALTHS = ["connecting", "up", "suspect", "down"] as const;

/** When a step (or for_each instance) became ready and started running, to time it. */
interface StepTimes {
  ready?: number;
  running?: number;
}

export function createMetrics(options: MetricsOptions = {}): CoordinatorMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  let sources: MetricsSources = {};
  const registers = [registry];

  const workflowsStarted = new Counter({
    name: "horus_workflows_started_total",
    help: "Workflows that started running (a RetryWorkflow run counts again)",
    registers,
  });
  const workflowsFinished = new Counter({
    name: "horus_workflows_finished_total",
    help: "Workflows that ended, by final state",
    labelNames: ["state"],
    registers,
  });
  const stepsDispatched = new Counter({
    name: "horus_steps_dispatched_total",
    help: "Jobs handed to the supervisor pool, by runner (one per attempt; a lost attempt's re-send counts again)",
    labelNames: ["runner"],
    registers,
  });
  const stepsFinished = new Counter({
    name: "horus_steps_finished_total",
    help: "Steps (for_each instances included) that reached a final state: SUCCEEDED, FAILED, SKIPPED or CANCELLED",
    labelNames: ["state"],
    registers,
  });
  const stepsRetried = new Counter({
    name: "horus_steps_retried_total",
    help: "Failed attempts that will be retried under the step's retry policy",
    registers,
  });
  const dispatchLatency = new Histogram({
    name: "horus_dispatch_latency_seconds",
    help: "From a step's dependencies being resolved (READY) to a supervisor accepting its job (DISPATCHED)",
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const stepDuration = new Histogram({
    name: "horus_step_duration_seconds",
    help: "From a step's attempt starting to run to the step's final state, by that state",
    labelNames: ["state"],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const storeLatency = new Histogram({
    name: "horus_store_operation_duration_seconds",
    help: "Duration of store calls, by operation",
    labelNames: ["operation"],
    buckets: STORE_BUCKETS,
    registers,
  });
  const storeErrors = new Counter({
    name: "horus_store_errors_total",
    help: "Store calls that failed, by operation",
    labelNames: ["operation"],
    registers,
  });
  new Gauge({
    name: "horus_ready_queue_depth",
    help: "READY steps waiting in the coordinator for a supervisor with a free slot (or any that can run them)",
    registers,
    collect() {
      this.set(sources.waiting?.() ?? 0);
    },
  });
  new Gauge({
    name: "horus_workflows_active",
    help: "Workflows this coordinator is advancing now",
    registers,
    collect() {
      this.set(sources.activeWorkflows?.() ?? 0);
    },
  });
  new Gauge({
    name: "horus_supervisor_health",
    help: "1 for the supervisor's current health (connecting, up, suspect, down), 0 for the others",
    labelNames: ["supervisor", "health"],
    registers,
    collect() {
      // Reset so supervisors that left the pool disappear.
      this.reset();
      for (const s of sources.supervisors?.() ?? []) for (const h of HEALTHS) this.set({ supervisor: s.name, health: h }, s.health === h ? 1 : 0);
    },
  });
  new Gauge({
    name: "horus_supervisor_jobs_in_flight",
    help: "Jobs this coordinator has on the supervisor, by runner",
    labelNames: ["supervisor", "runner"],
    registers,
    collect() {
      this.reset();
      for (const s of sources.supervisors?.() ?? []) for (const r of s.runners) this.set({ supervisor: s.name, runner: r.name }, r.inFlight);
    },
  });
  new Gauge({
    name: "horus_supervisor_capacity",
    help: "Jobs the supervisor runs at once, by runner, as it announced",
    labelNames: ["supervisor", "runner"],
    registers,
    collect() {
      this.reset();
      for (const s of sources.supervisors?.() ?? []) for (const r of s.runners) this.set({ supervisor: s.name, runner: r.name }, r.capacity);
    },
  });

  /** Per workflow, per step key ("<step>" or "<step>#<instance>"): bounded by the running workflows. */
  const times = new Map<string, Map<string, StepTimes>>();

  function onStep(workflowId: string, e: Extract<DomainEvent, { kind: "step" }>): void {
    let steps = times.get(workflowId);
    if (!steps) times.set(workflowId, (steps = new Map()));
    const key = e.instance === undefined ? e.stepId : `${e.stepId}#${e.instance}`;
    const t = steps.get(key) ?? {};
    switch (e.state) {
      case StepState.READY:
        // A wait reason changing keeps the original readiness; a lost attempt (back to READY) starts over.
        if (e.waitingReason === undefined || t.ready === undefined) t.ready = e.time;
        t.running = undefined;
        break;
      case StepState.DISPATCHED:
        if (t.ready !== undefined) dispatchLatency.observe(Math.max(0, e.time - t.ready) / 1000);
        t.ready = undefined;
        break;
      case StepState.RUNNING:
        t.running ??= e.time;
        break;
      case StepState.PENDING:
        if (e.nextRetryAt !== undefined) stepsRetried.inc();
        steps.delete(key);
        return;
      default:
        if (isTerminalStep(e.state)) {
          const state = stepStateName(e.state);
          stepsFinished.inc({ state });
          if (t.running !== undefined) stepDuration.observe({ state }, Math.max(0, e.time - t.running) / 1000);
          steps.delete(key);
          return;
        }
    }
    steps.set(key, t);
  }

  const executorHooks: ExecutorHooks = {
    committed(workflowId, events) {
      for (const e of events) {
        if (e.kind === "step") onStep(workflowId, e);
        else if (e.state === WorkflowState.RUNNING) workflowsStarted.inc();
        else if (isTerminalWorkflow(e.state)) {
          workflowsFinished.inc({ state: workflowStateName(e.state) });
          times.delete(workflowId);
        }
      }
    },
    dispatched(_workflowId, _stepId, runner) {
      stepsDispatched.inc({ runner });
    },
    dropped(workflowId) {
      times.delete(workflowId);
    },
  };

  function instrumentStore<S extends Store>(store: S): S {
    return new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof prop !== "string" || typeof value !== "function" || !TIMED_STORE_METHODS.has(prop)) return value;
        return (...args: unknown[]) => {
          const end = storeLatency.startTimer({ operation: prop });
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).then(
            (result) => {
              end();
              return result;
            },
            (err: unknown) => {
              end();
              storeErrors.inc({ operation: prop });
              throw err;
            },
          );
        };
      },
    });
  }

  return {
    registry,
    executorHooks,
    instrumentStore,
    setSources(s) {
      sources = s;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

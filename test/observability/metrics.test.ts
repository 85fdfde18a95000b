// GET /metrics scraped over HTTP from a real coordinator and parsed with a
// Prometheus text-format parser; after known runs, the counts match what ran.
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator, runYaml, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";

interface Family {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; count?: string; sum?: string; buckets?: Record<string, string> }>;
}

type Scrape = Map<string, Family> & { text: string };

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = parsePrometheusTextFormat(text) as Family[];
  return Object.assign(new Map(families.map((f) => [f.name, f])), { text });
}

/** The value of the sample with exactly these labels (0 when absent, as Prometheus treats a missing series in sums). */
function value(m: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = m.get(name);
  expect(family, `metric ${name} is exported`).toBeDefined();
  const sample = family!.metrics.find((s) => JSON.stringify(s.labels ?? {}) === JSON.stringify(labels));
  return sample ? Number(sample.value ?? sample.count) : 0;
}

/**
 * The observation count of one histogram series. The parser flattens a
 * histogram's samples by `le` only, so a labelled one is parsed as the lines
 * of that one series with its other labels taken off.
 */
function histogramCount(m: Scrape, name: string, labels: Record<string, string> = {}): number {
  expect(m.get(name)?.type).toBe("HISTOGRAM");
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const series = m.text
    .split("\n")
    .filter((l) => l === `# TYPE ${name} histogram` || (l.startsWith(`${name}_`) && pairs.every((p) => l.includes(p))))
    .map((l) => pairs.reduce((line, p) => line.replace(new RegExp(`,?${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`), ""), l).replace("{,", "{").replace("{}", ""));
  const [family] = parsePrometheusTextFormat(`${series.join("\n")}\n`) as Family[];
  return Number(family?.metrics[0]?.count ?? 0);
}

let running: RunningCoordinator;
let client: CoordinatorClient;
let other: RunningCoordinator;

beforeAll(async () => {
  ({ running, client } = await coordinator());
  ({ running: other } = await coordinator());
});

afterAll(async () => {
  await running?.close();
  await other?.close();
});

describe("GET /metrics", () => {
  it("counts workflows and steps of known runs", async () => {
    // 6 steps, all succeed: 5 on js/shell/noop, one of each runner kind.
    const ok = await runYaml(
      client,
      `workflow:
  name: ok
  steps:
    - { id: a, runner: js, payload: "1" }
    - { id: b, runner: js, depends_on: [a], payload: "2" }
    - { id: c, runner: shell, depends_on: [a], payload: "echo 3" }
    - { id: d, runner: noop, depends_on: [b, c] }
`,
    );
    expect(ok.state).toBe(WorkflowState.SUCCEEDED);
    // One step fails twice (one retry), its dependent is skipped, a sibling succeeds.
    const failed = await runYaml(
      client,
      `workflow:
  name: bad
  steps:
    - { id: x, runner: js, payload: "throw new Error('no')", retry: { max_attempts: 2, initial_backoff: 10ms } }
    - { id: y, runner: noop, depends_on: [x] }
    - { id: z, runner: noop }
`,
    );
    expect(failed.state).toBe(WorkflowState.FAILED);

    const m = await scrape(running.url);
    expect(value(m, "horus_workflows_started_total")).toBe(2);
    expect(value(m, "horus_workflows_finished_total", { state: "SUCCEEDED" })).toBe(1);
    expect(value(m, "horus_workflows_finished_total", { state: "FAILED" })).toBe(1);
    expect(value(m, "horus_workflows_finished_total", { state: "CANCELLED" })).toBe(0);
    // Jobs: a, b, x twice on js; c on shell; d, z on noop.
    expect(value(m, "horus_steps_dispatched_total", { runner: "js" })).toBe(4);
    expect(value(m, "horus_steps_dispatched_total", { runner: "shell" })).toBe(1);
    expect(value(m, "horus_steps_dispatched_total", { runner: "noop" })).toBe(2);
    expect(value(m, "horus_steps_finished_total", { state: "SUCCEEDED" })).toBe(5);
    expect(value(m, "horus_steps_finished_total", { state: "FAILED" })).toBe(1);
    expect(value(m, "horus_steps_finished_total", { state: "SKIPPED" })).toBe(1);
    expect(value(m, "horus_steps_retried_total")).toBe(1);
    // Every accepted job had its readiness timed; every step that ran, its duration.
    expect(histogramCount(m, "horus_dispatch_latency_seconds")).toBe(7);
    expect(histogramCount(m, "horus_step_duration_seconds", { state: "SUCCEEDED" })).toBe(5);
    expect(histogramCount(m, "horus_step_duration_seconds", { state: "FAILED" })).toBe(1);
    // Nothing waits, nothing runs; the embedded supervisor is up with its capacity.
    expect(value(m, "horus_ready_queue_depth")).toBe(0);
    expect(value(m, "horus_workflows_active")).toBe(0);
    expect(value(m, "horus_supervisor_health", { supervisor: "embedded", health: "up" })).toBe(1);
    expect(value(m, "horus_supervisor_health", { supervisor: "embedded", health: "down" })).toBe(0);
    expect(value(m, "horus_supervisor_jobs_in_flight", { supervisor: "embedded", runner: "js" })).toBe(0);
    expect(value(m, "horus_supervisor_capacity", { supervisor: "embedded", runner: "js" })).toBeGreaterThan(0);
    // Store calls are timed: two workflows created, several commits.
    expect(histogramCount(m, "horus_store_operation_duration_seconds", { operation: "createWorkflow" })).toBe(2);
    expect(histogramCount(m, "horus_store_operation_duration_seconds", { operation: "commit" })).toBeGreaterThanOrEqual(4);
    expect(value(m, "horus_store_errors_total", { operation: "commit" })).toBe(0);
    // prom-client's process metrics come along.
    expect(m.has("process_cpu_user_seconds_total")).toBe(true);
    expect(m.has("nodejs_eventloop_lag_seconds")).toBe(true);
  });

  it("keeps one registry per coordinator: another one in this process counted nothing", async () => {
    const m = await scrape(other.url);
    expect(value(m, "horus_workflows_started_total")).toBe(0);
    expect(histogramCount(m, "horus_dispatch_latency_seconds")).toBe(0);
  });

  it("shows a step waiting in the coordinator as ready-queue depth", async () => {
    const { running: idle, client: c } = await coordinator({ embedded: false, unroutableTimeoutMs: 60_000 });
    try {
      const { workflowId } = await c.submitWorkflow({ definition: { case: "yaml", value: "workflow:\n  name: w\n  steps:\n    - { id: a, runner: js, payload: '1' }\n" } });
      // Wait for the step's wait reason: by then it sits in the pool's queue.
      for await (const msg of c.watchWorkflow({ workflowId })) {
        if (msg.kind.case === "snapshot" && msg.kind.value.steps[0]!.waitingReason) break;
        if (msg.kind.case === "event" && msg.kind.value.kind.case === "step" && msg.kind.value.kind.value.waitingReason) break;
      }
      const m = await scrape(idle.url);
      expect(value(m, "horus_ready_queue_depth")).toBe(1);
      expect(value(m, "horus_workflows_active")).toBe(1);
      expect(m.get("horus_supervisor_health")!.metrics).toEqual([]);
    } finally {
      await idle.close();
    }
  });
});

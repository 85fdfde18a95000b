// The dashboard for daily use, in Debian's headless Chromium against one
// real coordinator (shared by every test here) and a real supervisor that
// registers with it: list filters, a workflow's inputs, output, definition
// and timeline, sub-workflows under their parent, fan-out groups, zoom and
// pan, consistent counters, the supervisors and templates pages, and a
// confirm on cancel. With HORUS_SCREENSHOTS=1 the screenshots go to
// docs/images/ (README.md and docs/dashboard.md show them); otherwise to
// test-output/dashboard/.
import { mkdirSync, readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { toValueMap } from "../../src/common/json.js";
import { startSupervisorServer, type RunningSupervisor } from "../../src/server/supervisor-server.js";
import { coordinator, waitForEnd, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import { dashboardBrowser } from "../helpers/chromium.js";

const README_SHOTS = process.env.HORUS_SCREENSHOTS === "1";
const SHOTS = README_SHOTS ? "docs/images" : "test-output/dashboard";

/** What code run in the page (page.evaluate) uses of its globals; the test config has no DOM types. */
interface PageGlobals {
  location: { hash: string };
}

let running: RunningCoordinator;
let client: CoordinatorClient;
let supervisor: RunningSupervisor;
const others: RunningSupervisor[] = [];
let page: Page;
let closeBrowser: (() => Promise<void>) | undefined;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ running, client } = await coordinator({ embedded: false, registrationLeaseMs: 3_000 }));
  supervisor = await startSupervisorServer({ port: 0, register: [running.url], supervisor: { name: "daily-sup", labels: { zone: "eu-1" }, capacity: 8 } });
  ({ page, close: closeBrowser } = await dashboardBrowser({ width: 1200, height: 800 }));
  await page.goto(`${running.url}/`);
  await page.locator("#conn", { hasText: "live" }).waitFor();
}, 60_000);

afterAll(async () => {
  await closeBrowser?.();
  for (const s of others) await s.close();
  await supervisor?.close();
  await running?.close();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}/dashboard-${name}.png` });
}

async function run(yaml: string, inputs: Record<string, number | string> = {}): Promise<string> {
  const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, inputs: toValueMap(inputs) });
  await waitForEnd(client, workflowId);
  return workflowId;
}

async function open(hash: string): Promise<void> {
  await page.evaluate((h) => ((globalThis as unknown as PageGlobals).location.hash = h), hash);
}

const node = (id: string) => page.locator(`#graph .node[data-step="${id}"]`);
const topRows = () => page.locator("#list > li");

/** A datetime-local value (the page's local time, as this process's: same machine). */
function localInput(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

async function clearFilters(): Promise<void> {
  for (const id of ["#f-text", "#f-labels", "#f-after", "#f-before"]) await page.locator(id).fill("");
  await page.locator("#f-state").selectOption("");
}

describe("dashboard for daily use", () => {
  it("filters the list by state, name, label and submission time", async () => {
    const nightly = await run("workflow:\n  name: etl-nightly\n  labels: { team: etl, env: prod }\n  steps:\n    - { id: a, runner: js, payload: '1' }\n");
    const broken = await run("workflow:\n  name: etl-broken\n  labels: { team: etl }\n  steps:\n    - { id: a, runner: js, payload: 'throw new Error(\"bad row\")' }\n");
    const build = await run("workflow:\n  name: ci-build\n  labels: { team: ci }\n  steps:\n    - { id: a, runner: noop }\n");
    for (const id of [nightly, broken, build]) await page.locator(`#list li[data-id="${id}"]`).waitFor();

    await page.locator("#f-text").fill("etl");
    await expect.poll(() => topRows().evaluateAll((li) => li.map((l) => (l as unknown as { dataset: { id: string } }).dataset.id).sort())).toEqual([nightly, broken].sort());
    await page.locator("#list-note", { hasText: "2 matching workflows" }).waitFor();
    await page.locator("#f-state").selectOption("FAILED");
    await expect.poll(() => topRows().count()).toBe(1);
    expect(await topRows().first().getAttribute("data-id")).toBe(broken);
    await shot("filter");

    await clearFilters();
    await page.locator("#f-labels").fill("team=ci");
    await expect.poll(() => topRows().count()).toBe(1);
    expect(await topRows().first().getAttribute("data-id")).toBe(build);
    await page.locator("#f-labels").fill("team=etl env=prod");
    await expect.poll(() => topRows().count()).toBe(1);
    expect(await topRows().first().getAttribute("data-id")).toBe(nightly);
    // Part of an id finds it too.
    await page.locator("#f-labels").fill("");
    await page.locator("#f-text").fill(build.slice(-8));
    await expect.poll(() => topRows().count()).toBe(1);

    await clearFilters();
    const created = (await client.getWorkflow({ workflowId: nightly })).workflow!.createdAt!;
    const createdMs = Number(created.seconds) * 1000;
    await page.locator("#f-after").fill(localInput(createdMs + 3_600_000));
    await expect.poll(() => topRows().count()).toBe(0);
    await page.locator("#f-after").fill(localInput(createdMs - 3_600_000));
    await page.locator("#f-before").fill(localInput(createdMs + 3_600_000));
    await expect.poll(() => topRows().count()).toBeGreaterThanOrEqual(3);
    await page.locator("#f-before").fill(localInput(createdMs - 60_000));
    await expect.poll(() => topRows().count()).toBe(0);
    await clearFilters();
  });

  it("shows a workflow's inputs, output, definition and a timeline of its attempts", async () => {
    const id = await run(
      "workflow:\n  name: report\n  labels: { team: etl }\n  steps:\n    - { id: fetch, runner: js, payload: 'inputs.n * 2' }\n    - { id: render, runner: shell, depends_on: [fetch], trigger: all_done, payload: 'echo \"{\\\"rows\\\": 42}\"' }\n",
      { n: 21, region: "eu" },
    );
    await open(`#/wf/${id}`);
    await page.locator('#wf-state[data-state="SUCCEEDED"]').waitFor();
    await page.locator("#wf-meta", { hasText: "team=etl" }).waitFor();

    await page.locator('#tabs button[data-tab="io"]').click();
    await page.locator("#wf-inputs", { hasText: '"n": 21' }).waitFor();
    expect(await page.locator("#wf-inputs").textContent()).toContain('"region": "eu"');
    // The output is the final steps' outputs by id, as a parent of this workflow would get it.
    expect(JSON.parse((await page.locator("#wf-output").textContent())!)).toEqual({ render: { rows: 42 } });

    await page.locator('#tabs button[data-tab="definition"]').click();
    const yaml = (await page.locator("#wf-definition").textContent())!;
    expect(yaml).toMatch(/^workflow:\n {2}name: report\n/);
    expect(yaml).toContain("depends_on:\n        - fetch");
    expect(yaml).toContain("trigger: all_done");
    // It is a definition as written: it validates as it is shown.
    expect((await client.validateWorkflow({ definition: { case: "yaml", value: yaml } })).problems).toEqual([]);
    await shot("definition");

    await page.locator('#tabs button[data-tab="timeline"]').click();
    const fetchBar = page.locator('#tl .bar[data-step="fetch"][data-attempt="1"]');
    const renderBar = page.locator('#tl .bar[data-step="render"][data-attempt="1"]');
    await renderBar.waitFor();
    expect(await fetchBar.getAttribute("data-state")).toBe("SUCCEEDED");
    // Start and end times are in the bar's title; render starts after fetch ends.
    expect(await fetchBar.locator("title").textContent()).toMatch(/^fetch attempt 1: SUCCEEDED on daily-sup, \d\d:\d\d:\d\d\.\d{3} → \d\d:\d\d:\d\d\.\d{3} \(/);
    const [f, r] = [await fetchBar.locator("rect.run").boundingBox(), await renderBar.locator("rect.run").boundingBox()];
    expect(r!.x).toBeGreaterThanOrEqual(f!.x + f!.width - 1);
    expect(r!.y).toBeGreaterThan(f!.y);
    await shot("timeline");
    // A bar selects its step.
    await renderBar.click();
    await page.locator("#step h3", { hasText: "render" }).waitFor();
    await page.locator('#tabs button[data-tab="dag"]').click();
  });

  it("links a sub-workflow step to its child and back, and folds children under their parent in the list", async () => {
    const parent = await run(`
workflow:
  name: nightly
  steps:
    - { id: seed, runner: js, payload: "5" }
    - id: load
      depends_on: [seed]
      workflow:
        name: nightly-load
        steps:
          - { id: double, runner: js, payload: "inputs.seed * 2" }
    - { id: done, runner: js, depends_on: [load], payload: "input.load.double" }
`);
    const { workflow } = await client.getWorkflow({ workflowId: parent });
    const child = workflow!.steps[1]!.attemptHistory[0]!.childWorkflowId;
    expect(child).toMatch(/^wf_/);
    const parentRow = page.locator(`#list > li[data-id="${parent}"]`);
    await parentRow.locator(".toggle", { hasText: "1 sub-workflow" }).waitFor();
    // The child is not a run of its own at the top of the list: it is folded under its parent.
    expect(await page.locator(`#list > li[data-id="${child}"]`).count()).toBe(0);
    expect(await parentRow.locator(`li[data-id="${child}"]`).isVisible()).toBe(false);
    await parentRow.locator(".toggle").click();
    await parentRow.locator(`li[data-id="${child}"][data-parent="${parent}"]`).waitFor({ state: "visible" });

    await open(`#/wf/${parent}`);
    await page.locator('#wf-state[data-state="SUCCEEDED"]').waitFor();
    await node("load").click();
    const childLink = page.locator("#step-sub-workflow a", { hasText: child });
    await childLink.waitFor();
    await page.locator("#attempts a.child-link", { hasText: child }).waitFor();
    await shot("sub-workflow");
    await childLink.click();
    await page.locator("#wf-id", { hasText: child }).waitFor();
    await page.locator("#wf-name", { hasText: "nightly-load" }).waitFor();
    // And back to the parent, with the step that started it selected.
    await page.locator("#wf-parent a", { hasText: parent }).click();
    await page.locator("#wf-id", { hasText: parent }).waitFor();
    await page.locator("#step h3", { hasText: "load" }).waitFor();
  });

  it("draws a large fan-out as one group node until expanded; the graph zooms and pans", async () => {
    const branches = Array.from({ length: 40 }, (_, i) => `    - { id: b${i}, runner: noop, depends_on: [root] }`);
    const id = await run(`workflow:\n  name: fan-out\n  steps:\n    - { id: root, runner: noop }\n${branches.join("\n")}\n    - { id: join, runner: noop, depends_on: [${branches.map((_, i) => `b${i}`).join(", ")}] }\n`);
    await open(`#/wf/${id}`);
    await page.locator('#wf-state[data-state="SUCCEEDED"]').waitFor();
    const group = page.locator("#graph .node.group");
    await group.locator("text", { hasText: "40 steps 40/40" }).waitFor();
    expect(await group.getAttribute("data-state")).toBe("SUCCEEDED");
    expect(await page.locator("#graph .node[data-step]").count()).toBe(2);
    await shot("fan-out");

    await group.click();
    await expect.poll(() => page.locator("#graph .node[data-step]").count()).toBe(42);
    // Open, it is a block of columns of 16, not one tall column.
    const x = async (id: string) => (await node(id).boundingBox())!.x;
    expect(await x("b15")).toBe(await x("b0"));
    expect(await x("b16")).toBeGreaterThan(await x("b15"));
    expect(await x("b32")).toBeGreaterThan(await x("b16"));
    await node("b39").click();
    await page.locator("#step h3", { hasText: "b39" }).waitFor();

    // Zoom: the drawing keeps its viewBox, its size follows the scale.
    const svg = page.locator("#graph");
    const width = async () => Number(await svg.getAttribute("width"));
    await page.locator("#zoom-reset").click();
    const at100 = await width();
    expect((await svg.getAttribute("viewBox"))!.split(" ")[2]).toBe(String(at100));
    await page.locator("#zoom-in").click();
    expect(await width()).toBeGreaterThan(at100);
    await page.locator("#zoom-reset").click();
    expect(await width()).toBe(at100);
    await page.locator("#zoom-out").click();
    expect(await width()).toBeLessThan(at100);
    await page.locator("#zoom-reset").click();
    // Pan: dragging the background scrolls the wide (expanded) graph.
    const scroll = () => page.locator("#dag").evaluate((d) => (d as unknown as { scrollLeft: number }).scrollLeft);
    await page.locator("#dag").evaluate((d) => ((d as unknown as { scrollLeft: number; scrollTop: number }).scrollLeft = 0));
    const before = await scroll();
    const box = (await svg.boundingBox())!;
    // Between the first two columns: background, not a node.
    await page.mouse.move(box.x + 180, box.y + 300);
    await page.mouse.down();
    await page.mouse.move(box.x + 20, box.y + 300, { steps: 5 });
    await page.mouse.up();
    expect(await scroll()).toBeGreaterThan(before);
    await page.locator("#zoom-fit").click();
    const fitted = (await svg.boundingBox())!;
    const view = (await page.locator("#dag").boundingBox())!;
    expect(fitted.height).toBeLessThanOrEqual(view.height);
    await shot("fan-out-open");

    // Collapse again from the group's heading.
    await page.locator("#graph .group-head").click();
    await expect.poll(() => page.locator("#graph .node[data-step]").count()).toBe(2);
  });

  it("groups for_each instances in the step panel and counts them the same way in the header and the list", async () => {
    const id = await run(`
workflow:
  name: squares
  steps:
    - { id: items, runner: js, payload: "Array.from({length: 25}, (_, i) => i)" }
    - { id: sq, runner: js, depends_on: [items], for_each: "input.items", payload: "input.item * input.item" }
`);
    await open(`#/wf/${id}`);
    await page.locator('#wf-state[data-state="SUCCEEDED"]').waitFor();
    // One definition: every record, instances included (2 steps + 25 instances).
    await page.locator("#wf-progress", { hasText: "27/27 succeeded" }).waitFor();
    await page.locator(`#list li[data-id="${id}"] .progress`, { hasText: "27/27" }).waitFor();
    await node("sq").click();
    const instances = page.locator("#instances");
    await instances.locator("summary", { hasText: "25 instances" }).waitFor();
    // More than 20: folded until asked.
    expect(await instances.getAttribute("open")).toBeNull();
    await instances.locator("summary").click();
    expect(await instances.locator("tr.instance").count()).toBe(25);
    await instances.locator('tr.instance[data-instance="3"]').click();
    await page.locator("#step h3", { hasText: "sq#3" }).waitFor();
    await page.locator("#step-output", { hasText: "9" }).waitFor();
  });

  it("asks before cancelling (dismissed: it keeps running), and a running attempt shows its supervisor, never READY", async () => {
    const { workflowId: id } = await client.submitWorkflow({
      definition: { case: "yaml", value: "workflow:\n  name: pinned\n  steps:\n    - { id: first, runner: noop }\n    - { id: wait, runner: shell, supervisor: late-sup, depends_on: [first], payload: 'echo started; sleep 30' }\n" },
    });
    await open(`#/wf/${id}`);
    // Pinned to a supervisor that is not there yet: it waits READY, and the page has that snapshot.
    await page.locator('#graph .node[data-step="wait"][data-state="READY"]').waitFor();
    await node("wait").click();
    await page.locator('#attempts tr[data-attempt="1"][data-state="READY"]').waitFor();
    // Another step is chosen while "wait" starts, so only the events tell the page about its attempt.
    await node("first").click();
    await page.locator("#step h3", { hasText: "first" }).waitFor();
    others.push(await startSupervisorServer({ port: 0, register: [running.url], supervisor: { name: "late-sup" } }));
    await page.locator('#graph .node[data-step="wait"][data-state="RUNNING"]').waitFor();
    // Chosen again: the attempt runs on late-sup.
    await node("wait").click();
    const attempt = page.locator('#attempts tr[data-attempt="1"]');
    await page.locator('#attempts tr[data-attempt="1"][data-state="RUNNING"]').waitFor();
    expect(await attempt.locator("td").nth(2).textContent()).toBe("late-sup");

    let asked = "";
    page.once("dialog", (d) => {
      asked = d.message();
      void d.dismiss();
    });
    await page.locator("#cancel").click();
    expect(asked).toContain(`Cancel workflow pinned (${id})?`);
    expect((await client.getWorkflow({ workflowId: id })).workflow!.state).toBe(WorkflowState.RUNNING);
    expect(await page.locator("#cancel").isDisabled()).toBe(false);

    page.once("dialog", (d) => void d.accept());
    await page.locator("#cancel").click();
    await page.locator('#wf-state[data-state="CANCELLED"]').waitFor();
  });

  it("lists supervisors with runners, capacity, load and health, and templates with every version's definition", async () => {
    const yaml = readFileSync("examples/templates/audit-trail.yaml", "utf8");
    await client.registerWorkflowTemplate({ name: "audit-trail", definition: { case: "yaml", value: yaml } });
    await client.registerWorkflowTemplate({ name: "audit-trail", definition: { case: "yaml", value: yaml.replace(/name: ([^\n]+)/, "name: $1\n  labels: { revision: second }") } });

    await page.locator('#nav a[data-page="supervisors"]').click();
    const row = page.locator('#supervisors tr[data-name="daily-sup"]');
    await row.waitFor();
    expect(await row.getAttribute("data-health")).toBe("up");
    expect(await row.locator(".chip").allTextContents()).toEqual(expect.arrayContaining(["js 0/8", "shell 0/8", "noop 0/8"]));
    expect(await row.textContent()).toContain("zone=eu-1");
    expect(await row.textContent()).toContain("registered");
    await page.locator('#supervisors tr[data-name="late-sup"]').waitFor();
    await shot("supervisors");

    await page.locator('#nav a[data-page="templates"]').click();
    const item = page.locator('#templates li[data-name="audit-trail"]');
    await item.locator(".version", { hasText: "v2" }).waitFor();
    await item.click();
    await page.locator("#template-yaml", { hasText: "revision: second" }).waitFor();
    expect(await page.locator("#template-yaml").textContent()).toMatch(/^workflow:\n/);
    await page.locator("#template-version").selectOption("1");
    await expect.poll(() => page.locator("#template-yaml").textContent()).not.toContain("revision: second");
    expect(await page.locator("#template-yaml").textContent()).toContain("steps:");
    await shot("templates");

    await page.locator('#nav a[data-page="wf"]').click();
    await page.locator("#page-wf").waitFor({ state: "visible" });
    expect(await page.locator("#page-templates").isVisible()).toBe(false);
  });

  it("a state filter also asks the server, so a match older than the live list's newest 200 appears", async () => {
    const failed = (await client.listWorkflows({ states: [WorkflowState.FAILED] })).workflows.map((w) => w.id);
    expect(failed.length).toBeGreaterThan(0);
    // 205 newer workflows push the failed one out of the live list.
    const res = await client.submitWorkflows({ workflows: Array.from({ length: 205 }, () => ({ definition: { case: "yaml" as const, value: "workflow: {name: bulk, steps: [{id: a, runner: noop}]}" } })) });
    await waitForEnd(client, res.workflows.at(-1)!.workflowId);
    await page.reload();
    await page.locator("#conn", { hasText: "live" }).waitFor();
    await expect.poll(() => topRows().count()).toBe(200);
    expect(await page.locator(`#list li[data-id="${failed[0]}"]`).count()).toBe(0);
    await page.locator("#f-state").selectOption("FAILED");
    await page.locator(`#list > li[data-id="${failed[0]}"]`).waitFor();
    await clearFilters();
  });
});

// The dashboard in Debian's headless Chromium (playwright-core) against a
// real coordinator that serves it at /. The coordinator starts with no
// supervisor, so a submitted workflow waits READY until the test registers
// one: the nodes are seen turning green on the open page, without timing
// assumptions. Screenshots go to test-output/dashboard/ (gitignored).
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { parseTokens } from "../../src/server/auth.js";
import { startSupervisorServer, type RunningSupervisor } from "../../src/server/supervisor-server.js";
import { coordinator, waitForEnd, type CoordinatorClient } from "../helpers/coordinator.js";
import { CHROMIUM, chromiumArgs, dashboardBrowser } from "../helpers/chromium.js";

const SHOTS = "test-output/dashboard";

/** What code run in the page (page.evaluate) uses of its globals; the test config has no DOM types. */
interface PageGlobals {
  location: { hash: string };
}

let running: RunningCoordinator;
let client: CoordinatorClient;
let supervisor: RunningSupervisor | undefined;
let page: Page;
let closeBrowser: (() => Promise<void>) | undefined;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ running, client } = await coordinator({ embedded: false, registrationLeaseMs: 3_000 }));
  ({ page, close: closeBrowser } = await dashboardBrowser({ width: 1400, height: 800 }));
  await page.goto(`${running.url}/`);
  await page.locator("#conn", { hasText: "live" }).waitFor();
}, 60_000);

afterAll(async () => {
  await closeBrowser?.();
  await supervisor?.close();
  await running?.close();
});

/** Registers a supervisor with the coordinator (once), so submitted workflows run. */
async function ensureSupervisor(): Promise<void> {
  supervisor ??= await startSupervisorServer({ port: 0, register: [running.url], supervisor: { name: "dash-sup" } });
}

const node = (id: string) => page.locator(`#graph .node[data-step="${id}"]`);

async function submitFromPage(yaml: string): Promise<string> {
  // "New workflow" is a <details>: open it unless it already is.
  if (!(await page.locator("#new").evaluate((d) => (d as unknown as { open: boolean }).open))) await page.locator("#new summary").click();
  await page.locator("#yaml").fill(yaml);
  await page.locator("#submit").click();
  await page.waitForFunction(() => /^#\/wf\/wf_/.test((globalThis as unknown as PageGlobals).location.hash));
  const id = await page.evaluate(() => (globalThis as unknown as PageGlobals).location.hash.slice("#/wf/".length));
  await page.locator("#wf-id", { hasText: id }).waitFor();
  return id;
}

describe("dashboard", () => {
  it("serves the page and its bundle on the coordinator's port", async () => {
    const html = await fetch(`${running.url}/`);
    expect(html.headers.get("content-type")).toMatch(/text\/html/);
    expect(await html.text()).toContain("/dashboard/app.js");
    const js = await fetch(`${running.url}/dashboard/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
  });

  it("runs the parallel example: nodes turn green live, a step's output and logs are shown", async () => {
    const id = await submitFromPage(readFileSync("examples/parallel.yaml", "utf8"));
    // The list shows it (WatchWorkflows), the DAG has its six steps laid out by level.
    await page.locator(`#list li[data-id="${id}"]`).waitFor();
    await expect.poll(() => node("start").count()).toBe(1);
    expect(await page.locator("#graph .node").count()).toBe(6);
    // No supervisor yet: the first step waits READY, nothing else moved.
    await page.locator('#graph .node[data-step="start"][data-state="READY"]').waitFor();
    expect(await node("finish").getAttribute("data-state")).toBe("PENDING");
    await page.screenshot({ path: `${SHOTS}/waiting.png` });

    await ensureSupervisor();
    for (const s of ["start", "A", "B", "C", "aggregate", "finish"]) await page.locator(`#graph .node[data-step="${s}"][data-state="SUCCEEDED"]`).waitFor();
    await page.locator('#wf-state[data-state="SUCCEEDED"]').waitFor();
    await page.locator(`#list li[data-id="${id}"][data-state="SUCCEEDED"]`).waitFor();
    await page.locator("#wf-progress", { hasText: "6/6 succeeded" }).waitFor();

    await node("aggregate").click();
    await page.locator("#step-output", { hasText: '"sum": 38' }).waitFor();
    await page.locator("#step table td", { hasText: "dash-sup" }).first().waitFor();
    // C is a shell step: its stdout line is in its log.
    await node("C").click();
    await page.locator("#step h3", { hasText: "C" }).waitFor();
    await page.locator("#step-logs div", { hasText: "7" }).first().waitFor();
    await node("aggregate").click();
    await page.locator("#step-output", { hasText: '"sum": 38' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/parallel.png` });
    const wf = await waitForEnd(client, id);
    expect(wf.steps.map((s) => s.state)).toEqual(Array(6).fill(5)); // all SUCCEEDED
  });

  it("cancels a running workflow from the page, then retries it", async () => {
    await ensureSupervisor();
    const id = await submitFromPage(
      'workflow:\n  name: "long"\n  steps:\n    - { id: "first", runner: "js", payload: "1" }\n    - { id: "wait", runner: "shell", depends_on: ["first"], payload: "echo started; sleep 30" }\n',
    );
    await page.locator('#graph .node[data-step="wait"][data-state="RUNNING"]').waitFor();
    await node("wait").click();
    await page.locator("#step-logs div", { hasText: "started" }).waitFor();
    expect(await page.locator("#retry").isDisabled()).toBe(true);
    // Cancel asks first (a confirm dialog); the daily-use test also dismisses it.
    page.once("dialog", (d) => void d.accept());
    await page.locator("#cancel").click();
    await page.locator('#wf-state[data-state="CANCELLED"]').waitFor();
    await page.locator('#graph .node[data-step="wait"][data-state="CANCELLED"]').waitFor();
    await page.locator(`#list li[data-id="${id}"][data-state="CANCELLED"]`).waitFor();
    const { workflow } = await client.getWorkflow({ workflowId: id });
    expect(workflow!.steps.map((s) => s.state)).toEqual([5, 8]); // SUCCEEDED, CANCELLED

    // Retry runs it again from where it stopped: "wait" runs again, "first" is kept.
    await page.locator("#retry").click();
    await page.locator('#graph .node[data-step="wait"][data-state="RUNNING"]').waitFor();
    expect(await node("first").getAttribute("data-state")).toBe("SUCCEEDED");
    page.once("dialog", (d) => void d.accept());
    await page.locator("#cancel").click();
    await page.locator('#wf-state[data-state="CANCELLED"]').waitFor();
  });

  it("draws a 1,000-step workflow and keeps it live", async () => {
    await ensureSupervisor();
    const steps = ["    - { id: s0, runner: noop }"];
    // A 10-ary tree: levels of 1, 10, 100 and 889 steps.
    for (let i = 1; i < 1000; i++) steps.push(`    - { id: s${i}, runner: noop, depends_on: [s${Math.floor((i - 1) / 10)}] }`);
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: `workflow:\n  name: big\n  steps:\n${steps.join("\n")}\n` } });
    await page.evaluate((id) => ((globalThis as unknown as PageGlobals).location.hash = `#/wf/${id}`), workflowId);
    await page.locator('#wf-state[data-state="SUCCEEDED"]').waitFor();
    await page.locator("#wf-progress", { hasText: "1000/1000 succeeded" }).waitFor();
    expect(await page.locator("#graph .node").count()).toBe(1000);
    expect(await page.locator('#graph .node[data-state="SUCCEEDED"]').count()).toBe(1000);
    await node("s999").click();
    await page.locator("#step h3", { hasText: "s999" }).waitFor();
    await page.locator("#step dd", { hasText: "s99" }).first().waitFor();
    await page.screenshot({ path: `${SHOTS}/thousand.png` });
  });
});

describe("dashboard with tokens", () => {
  it("a browser signs in with a token (kept in an HttpOnly, SameSite=Strict cookie), then the page works; a wrong token is refused and the data stays closed to requests without one", async () => {
    const viewer = "viewer-token-for-the-dashboard-0123";
    const { running: guarded, client: anon } = await coordinator({ security: { tokens: parseTokens(`${viewer} viewer\n`, "test") } });
    const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "horus-dashboard-login-")), { executablePath: CHROMIUM, args: chromiumArgs() });
    try {
      const p = await context.newPage();
      p.setDefaultTimeout(15_000);
      await p.goto(`${guarded.url}/`);
      // Not signed in: the sign-in form, and none of the dashboard.
      await p.locator("#token").waitFor();
      expect(await p.locator("#conn").count()).toBe(0);
      await p.locator("#token").fill("not-a-valid-token-at-all-xxxx");
      await p.locator("#login").click();
      await p.locator("#login-error").waitFor();
      await p.locator("#token").fill(viewer);
      await p.locator("#login").click();
      // Signed in: the page connects live (its RPCs carry the cookie).
      await p.locator("#conn", { hasText: "live" }).waitFor();
      const [cookie] = await context.cookies(guarded.url);
      expect(cookie).toMatchObject({ name: "horus_token", httpOnly: true, sameSite: "Strict" });
      expect(await p.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).toBe("");
      // Without the cookie or a header, the API and the page still refuse.
      await expect(anon.listWorkflows({})).rejects.toThrow(/authentication required/);
      expect((await fetch(`${guarded.url}/`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/`, { headers: { cookie: "horus_token=wrong-token-value-000000" } })).status).toBe(401);
      expect((await fetch(`${guarded.url}/dashboard/app.js`)).status).toBe(401);
    } finally {
      await context.close();
      await guarded.close();
    }
  }, 60_000);
});

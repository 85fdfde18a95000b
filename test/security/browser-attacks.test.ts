// A hostile web page in Debian's headless Chromium (playwright-core) against a
// coordinator on loopback, as a developer runs it after `npm start`. The
// page, served by a second local server on another port, tries to run a
// shell step that creates a marker file with: a no-cors fetch of text/plain,
// an auto-submitted HTML form, navigator.sendBeacon, and a WebSocket to
// /rpc/ws. Then DNS rebinding: a page loaded from rebind.test:PORT, whose
// name then points at a coordinator on that port (Chromium's resolver maps
// rebind.test to 127.0.0.1; the page's server gives the port to the
// coordinator). Then with tokens: a signed-in operator's cookie, used by a
// same-site page on another port. No workflow is created and no marker
// appears; a control run against a coordinator that allows the page's
// origin shows the page's WebSocket does run its step when permitted.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCoordinatorClient } from "../../clients/node/index.js";
import { parseTokens } from "../../src/server/auth.js";
import { coordinator, type CoordinatorClient } from "../helpers/coordinator.js";
import { CHROMIUM, chromiumArgs } from "../helpers/chromium.js";
import { freePort } from "../helpers/redis.js";
import { until } from "../helpers/wait.js";

const ATTACKS = ["beacon", "fetch", "form", "ws"] as const;

/** The hostile page: every attack in turn, each waiting until its request was answered where the page can tell. */
const ATTACK_PAGE = `<!doctype html><meta charset="utf-8"><title>cute cats</title><body><script>
const submit = (marker) => JSON.stringify({ jsonrpc: "2.0", id: 1, method: "submit_workflow",
  params: { yaml: "workflow:\\n  name: csrf\\n  steps:\\n    - { id: a, runner: shell, payload: \\"touch " + marker + "\\" }\\n" } });
window.attack = async (target, dir) => {
  const results = {};
  results.beacon = navigator.sendBeacon(target + "/rpc", submit(dir + "/beacon")) ? "queued" : "refused";
  results.fetch = await fetch(target + "/rpc", { method: "POST", mode: "no-cors", credentials: "include",
    headers: { "content-type": "text/plain" }, body: submit(dir + "/fetch") }).then((r) => r.type, (e) => "error " + e);
  results.form = await new Promise((resolve) => {
    const frame = document.createElement("iframe");
    frame.name = "sink";
    document.body.appendChild(frame);
    frame.onload = () => resolve("loaded");
    const form = document.createElement("form");
    form.method = "POST";
    form.action = target + "/rpc";
    form.enctype = "text/plain";
    form.target = "sink";
    // text/plain forms send name=value: this name and value make the body JSON.
    const body = submit(dir + "/form");
    const input = document.createElement("input");
    input.name = body.slice(0, -1) + ',"pad":"';
    input.value = '"}';
    form.appendChild(input);
    document.body.appendChild(form);
    form.submit();
  });
  results.ws = await new Promise((resolve) => {
    const ws = new WebSocket(target.replace("http", "ws") + "/rpc/ws");
    ws.onopen = () => ws.send(submit(dir + "/ws"));
    ws.onmessage = (e) => { resolve("answered " + e.data); ws.close(); };
    ws.onerror = () => resolve("refused");
  });
  return results;
};
// DNS rebinding: the page's own origin, once its name points elsewhere.
window.sameOrigin = () => fetch("/rpc", { method: "POST", headers: { "content-type": "application/json" }, body: submit(window.markerDir + "/rebind") })
  .then(async (r) => r.status + " " + (await r.text()), (e) => "error " + e);
</script></body>`;

let browser: BrowserContext;
let page: Page;
let site: http.Server;
let sitePort: number;
let profile: string;
let dir: string;
const closers: Array<() => Promise<unknown>> = [];

async function start(options: Parameters<typeof coordinator>[0]) {
  const c = await coordinator(options);
  closers.push(() => c.running.close());
  return c;
}

function serveHostile(port: number): Promise<http.Server> {
  const s = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(ATTACK_PAGE));
  return new Promise((resolve) => s.listen(port, "127.0.0.1", () => resolve(s)));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "horus-attack-"));
  site = await serveHostile(0);
  sitePort = (site.address() as AddressInfo).port;
  profile = mkdtempSync(join(tmpdir(), "horus-attack-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [...chromiumArgs(), "--host-resolver-rules=MAP rebind.test 127.0.0.1"],
  });
  page = await browser.newPage();
  page.setDefaultTimeout(15_000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  site?.closeAllConnections();
  site?.close();
  for (const c of closers.reverse()) await c();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs every attack of the page at `target`; markers go to a fresh folder. */
async function attack(target: string): Promise<{ results: Record<string, string>; markers: string }> {
  const markers = mkdtempSync(join(dir, "m-"));
  await page.goto(`http://127.0.0.1:${sitePort}/`);
  const results = await page.evaluate(([t, d]) => (globalThis as unknown as { attack(t: string, d: string): Promise<Record<string, string>> }).attack(t, d), [target, markers] as const);
  return { results, markers };
}

/** What a run of the page left: workflows on the coordinator, and marker files. */
async function traces(client: CoordinatorClient, markers: string): Promise<{ workflows: number; files: string[] }> {
  const { workflows } = await client.listWorkflows({});
  return { workflows: workflows.length, files: [...ATTACKS, "rebind"].filter((a) => existsSync(join(markers, a))) };
}

describe("a hostile page against the default coordinator (no tokens, loopback)", () => {
  it("no-cors fetch, form, beacon and WebSocket create no workflow and run nothing", async () => {
    const { running, client } = await start({});
    const { results, markers } = await attack(running.url);
    // Each request reached the coordinator (the fetch and the form got answers) and was refused.
    expect(results).toMatchObject({ fetch: "opaque", form: "loaded", ws: "refused" });
    // A second run of the page: the beacon of the first is answered by then too.
    await attack(running.url);
    expect(await traces(client, markers)).toEqual({ workflows: 0, files: [] });
  });

  it("control: a coordinator that allows the page's origin runs the page's WebSocket call, so the page's attacks are real", async () => {
    const { running, client } = await start({ cors: { origins: [`http://127.0.0.1:${sitePort}`] } });
    const { results, markers } = await attack(running.url);
    expect(results.ws).toContain('"workflowId"');
    await until(() => existsSync(join(markers, "ws")) || undefined, 20_000);
    // The JSON body still needed a JSON content type: the simple requests ran nothing.
    expect((await traces(client, markers)).files).toEqual(["ws"]);
  });

  it("DNS rebinding: the page's name re-pointed at the coordinator's port is refused (421)", async () => {
    const port = await freePort();
    const hostile = await serveHostile(port);
    const markers = mkdtempSync(join(dir, "rebind-"));
    await page.goto(`http://rebind.test:${port}/`);
    await page.evaluate((d) => ((globalThis as unknown as { markerDir: string }).markerDir = d), markers);
    // The name now leads to the coordinator: the hostile server gives up the port.
    hostile.closeAllConnections();
    await new Promise((r) => hostile.close(r));
    const { client } = await start({ port });
    const answer = await page.evaluate(() => (globalThis as unknown as { sameOrigin(): Promise<string> }).sameOrigin());
    expect(answer).toMatch(/^421 this server does not answer as "rebind.test"/);
    expect(await traces(client, markers)).toEqual({ workflows: 0, files: [] });
  });
});

describe("with tokens: a signed-in operator visits a same-site page on another port", () => {
  it("the page cannot use the operator's cookie: no workflow, no marker", async () => {
    const operator = randomBytes(24).toString("hex");
    const admin = randomBytes(24).toString("hex");
    const { running } = await start({ security: { tokens: parseTokens(`${operator} operator\n${admin} admin\n`, "test") } });
    // Sign in on the dashboard as the operator would.
    await page.goto(`${running.url}/`);
    await page.locator("#token").fill(operator);
    await page.locator("#login").click();
    await page.waitForURL(`${running.url}/`);
    expect((await browser.cookies(running.url)).map((c) => c.name)).toContain("horus_token");
    const { results, markers } = await attack(running.url);
    expect(results).toMatchObject({ fetch: "opaque", form: "loaded", ws: "refused" });
    await attack(running.url);
    const adminClient = createCoordinatorClient(running.url, { token: admin });
    expect(await traces(adminClient as unknown as CoordinatorClient, markers)).toEqual({ workflows: 0, files: [] });
  });
});

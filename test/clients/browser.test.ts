// The browser client in Debian's headless Chromium (driven by playwright-core)
// against a live coordinator on another origin: the README example submits a
// workflow and watches it to completion over Connect and over gRPC-web, and a
// coordinator that does not allow the page's origin is refused by the browser.
import { readFileSync } from "node:fs";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator } from "../helpers/coordinator.js";
import { CHROMIUM, chromiumArgs, servePage } from "../helpers/chromium.js";
import { readmeSnippet } from "./readme.js";

let page: Page;
let browser: BrowserContext;
let site: http.Server;
let origin: string;
let allowed: RunningCoordinator;
let notAllowed: RunningCoordinator;
let profile: string;

beforeAll(async () => {
  ({ server: site, origin } = await servePage("test/clients/browser-page.ts", "horus"));
  ({ running: allowed } = await coordinator({ cors: { origins: [origin] } }));
  ({ running: notAllowed } = await coordinator());
  profile = mkdtempSync(join(tmpdir(), "horus-chromium-"));
  // A fresh profile per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: chromiumArgs() });
  page = await browser.newPage();
  await page.goto(origin + "/");
  await page.waitForFunction(() => typeof (globalThis as { runExample?: unknown }).runExample === "function");
}, 60_000);

afterAll(async () => {
  await browser?.close();
  site?.close();
  await allowed?.close();
  await notAllowed?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const run = (baseUrl: string, protocol: string) =>
  page.evaluate(
    async ([u, p]) => {
      try {
        return { ok: true, state: await (globalThis as any).runExample(u, p), shown: (globalThis as any).shown.splice(0) };
      } catch (err) {
        return { ok: false, error: String(err) };
      }
    },
    [baseUrl, protocol] as const,
  );

describe("browser client in headless Chromium", () => {
  it("README shows clients/web/example.ts verbatim", () => {
    expect(readmeSnippet("clients/web/README.md")).toBe(readFileSync("clients/web/example.ts", "utf8"));
  });

  for (const protocol of ["connect", "grpc-web"]) {
    it(`${protocol}: submits a workflow and watches it to completion from another origin`, async () => {
      const res = await run(allowed.url, protocol);
      expect(res, JSON.stringify(res)).toMatchObject({ ok: true, state: { state: "SUCCEEDED", output: { answer: 42 } } });
      expect(res.shown![0]).toMatch(/ snapshot$/);
      // Events follow unless the workflow had already ended when the watch
      // began (a busy machine): then the snapshot alone is the whole story.
      if (res.shown!.length > 1) expect(res.shown![res.shown!.length - 1]).toMatch(/ event$/);
    });
  }

  it("a coordinator without --cors-origin for this page is refused by the browser", async () => {
    const res = await run(notAllowed.url, "connect");
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/fetch/i);
  });
});

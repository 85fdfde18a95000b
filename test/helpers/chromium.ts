// Debian's Chromium for browser tests (installed by global-setup and .ci/run),
// started the way this closed network needs: no background connections.
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Flags for playwright-core; the fresh --user-data-dir comes from launchPersistentContext. */
export function chromiumArgs(): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ];
}

/**
 * Chromium for a dashboard test: a fresh profile, timers never throttled
 * (the page follows live streams while it is not in front), and one page
 * whose steps fail after 15 s, naming their locator, before the test times
 * out. `close()` closes the browser and removes the profile.
 */
export async function dashboardBrowser(viewport: { width: number; height: number }): Promise<{ browser: BrowserContext; page: Page; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "horus-dashboard-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [...chromiumArgs(), "--disable-renderer-backgrounding", "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"],
    viewport,
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  return {
    browser,
    page,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A page on its own loopback origin, standing in for another site: `entry` bundled for the browser and served as /page.js under /. */
export async function servePage(entry: string, title: string): Promise<{ server: http.Server; origin: string }> {
  const bundle = await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "browser", write: false, logLevel: "silent" });
  const js = bundle.outputFiles[0]!.text;
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title><script type="module" src="/page.js"></script>`;
  const server = http.createServer((req, res) => {
    if (req.url === "/page.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    else if (req.url === "/") res.writeHead(200, { "content-type": "text/html" }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

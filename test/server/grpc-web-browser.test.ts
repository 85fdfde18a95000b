// Google's grpc-web client (npm grpc-web) in Debian's headless Chromium,
// from another origin, against a live coordinator: unary and server
// streaming in its default text mode (application/grpc-web-text, what it
// needs for streaming) and in binary mode, and UNIMPLEMENTED for a method the
// server does not have.
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator } from "../helpers/coordinator.js";
import { CHROMIUM, chromiumArgs, servePage } from "../helpers/chromium.js";

let page: Page;
let browser: BrowserContext;
let site: http.Server;
let running: RunningCoordinator;
let profile: string;

beforeAll(async () => {
  const served = await servePage("test/server/grpc-web-page.ts", "grpc-web");
  site = served.server;
  const origin = served.origin;
  ({ running } = await coordinator({ cors: { origins: [origin] } }));
  profile = mkdtempSync(join(tmpdir(), "horus-chromium-"));
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: chromiumArgs() });
  page = await browser.newPage();
  await page.goto(origin + "/");
  await page.waitForFunction(() => typeof (globalThis as { runGrpcWeb?: unknown }).runGrpcWeb === "function");
}, 60_000);

afterAll(async () => {
  await browser?.close();
  site?.close();
  await running?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const YAML = "workflow:\n  name: grpc-web\n  steps:\n    - { id: a, runner: shell, payload: \"sleep 0.3; echo 1\" }\n    - { id: b, runner: js, depends_on: [a], payload: \"input.a + 1\" }\n";

describe("Google's grpc-web client in Chromium", () => {
  for (const format of ["text", "binary"]) {
    it(`${format} mode: submits, streams WatchWorkflow to the end, and gets UNIMPLEMENTED for an unknown method`, async () => {
      const res = await page.evaluate(
        async ([u, f, y]) => {
          try {
            return { ok: true, ...(await (globalThis as any).runGrpcWeb(u, f, y)) };
          } catch (err) {
            return { ok: false, error: String(err) };
          }
        },
        [running.url, format, YAML] as const,
      );
      expect(res, JSON.stringify(res)).toMatchObject({ ok: true, status: { code: 0 }, unknown: { code: 12 } });
      expect(res.workflowId).toMatch(/^wf_/);
      expect(res.seen[0]).toMatch(/^snapshot /);
      expect(res.seen.at(-1)).toBe("workflow SUCCEEDED");
    });
  }
});

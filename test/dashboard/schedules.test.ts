// The dashboard's schedules page in headless Chromium against a real
// coordinator: the list shows each schedule's cron, zone, next and last
// run; Pause, Resume and Run now act on it; the last run links to the
// workflow. Screenshot in test-output/dashboard/ (gitignored).
import { mkdirSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OverlapPolicy } from "../../gen/horus/coordinator/v1/schedule_pb.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator, type CoordinatorClient } from "../helpers/coordinator.js";
import { dashboardBrowser } from "../helpers/chromium.js";

const SHOTS = "test-output/dashboard";

interface PageGlobals {
  location: { hash: string };
}

let running: RunningCoordinator;
let client: CoordinatorClient;
let page: Page;
let closeBrowser: (() => Promise<void>) | undefined;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ running, client } = await coordinator());
  ({ page, close: closeBrowser } = await dashboardBrowser({ width: 1400, height: 700 }));
}, 60_000);

afterAll(async () => {
  await closeBrowser?.();
  await running?.close();
});

const row = (name: string) => page.locator(`#schedules tr[data-name="${name}"]`);

describe("dashboard: schedules", () => {
  it("lists schedules, pauses, resumes and runs one now, and links its last run", async () => {
    const yaml = "workflow:\n  name: nightly-etl\n  steps:\n    - { id: load, runner: js, payload: \"inputs.table\" }\n";
    await client.createSchedule({ schedule: { name: "nightly", cron: "30 2 * * *", timeZone: "Europe/Paris", overlap: OverlapPolicy.CANCEL_PREVIOUS, target: { case: "yaml", value: yaml } } });
    await client.createSchedule({ schedule: { name: "hourly", cron: "0 * * * *", target: { case: "yaml", value: yaml } } });

    await page.goto(`${running.url}/`);
    await page.locator("#nav-schedules").click();
    await row("nightly").waitFor();
    expect(await row("nightly").locator("td").allInnerTexts()).toEqual([
      "nightly",
      "30 2 * * *",
      "Europe/Paris",
      "cancel previous",
      "active",
      expect.stringMatching(/\d/),
      "-",
      expect.stringContaining("Pause"),
    ]);
    expect(await page.locator("#schedules tr[data-name]").evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { name: string } }).dataset.name))).toEqual(["hourly", "nightly"]);

    // A refresh redraws only changed rows, so a click landing mid-refresh
    // still reaches its button: the untouched row stays the same element.
    await row("hourly").evaluate((tr) => ((tr as unknown as { marked: boolean }).marked = true));
    await row("nightly").locator("button[data-action=pause]").click();
    await row("nightly").locator("td.state", { hasText: "paused" }).waitFor();
    expect(await row("hourly").evaluate((tr) => (tr as unknown as { marked?: boolean }).marked)).toBe(true);
    expect(await row("nightly").locator("td.next").innerText()).toBe("-");
    expect((await client.listSchedules({})).schedules.find((s) => s.spec?.name === "nightly")?.paused).toBe(true);

    await row("nightly").locator("button[data-action=resume]").click();
    await row("nightly").locator("td.state", { hasText: "active" }).waitFor();

    await row("nightly").locator("button[data-action=trigger]").click();
    const link = row("nightly").locator("td.last a");
    await link.waitFor();
    const id = await link.innerText();
    expect(id).toMatch(/^wf_/);
    expect((await client.listSchedules({})).schedules.find((s) => s.spec?.name === "nightly")?.lastWorkflowId).toBe(id);
    await page.screenshot({ path: `${SHOTS}/schedules.png` });

    // The link opens the run; the schedules page gets out of the way.
    await link.click();
    await page.waitForFunction((wf) => (globalThis as unknown as PageGlobals).location.hash === `#/wf/${wf}`, id);
    await page.locator("#wf-id", { hasText: id }).waitFor();
    expect(await page.locator("#schedules").isHidden()).toBe(true);
  });

  it("shows why an action failed", async () => {
    await page.goto(`${running.url}/#/schedules`);
    // The button is held before the schedule goes, so the click reaches it
    // even if a refresh removes the row first: the page then answers from
    // the server's refusal, as it would for a user whose list was stale.
    const trigger = await row("hourly").locator("button[data-action=trigger]").elementHandle();
    await client.deleteSchedule({ name: "hourly" });
    await trigger!.evaluate((b) => (b as unknown as { click(): void }).click());
    await page.locator("#schedules .error", { hasText: 'schedule "hourly" not found' }).waitFor();
    await row("hourly").waitFor({ state: "detached" });
  });
});

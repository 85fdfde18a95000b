// `horus schedule ...` as a user runs it: real CLI processes against a
// coordinator process.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { horus, scratchFiles, suiteCoordinator } from "../helpers/cli.js";
import { outputs, PROTOCOLS, waitForEnd, WorkflowState } from "../helpers/coordinator.js";

const coord = suiteCoordinator();
const { dir } = scratchFiles("horus-schedule-cli-");
const GREET = join(dir, "greet.yaml");
writeFileSync(GREET, `workflow:\n  name: greet\n  steps:\n    - { id: hello, runner: js, payload: "'hello ' + inputs.who + ' ' + inputs.n" }\n`);


const cli = (...args: string[]) => horus(["--coordinator", coord.url, ...args]);

describe("horus schedule", () => {
  it("adds, lists, triggers, pauses, resumes and deletes a schedule", async () => {
    const add = await cli("schedule", "add", "nightly", GREET, "--cron", "30 2 * * *", "--tz", "Europe/Paris", "--overlap", "cancel-previous", "--catch-up", "10m", "--input", "who=cli", "--input", "n=3");
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/^schedule nightly created: inline definition at "30 2 \* \* \*" \(Europe\/Paris\), next run \d{4}-\d\d-\d\d (00|01):30:00 UTC\n$/);

    const list = await cli("schedule", "list");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^nightly\s+active\s+30 2 \* \* \*\s+Europe\/Paris\s+next \d{4}-\d\d-\d\d \d\d:30:00\s+last -\n$/);
    const json = JSON.parse((await cli("--json", "schedule", "list")).stdout);
    expect(json.schedules[0].spec).toMatchObject({ name: "nightly", overlap: "OVERLAP_POLICY_CANCEL_PREVIOUS", catchUpWindow: "600s", inputs: { who: "cli", n: 3 } });

    const trigger = await cli("schedule", "trigger", "nightly");
    expect(trigger.code).toBe(0);
    const id = trigger.stdout.trim();
    expect(id).toMatch(/^wf_\w+$/);
    const client = createClient(CoordinatorService, PROTOCOLS["connect+json over HTTP/1.1"](coord.url));
    const wf = await waitForEnd(client, id);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(outputs(wf)).toEqual({ hello: "hello cli 3" });
    expect((await cli("schedule", "list")).stdout).toContain(`last ${id} at `);

    expect((await cli("schedule", "pause", "nightly")).stdout).toBe("schedule nightly paused\n");
    expect((await cli("schedule", "list")).stdout).toMatch(/^nightly\s+paused\s.*next -/);
    expect((await cli("schedule", "resume", "nightly")).stdout).toMatch(/^schedule nightly resumed, next run \d{4}/);
    expect((await cli("schedule", "delete", "nightly")).stdout).toBe("schedule nightly deleted\n");
    expect((await cli("schedule", "list")).stdout).toBe("no schedules\n");
    // A dozen CLI processes, each starting Node: slow on a loaded machine.
  }, 120_000);

  it("adds a schedule of a registered template by NAME@VERSION", async () => {
    const client = createClient(CoordinatorService, PROTOCOLS["connect+json over HTTP/1.1"](coord.url));
    await client.registerWorkflowTemplate({ name: "greeter", definition: { case: "yaml", value: `workflow:\n  name: greeter\n  steps:\n    - { id: a, runner: noop }\n` } });
    const add = await cli("--json", "schedule", "add", "tpl", "--template", "greeter@1", "--cron", "@daily");
    expect(add.code).toBe(0);
    expect(JSON.parse(add.stdout).schedule.spec).toMatchObject({ name: "tpl", cron: "@daily", timeZone: "UTC", template: { name: "greeter", version: 1 } });
    await cli("schedule", "delete", "tpl");
  });

  it("fails in one line, non-zero, on bad input", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["schedule", "add", "x", GREET, "--cron", "61 * * * *"], /schedule\.cron: invalid expression "61 \* \* \* \*"/],
      [["schedule", "add", "x", GREET, "--cron", "* * * * *", "--tz", "Mars/Olympus"], /schedule\.time_zone: unknown time zone "Mars\/Olympus"/],
      [["schedule", "add", "x", "--cron", "* * * * *"], /give a workflow file or --template/],
      [["schedule", "add", "x", GREET, "--template", "t", "--cron", "* * * * *"], /either a workflow file or --template, not both/],
      [["schedule", "add", "x", "--template", "nope", "--cron", "* * * * *"], /template "nope" is not registered/],
      [["schedule", "add", "x", GREET, "--cron", "* * * * *", "--overlap", "sometimes"], /--overlap takes skip, allow or cancel-previous/],
      [["schedule", "add", "x", GREET, "--cron", "* * * * *", "--catch-up", "soon"], /--catch-up must be a duration/],
      [["schedule", "pause", "missing"], /schedule "missing" not found/],
      [["schedule", "trigger", "missing"], /schedule "missing" not found/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect([args.join(" "), r.code]).not.toEqual([args.join(" "), 0]);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  }, 120_000);
});

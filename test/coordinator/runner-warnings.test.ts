// Which submissions get a warning that no supervisor offers a step's runner.
import { describe, expect, it } from "vitest";
import { runnerWarnings, type OfferingSupervisor } from "../../src/coordinator/runner-warnings.js";
import type { StepDefinition, WorkflowDefinition } from "../../src/workflow/definition.js";

const step = (id: string, runner: string, extra: Partial<StepDefinition> = {}): StepDefinition => ({ id, runner, payload: "", dependsOn: [], ...extra });
const wf = (steps: StepDefinition[], onFailure?: StepDefinition[]): WorkflowDefinition => ({ name: "w", labels: {}, steps, ...(onFailure ? { onFailure } : {}) });
const sup = (health: OfferingSupervisor["health"], ...runners: string[]): OfferingSupervisor => ({ health, runners: runners.map((name) => ({ name })) });
const builtin = [sup("up", "js", "shell", "noop")];

describe("runnerWarnings", () => {
  const cases: Array<[string, WorkflowDefinition, OfferingSupervisor[], string[]]> = [
    ["every runner offered", wf([step("a", "js"), step("b", "shell")]), builtin, []],
    ["a typo", wf([step("hello", "jss")]), builtin, ['no supervisor offers runner "jss" (offered: js, noop, shell): step hello will wait until one does']],
    [
      "one warning per runner, naming its steps",
      wf([step("a", "gpu"), step("b", "gpu"), step("c", "js")]),
      builtin,
      ['no supervisor offers runner "gpu" (offered: js, noop, shell): steps a, b will wait until one does'],
    ],
    ["on_failure steps count", wf([step("a", "js")], [step("page", "pager")]), builtin, ['no supervisor offers runner "pager" (offered: js, noop, shell): step page will wait until one does']],
    [
      "inline sub-workflow steps count, named by path",
      wf([step("child", "", { workflow: { inline: wf([step("inner", "hero")]) } })]),
      builtin,
      ['no supervisor offers runner "hero" (offered: js, noop, shell): step child/inner will wait until one does'],
    ],
    ["template sub-workflows are not looked into", wf([step("t", "", { workflow: { template: "deploy" } })]), builtin, []],
    ["a down supervisor offers nothing", wf([step("a", "hero")]), [...builtin, sup("down", "hero")], ['no supervisor offers runner "hero" (offered: js, noop, shell): step a will wait until one does']],
    ["a suspect one still does", wf([step("a", "hero")]), [...builtin, sup("suspect", "hero")], []],
    ["no supervisors at all", wf([step("a", "js")]), [], ['no supervisor offers runner "js" (offered: none): step a will wait until one does']],
    ["unknown while one is still connecting", wf([step("a", "hero")]), [...builtin, sup("connecting")], []],
    [
      "many steps are cut short",
      wf(Array.from({ length: 7 }, (_, i) => step(`s${i}`, "x"))),
      builtin,
      ['no supervisor offers runner "x" (offered: js, noop, shell): steps s0, s1, s2, s3, s4 and 2 more will wait until one does'],
    ],
  ];
  for (const [name, definition, supervisors, want] of cases) {
    it(name, () => expect(runnerWarnings(definition, supervisors)).toEqual(want));
  }
});

// Every error class says what it is in `name`, so logs, `String(err)` and
// stack traces name the class rather than a bare "Error".
import { describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/client.js";
import { SupersededStop } from "../../src/runners/types.js";
import { CannotStartError } from "../../src/schedule/scheduler.js";
import { TokenFileError } from "../../src/server/auth.js";
import { JsonRpcError } from "../../src/server/jsonrpc/errors.js";
import { InvalidCursorError, LeaseLostError, StoreUnavailableError } from "../../src/store/store.js";
import { BudgetExceeded } from "../../src/workflow/cel-budget.js";

describe("error classes", () => {
  const cases: Array<[string, Error]> = [
    ["CliError", new CliError("x")],
    ["SupersededStop", new SupersededStop("x")],
    ["CannotStartError", new CannotStartError("x")],
    ["TokenFileError", new TokenFileError("x")],
    ["JsonRpcError", new JsonRpcError(-32600, "x")],
    ["InvalidCursorError", new InvalidCursorError("x")],
    ["StoreUnavailableError", new StoreUnavailableError("x")],
    ["LeaseLostError", new LeaseLostError("x")],
    ["BudgetExceeded", new BudgetExceeded("x")],
  ];
  for (const [name, err] of cases) {
    it(`${name} names itself`, () => {
      expect(err.name).toBe(name);
      expect(String(err)).toMatch(new RegExp(`^${name}: `));
    });
  }
});

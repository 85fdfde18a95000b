// `horus supervisors`: the coordinator's supervisors with health and load (ListSupervisors).
import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ListSupervisorsResponseSchema } from "../../../gen/horus/coordinator/v1/coordinator_pb.js";
import { coordinatorClient } from "../client.js";
import { globals } from "../globals.js";
import { print, printJson } from "../output.js";

export function registerSupervisors(program: Command): void {
  program
    .command("supervisors")
    .description("List the coordinator's supervisors with health and load.")
    .action(async () => {
      const res = await coordinatorClient(globals(program).coordinator).listSupervisors({});
      if (globals(program).json) return printJson(toJson(ListSupervisorsResponseSchema, res));
      if (res.supervisors.length === 0) return print("no supervisors");
      for (const s of res.supervisors) {
        const load = s.runners.map((r) => `${r.name} ${r.inFlight}/${r.capacity}`).join(", ");
        const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",");
        print(`${s.name.padEnd(16)} ${s.health.padEnd(10)} ${s.source.padEnd(10)} ${s.url || "-"}  ${load}${labels ? `  [${labels}]` : ""}`);
      }
    });
}

// The supervisors page: ListSupervisors as a table (runners with capacity
// and jobs in flight, health, labels, last answer, lease). There is no
// stream of pool changes, so the page asks again every 2 s while it is shown,
// and not at all otherwise.
import { ConnectError } from "@connectrpc/connect";
import type { CoordinatorClient } from "horus-client-web";
import { $, ago, el, tr } from "./dom.js";
import { ms } from "./model.js";
import type { Page } from "./pages.js";

const EVERY_MS = 2_000;

export function supervisorsPage(client: CoordinatorClient): Page {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let showing = false;
  async function refresh(): Promise<void> {
    try {
      const { supervisors } = await client.listSupervisors({});
      const table = $("supervisors");
      table.replaceChildren(tr("th", ["name", "health", "source", "runners (in flight / capacity)", "in flight", "labels", "last seen", "lease", "url"]));
      for (const s of supervisors) {
        const health = el("span", s.health, "badge health");
        health.dataset.health = s.health;
        const runners = el("span");
        for (const r of s.runners) {
          const chip = el("span", `${r.name} ${r.inFlight}/${r.capacity}`, "chip");
          chip.dataset.runner = r.name;
          // How full it is, drawn under the text.
          chip.style.setProperty("--load", `${r.capacity > 0 ? Math.min(100, (100 * r.inFlight) / r.capacity) : 0}%`);
          runners.append(chip);
        }
        const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(", ");
        const lease = ms(s.leaseExpiresAt);
        const row = tr("td", [s.name, health, s.source, runners, String(s.inFlight), labels, ago(ms(s.lastSeen)), lease ? `${Math.max(0, Math.round((lease - Date.now()) / 1000))}s left` : "", s.url]);
        row.dataset.name = s.name;
        row.dataset.health = s.health;
        table.append(row);
      }
      $("supervisors-note").textContent = supervisors.length === 0 ? "No supervisor: steps wait READY until one registers (horus supervisor --register URL)." : "";
    } catch (err) {
      $("supervisors-note").textContent = ConnectError.from(err).rawMessage;
    }
    if (showing) timer = setTimeout(() => void refresh(), EVERY_MS);
  }
  return {
    show() {
      if (showing) return;
      showing = true;
      void refresh();
    },
    hide() {
      showing = false;
      clearTimeout(timer);
    },
  };
}

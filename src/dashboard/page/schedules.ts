// The dashboard's schedules page (#/schedules): every schedule with its
// cron, time zone, next run and last run (a link to it), and Pause /
// Resume / Run now. It draws itself over the page's main area while the
// address is #/schedules, so the rest of the dashboard needs only to mount
// it. Schedules have no change stream: the page reads ListSchedules while
// it is shown (every few seconds, and after each action).
import { ConnectError } from "@connectrpc/connect";
import { OverlapPolicy, type CoordinatorClient } from "horus-client-web";

type Schedule = Awaited<ReturnType<CoordinatorClient["listSchedules"]>>["schedules"][number];
type Time = Schedule["nextRunAt"];

/** How often the shown page reads the schedules again (ms). */
const REFRESH_MS = 3_000;

const HASH = "#/schedules";

const OVERLAP: Record<number, string> = {
  [OverlapPolicy.UNSPECIFIED]: "skip",
  [OverlapPolicy.SKIP]: "skip",
  [OverlapPolicy.ALLOW]: "allow",
  [OverlapPolicy.CANCEL_PREVIOUS]: "cancel previous",
};

const STYLE = `
  #schedules { position: fixed; inset: 44px 0 0 0; background: var(--bg); overflow: auto; padding: 16px 20px; }
  #schedules[hidden] { display: none; }
  #schedules h2 { margin: 0 0 12px; font-size: 18px; }
  #schedules table { border-collapse: collapse; width: 100%; background: var(--panel); font-size: 13px; }
  #schedules th, #schedules td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  #schedules td.cron, #schedules td.last { font-family: ui-monospace, monospace; font-size: 12px; }
  #schedules td.actions { display: flex; gap: 6px; }
  #schedules tr[data-paused=true] td.state { color: var(--muted); }
  #schedules .error { color: var(--failed); white-space: pre-wrap; }
  #schedules .hint { margin: 12px 0 0; }
  a.nav { color: #b8c0cc; text-decoration: none; font-size: 13px; }
  a.nav:hover, a.nav.current { color: #fff; }
`;

function when(t: Time): string {
  if (!t) return "-";
  const ms = Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
  return new Date(ms).toLocaleString(undefined, { timeZoneName: "short" });
}

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function button(label: string, action: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.textContent = label;
  b.dataset.action = action;
  b.addEventListener("click", onClick);
  return b;
}

/** Adds the page (hidden until the address is #/schedules) and its link in the header. */
export function mountSchedules(client: CoordinatorClient): void {
  const style = document.createElement("style");
  style.textContent = STYLE;
  document.head.append(style);
  const nav = document.createElement("a");
  nav.className = "nav";
  nav.id = "nav-schedules";
  nav.href = HASH;
  nav.textContent = "schedules";
  const anchor = document.querySelector("header.top h1");
  (anchor?.nextElementSibling ?? anchor)?.after(nav);

  const page = document.createElement("section");
  page.id = "schedules";
  page.hidden = true;
  const title = document.createElement("h2");
  title.textContent = "Schedules ";
  const back = document.createElement("a");
  back.href = "#/";
  back.className = "hint";
  back.textContent = "← workflows";
  title.append(back);
  const error = document.createElement("p");
  error.className = "error";
  const table = document.createElement("table");
  const head = document.createElement("tr");
  for (const h of ["Name", "Cron", "Time zone", "Overlap", "State", "Next run", "Last run", ""]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  const body = document.createElement("tbody");
  table.append(head, body);
  const empty = document.createElement("p");
  empty.className = "hint";
  empty.textContent = "No schedules. Add one with `horus schedule add NAME FILE --cron EXPR` or CreateSchedule.";
  page.append(title, error, table, empty);
  document.body.append(page);

  let timer: ReturnType<typeof setTimeout> | undefined;

  const act = async (call: () => Promise<unknown>) => {
    try {
      await call();
      error.textContent = "";
    } catch (err) {
      error.textContent = ConnectError.from(err).rawMessage;
    }
    await refresh();
  };

  function row(s: Schedule): HTMLTableRowElement {
    const spec = s.spec!;
    const tr = document.createElement("tr");
    tr.dataset.name = spec.name;
    tr.dataset.paused = String(s.paused);
    const last = cell("", "last");
    if (s.lastWorkflowId) {
      const a = document.createElement("a");
      a.href = `#/wf/${encodeURIComponent(s.lastWorkflowId)}`;
      a.textContent = s.lastWorkflowId;
      a.title = when(s.lastRunAt);
      last.append(a);
    } else last.textContent = "-";
    const actions = cell("", "actions");
    actions.append(
      s.paused
        ? button("Resume", "resume", () => void act(() => client.resumeSchedule({ name: spec.name })))
        : button("Pause", "pause", () => void act(() => client.pauseSchedule({ name: spec.name }))),
      button("Run now", "trigger", () => void act(() => client.triggerSchedule({ name: spec.name }))),
    );
    tr.append(
      cell(spec.name, "name"),
      cell(spec.cron, "cron"),
      cell(spec.timeZone || "UTC", "tz"),
      cell(OVERLAP[spec.overlap] ?? "skip", "overlap"),
      cell(s.paused ? "paused" : "active", "state"),
      cell(when(s.nextRunAt), "next"),
      last,
      actions,
    );
    return tr;
  }

  async function refresh(): Promise<void> {
    clearTimeout(timer);
    if (page.hidden) return;
    try {
      const { schedules } = await client.listSchedules({});
      // Rows whose content has not changed are kept, not redrawn: a click
      // that lands while the page refreshes must reach the button it aimed at.
      const shown = new Map([...body.rows].map((tr) => [tr.outerHTML, tr]));
      body.replaceChildren(...schedules.map((s) => {
        const fresh = row(s);
        return shown.get(fresh.outerHTML) ?? fresh;
      }));
      empty.hidden = schedules.length > 0;
    } catch (err) {
      error.textContent = ConnectError.from(err).rawMessage;
    }
    if (!page.hidden) timer = setTimeout(() => void refresh(), REFRESH_MS);
  }

  function route(): void {
    const shown = location.hash === HASH;
    page.hidden = !shown;
    nav.classList.toggle("current", shown);
    if (shown) void refresh();
    else clearTimeout(timer);
  }
  window.addEventListener("hashchange", route);
  route();
}

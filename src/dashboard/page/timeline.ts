// The timeline (a Gantt chart) of a workflow's attempts: one row per step
// record that made an attempt, one bar per attempt from the time a
// supervisor (or a child workflow) had it to its end, the part before the
// runner started it drawn lighter. A bar's title names its start and end.
// Drawn again as a whole when shown or changed: it holds one element per
// attempt, and only the visible tab is drawn.
import type { Workflow } from "./model.js";
import { formatDuration, ms, stepKey, stepStateName } from "./model.js";

const SVG = "http://www.w3.org/2000/svg";
const LABEL_W = 170;
const ROW = 22;
const BAR_H = 14;
const AXIS_H = 24;
const MIN_BAR = 2;
/** Rows drawn at most (the first ones, in step order); a huge for_each would otherwise be a huge drawing. */
export const MAX_ROWS = 2_000;

export interface TimelineOptions {
  /** Width of the bar area in pixels. */
  width: number;
  /** Called with the key of the step whose bar or label was clicked. */
  onSelect(key: string): void;
  /** "Now", for attempts still running (default Date.now()). */
  now?: number;
}

/** One bar of the chart, in ms since the epoch. */
export interface TimelineBar {
  key: string;
  attempt: number;
  state: string;
  supervisor: string;
  /** Dispatched (or started) at. */
  from: number;
  /** Started by the runner at; undefined when it never started. */
  started: number | undefined;
  /** Finished at; undefined while it runs. */
  to: number | undefined;
}

/** The bars of a workflow, rows in the order of the steps (an instance under its for_each step). */
export function timelineBars(wf: Workflow): TimelineBar[] {
  const bars: TimelineBar[] = [];
  for (const s of wf.steps) {
    for (const a of s.attemptHistory) {
      const from = ms(a.dispatchedAt) ?? ms(a.startedAt);
      if (from === undefined) continue;
      bars.push({ key: stepKey(s), attempt: a.number, state: stepStateName(a.state), supervisor: a.supervisor, from, started: ms(a.startedAt), to: ms(a.finishedAt) });
    }
  }
  return bars;
}

/** hh:mm:ss.mmm in UTC, as the log lines show times. */
const clock = (t: number) => new Date(t).toISOString().slice(11, 23);

/** Draws the chart into `svg`; returns the number of bars drawn and of rows left out. */
export function drawTimeline(svg: SVGSVGElement, wf: Workflow, options: TimelineOptions): { bars: number; hiddenRows: number } {
  svg.replaceChildren();
  const now = options.now ?? Date.now();
  const all = timelineBars(wf);
  const allRows = [...new Set(all.map((b) => b.key))];
  const rows = allRows.slice(0, MAX_ROWS);
  const kept = new Set(rows);
  const bars = all.filter((b) => kept.has(b.key));
  const rowOf = new Map(rows.map((k, i) => [k, i]));
  const start = Math.min(...bars.map((b) => b.from), ms(wf.startedAt) ?? Infinity);
  const end = Math.max(start + 1, ...bars.map((b) => b.to ?? now));
  const width = Math.max(200, options.width - LABEL_W - 20);
  const x = (t: number) => LABEL_W + ((t - start) / (end - start)) * width;
  svg.setAttribute("width", String(LABEL_W + width + 20));
  svg.setAttribute("height", String(AXIS_H + rows.length * ROW + 8));
  const result = { bars: bars.length, hiddenRows: allRows.length - rows.length };
  if (bars.length === 0) return result;

  const frag = document.createDocumentFragment();
  // The axis: five ticks, as time since the first attempt.
  for (let i = 0; i <= 4; i++) {
    const t = start + ((end - start) * i) / 4;
    const line = document.createElementNS(SVG, "line");
    line.setAttribute("class", "tick");
    line.setAttribute("x1", String(x(t)));
    line.setAttribute("x2", String(x(t)));
    line.setAttribute("y1", String(AXIS_H - 6));
    line.setAttribute("y2", String(AXIS_H + rows.length * ROW));
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("class", "axis");
    text.setAttribute("x", String(x(t)));
    text.setAttribute("y", String(AXIS_H - 10));
    text.setAttribute("text-anchor", i === 0 ? "start" : i === 4 ? "end" : "middle");
    text.textContent = i === 0 ? "0" : `+${formatDuration(t - start)}`;
    frag.append(line, text);
  }
  // The absolute time of 0, in the labels' column.
  const origin = document.createElementNS(SVG, "text");
  origin.setAttribute("class", "axis");
  origin.setAttribute("x", "4");
  origin.setAttribute("y", String(AXIS_H - 10));
  origin.textContent = `from ${clock(start)} UTC`;
  frag.append(origin);
  rows.forEach((key, i) => {
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("class", "row-label");
    label.setAttribute("x", "4");
    label.setAttribute("y", String(AXIS_H + i * ROW + ROW / 2 + 4));
    label.textContent = key.length > 24 ? `${key.slice(0, 23)}…` : key;
    label.addEventListener("click", () => options.onSelect(key));
    frag.append(label);
  });
  for (const b of bars) {
    const y = AXIS_H + rowOf.get(b.key)! * ROW + (ROW - BAR_H) / 2;
    const to = b.to ?? now;
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("class", "bar");
    g.dataset.step = b.key;
    g.dataset.attempt = String(b.attempt);
    g.dataset.state = b.state;
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${b.key} attempt ${b.attempt}: ${b.state}${b.supervisor ? ` on ${b.supervisor}` : ""}, ${clock(b.from)} → ${b.to !== undefined ? clock(b.to) : "running"} (${formatDuration(to - b.from)})`;
    g.append(title);
    // Dispatched, not started yet: the lighter part.
    const run = b.started ?? to;
    if (run > b.from) g.append(rect("queued", x(b.from), y, Math.max(MIN_BAR / 2, x(run) - x(b.from))));
    g.append(rect("run", x(Math.min(run, to)), y, Math.max(MIN_BAR, x(to) - x(Math.min(run, to)))));
    g.addEventListener("click", () => options.onSelect(b.key));
    frag.append(g);
  }
  svg.append(frag);
  return result;
}

function rect(cls: string, x: number, y: number, w: number): SVGRectElement {
  const r = document.createElementNS(SVG, "rect");
  r.setAttribute("class", cls);
  r.setAttribute("x", String(x));
  r.setAttribute("y", String(y));
  r.setAttribute("width", String(w));
  r.setAttribute("height", String(BAR_H));
  return r;
}


// Draws a workflow's DAG as SVG: one column per topological level, steps as
// nodes coloured by state (CSS on data-state), edges from depends_on. Built
// once per workflow; later changes only touch the changed nodes' attributes,
// so a 1,000-step workflow updates as cheaply as a small one. All edges are
// one <path>, so their count costs one element. A large fan-out (more than
// GROUP_MIN siblings) is one node until expanded, so a 50-step fan-out is not
// one tall column; zoom and pan are zoom.ts's.
import type { Step, Workflow } from "./model.js";
import { fanOutGroups, GROUP_MIN, groupState } from "./fan-out.js";
import { stepKey, stepStateName } from "./model.js";

const SVG = "http://www.w3.org/2000/svg";
const COL = 190;
const ROW = 38;
const NODE_W = 160;
const NODE_H = 28;
const PAD = 10;

export interface DagOptions {
  /** Most nodes drawn; the rest are named in a note (default 5,000). */
  maxNodes?: number;
  /** Called with the clicked step's key. */
  onSelect(key: string): void;
  /** Keys of fan-out groups drawn expanded (the rest of the large ones are one node each). */
  expanded?: ReadonlySet<string>;
  /** Called with a group's key when its node (or, expanded, its heading) is clicked. */
  onToggleGroup?(key: string): void;
}

export interface Dag {
  /** Updates one node from its step record. */
  update(step: Step): void;
  select(key: string | undefined): void;
  /** Steps drawn, and steps left out because of maxNodes. */
  readonly drawn: number;
  readonly hidden: number;
  /** Size of the drawing, in its own units (for zooming). */
  readonly width: number;
  readonly height: number;
}

/** The label of a node: the step id, with instance progress for a for_each step. */
function label(step: Step, instances: Step[] | undefined): string {
  const id = step.id.length > 20 ? `${step.id.slice(0, 19)}…` : step.id;
  if (!instances || instances.length === 0) return id;
  const done = instances.filter((i) => stepStateName(i.state) === "SUCCEEDED").length;
  return `${id} ${done}/${instances.length}`;
}

type Item = { kind: "step"; step: Step } | { kind: "group"; key: string; members: Step[] } | { kind: "head"; key: string; members: Step[] };

export function drawDag(svg: SVGSVGElement, wf: Workflow, options: DagOptions): Dag {
  svg.replaceChildren();
  const maxNodes = options.maxNodes ?? 5_000;
  const expanded = options.expanded ?? new Set<string>();
  const main = wf.steps.filter((s) => s.instance === undefined);
  const instancesOf = new Map<string, Step[]>();
  for (const s of wf.steps) if (s.instance !== undefined) instancesOf.set(s.id, [...(instancesOf.get(s.id) ?? []), s]);

  // on_failure steps run after everything else: a column of their own.
  const lastLevel = Math.max(0, ...main.filter((s) => !s.onFailure).map((s) => s.level));
  const byLevel: Step[][] = [];
  for (const s of main.slice(0, maxNodes)) {
    const col = s.onFailure ? lastLevel + 1 : s.level;
    (byLevel[col] ??= []).push(s);
  }
  // Large fan-outs: one node for the group, or its heading and then its members.
  const groups = fanOutGroups(byLevel);
  const groupOf = new Map<string, string>();
  for (const [key, members] of groups) for (const m of members) groupOf.set(m.id, key);
  const columns: Item[][] = byLevel.map((col) => {
    const items: Item[] = [];
    const seen = new Set<string>();
    for (const s of col ?? []) {
      const key = groupOf.get(s.id);
      if (key === undefined) items.push({ kind: "step", step: s });
      else if (!seen.has(key)) {
        seen.add(key);
        const members = groups.get(key)!;
        if (expanded.has(key)) items.push({ kind: "head", key, members }, ...members.map((m): Item => ({ kind: "step", step: m })));
        else items.push({ kind: "group", key, members });
      }
    }
    return items;
  });
  // Places: an expanded group's members wrap into sub-columns of GROUP_MIN
  // rows, so an open fan-out is a block rather than one tall column.
  const placed: Array<{ item: Item; x: number; y: number }> = [];
  let x0 = PAD;
  let maxRows = 1;
  for (const col of columns) {
    let row = 0;
    let subs = 1;
    let wrap: { start: number; k: number; n: number } | undefined;
    for (const item of col) {
      if (wrap && item.kind === "step") {
        const sub = Math.floor(wrap.k / GROUP_MIN);
        placed.push({ item, x: x0 + sub * COL, y: PAD + (wrap.start + (wrap.k % GROUP_MIN)) * ROW });
        subs = Math.max(subs, sub + 1);
        if (++wrap.k === wrap.n) {
          row = wrap.start + Math.min(wrap.n, GROUP_MIN);
          wrap = undefined;
        }
        continue;
      }
      placed.push({ item, x: x0, y: PAD + row * ROW });
      row++;
      // The members follow their heading in the column's items.
      if (item.kind === "head") wrap = { start: row, k: 0, n: item.members.length };
    }
    maxRows = Math.max(maxRows, row);
    x0 += subs * COL;
  }
  // Where each step's edges start and end: its node, or its collapsed group's.
  const pos = new Map<string, { x: number; y: number }>();
  for (const { item, x, y } of placed) {
    if (item.kind === "step") pos.set(item.step.id, { x, y });
    else if (item.kind === "group") for (const m of item.members) pos.set(m.id, { x, y });
  }
  const width = x0 + PAD - (COL - NODE_W);
  const height = PAD * 2 + maxRows * ROW;

  // Edges: a curve from the right of each dependency to the left of its dependent (once per pair of nodes).
  const d = new Set<string>();
  for (const s of main) {
    const to = pos.get(s.id);
    if (!to) continue;
    for (const dep of s.dependsOn) {
      const from = pos.get(dep);
      if (!from) continue;
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2;
      const x2 = to.x;
      const y2 = to.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      d.add(`M${x1} ${y1}C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}`);
    }
  }
  const edges = document.createElementNS(SVG, "path");
  edges.setAttribute("class", "edges");
  edges.setAttribute("d", [...d].join(""));
  svg.appendChild(edges);

  const box = (cls: string, x: number, y: number) => {
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("class", cls);
    g.setAttribute("transform", `translate(${x},${y})`);
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("width", String(NODE_W));
    rect.setAttribute("height", String(NODE_H));
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", "10");
    text.setAttribute("y", String(NODE_H / 2 + 4));
    const title = document.createElementNS(SVG, "title");
    g.append(title, rect, text);
    return { g, text, title };
  };

  const nodes = new Map<string, { g: SVGGElement; text: SVGTextElement; title: SVGTitleElement; step: Step }>();
  const groupNodes = new Map<string, { g: SVGGElement; text: SVGTextElement; title: SVGTitleElement; members: Step[] }>();
  const frag = document.createDocumentFragment();
  for (const { item, x, y } of placed) {
    if (item.kind === "step") {
      const s = item.step;
      const n = box("node", x, y);
      n.g.dataset.step = s.id;
      n.g.addEventListener("click", () => options.onSelect(s.id));
      frag.appendChild(n.g);
      nodes.set(s.id, { ...n, step: s });
    } else if (item.kind === "group") {
      const n = box("node group", x, y);
      n.g.dataset.group = item.key;
      n.g.addEventListener("click", () => options.onToggleGroup?.(item.key));
      frag.appendChild(n.g);
      groupNodes.set(item.key, { ...n, members: item.members });
    } else {
      const n = box("group-head", x, y);
      n.g.dataset.group = item.key;
      n.text.textContent = `▾ ${item.members.length} steps (collapse)`;
      n.title.textContent = "Collapse these steps into one node";
      n.g.addEventListener("click", () => options.onToggleGroup?.(item.key));
      frag.appendChild(n.g);
    }
  }
  svg.appendChild(frag);

  const paintGroup = (key: string) => {
    const n = groupNodes.get(key);
    if (!n) return;
    const state = groupState(n.members);
    if (n.g.dataset.state !== state) n.g.dataset.state = state;
    const done = n.members.filter((m) => stepStateName(m.state) === "SUCCEEDED").length;
    n.text.textContent = `▸ ${n.members.length} steps ${done}/${n.members.length}`;
    n.title.textContent = `${n.members.length} steps with the same dependencies (${n.members[0]!.id} …): click to expand`;
  };

  let selected: string | undefined;
  const dag: Dag = {
    drawn: nodes.size + [...groupNodes.values()].reduce((a, g) => a + g.members.length, 0),
    hidden: main.length - Math.min(main.length, maxNodes),
    width,
    height,
    update(step) {
      const key = groupOf.get(step.id);
      if (key !== undefined && groupNodes.has(key)) return paintGroup(key);
      // An instance changes its for_each step's label.
      const n = nodes.get(step.id);
      if (!n) return;
      const state = stepStateName(n.step.state);
      if (n.g.dataset.state !== state) n.g.dataset.state = state;
      const text = label(n.step, instancesOf.get(step.id));
      if (n.text.textContent !== text) n.text.textContent = text;
      n.title.textContent = `${n.step.id}: ${state}${n.step.waitingReason ? ` (${n.step.waitingReason})` : ""}`;
    },
    select(key) {
      const id = key?.split("#")[0];
      const elementOf = (sid: string | undefined) => (sid === undefined ? undefined : (nodes.get(sid)?.g ?? groupNodes.get(groupOf.get(sid) ?? "")?.g));
      elementOf(selected)?.classList.remove("selected");
      selected = id;
      elementOf(id)?.classList.add("selected");
    },
  };
  for (const n of nodes.values()) dag.update(n.step);
  for (const key of groupNodes.keys()) paintGroup(key);
  return dag;
}

export { stepKey };

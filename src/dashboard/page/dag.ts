// Draws a workflow's DAG as SVG: one column per topological level, steps as
// nodes coloured by state (CSS on data-state), edges from depends_on. Built
// once per workflow; later changes only touch the changed nodes' attributes,
// so a 1,000-step workflow updates as cheaply as a small one. All edges are
// one <path>, so their count costs one element.
import type { Step, Workflow } from "./model.js";
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
}

export interface Dag {
  /** Updates one node from its step record. */
  update(step: Step): void;
  select(key: string | undefined): void;
  /** Steps drawn, and steps left out because of maxNodes. */
  readonly drawn: number;
  readonly hidden: number;
}

/** The label of a node: the step id, with instance progress for a for_each step. */
function label(step: Step, instances: Step[] | undefined): string {
  const id = step.id.length > 20 ? `${step.id.slice(0, 19)}…` : step.id;
  if (!instances || instances.length === 0) return id;
  const done = instances.filter((i) => stepStateName(i.state) === "SUCCEEDED").length;
  return `${id} ${done}/${instances.length}`;
}

export function drawDag(svg: SVGSVGElement, wf: Workflow, options: DagOptions): Dag {
  svg.replaceChildren();
  const maxNodes = options.maxNodes ?? 5_000;
  const main = wf.steps.filter((s) => s.instance === undefined);
  const instancesOf = new Map<string, Step[]>();
  for (const s of wf.steps) if (s.instance !== undefined) instancesOf.set(s.id, [...(instancesOf.get(s.id) ?? []), s]);

  // on_failure steps run after everything else: a column of their own.
  const lastLevel = Math.max(0, ...main.filter((s) => !s.onFailure).map((s) => s.level));
  const columns: Step[][] = [];
  for (const s of main.slice(0, maxNodes)) {
    const col = s.onFailure ? lastLevel + 1 : s.level;
    (columns[col] ??= []).push(s);
  }
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) => col?.forEach((s, r) => pos.set(s.id, { x: PAD + c * COL, y: PAD + r * ROW })));
  const rows = Math.max(1, ...columns.map((c) => c?.length ?? 0));
  svg.setAttribute("width", String(PAD * 2 + columns.length * COL - (COL - NODE_W)));
  svg.setAttribute("height", String(PAD * 2 + rows * ROW));

  // Edges: a curve from the right of each dependency to the left of its dependent.
  const d: string[] = [];
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
      d.push(`M${x1} ${y1}C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}`);
    }
  }
  const edges = document.createElementNS(SVG, "path");
  edges.setAttribute("class", "edges");
  edges.setAttribute("d", d.join(""));
  svg.appendChild(edges);

  const nodes = new Map<string, { g: SVGGElement; text: SVGTextElement; title: SVGTitleElement; step: Step }>();
  const frag = document.createDocumentFragment();
  for (const s of main) {
    const p = pos.get(s.id);
    if (!p) continue;
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("class", "node");
    g.setAttribute("transform", `translate(${p.x},${p.y})`);
    g.dataset.step = s.id;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("width", String(NODE_W));
    rect.setAttribute("height", String(NODE_H));
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", "10");
    text.setAttribute("y", String(NODE_H / 2 + 4));
    const title = document.createElementNS(SVG, "title");
    g.append(title, rect, text);
    g.addEventListener("click", () => options.onSelect(s.id));
    frag.appendChild(g);
    nodes.set(s.id, { g, text, title, step: s });
  }
  svg.appendChild(frag);

  let selected: string | undefined;
  const dag: Dag = {
    drawn: nodes.size,
    hidden: main.length - nodes.size,
    update(step) {
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
      if (selected) nodes.get(selected)?.g.classList.remove("selected");
      selected = id;
      if (id) nodes.get(id)?.g.classList.add("selected");
    },
  };
  for (const n of nodes.values()) dag.update(n.step);
  return dag;
}

export { stepKey };

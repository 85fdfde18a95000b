// Small DOM helpers shared by the dashboard's pages.

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function el(tag: string, text?: string, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

export function tr(cell: "td" | "th", values: Array<string | Node>): HTMLTableRowElement {
  const row = document.createElement("tr");
  for (const v of values) {
    const c = document.createElement(cell);
    c.append(v);
    row.append(c);
  }
  return row;
}

export function link(href: string, text: string, cls?: string): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  if (cls) a.className = cls;
  return a;
}

/** "12s ago", "3m05s ago" for a time in ms. */
export function ago(t: number | undefined, now = Date.now()): string {
  if (t === undefined) return "";
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 60 ? `${s}s ago` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s ago`;
}

// The dashboard's pages, chosen by the first part of the URL's hash
// (#/supervisors, #/templates/NAME, ...; the workflows page is the rest).
// A page is a <main class="page" data-page=NAME> in index.html, a link in
// <nav id="nav">, and a registerPage call: adding one touches nothing else.

export interface Page {
  /** Called when the page is shown (again), with the hash's parts after the name. */
  show(args: string[]): void;
  /** Called when another page is shown (stop polling, close streams). */
  hide?(): void;
}

const pages = new Map<string, Page>();
let shown: string | undefined;

export function registerPage(name: string, page: Page): void {
  pages.set(name, page);
}

/** Shows the page the hash names ("" and unknown names: `fallback`). */
export function route(hash: string, fallback: string): void {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const name = pages.has(parts[0]!) ? parts[0]! : fallback;
  const args = name === parts[0] ? parts.slice(1) : parts;
  if (shown !== name) {
    if (shown) pages.get(shown)?.hide?.();
    shown = name;
    for (const el of document.querySelectorAll<HTMLElement>("main.page")) el.hidden = el.dataset.page !== name;
  }
  // A page this registry does not know (one that shows itself, say) lights no link.
  const lit = name === parts[0] || parts[0] === "" ? name : undefined;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("#nav a")) a.classList.toggle("active", a.dataset.page === lit);
  pages.get(name)?.show(args);
}

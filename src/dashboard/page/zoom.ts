// Zoom and pan for an SVG drawn in a scrolling container. The SVG keeps its
// drawing coordinates in a viewBox and zooming changes only its size, so the
// browser scales it and the container still scrolls: a node anywhere in a
// large graph can be scrolled to (and clicked by a test) at any zoom.
// Panning is dragging the background, which scrolls the container.

export interface Zoom {
  /** The current scale (1 = drawing size). */
  readonly scale: number;
  /** Sets the scale, keeping the drawing point under (cx, cy), in container pixels, in place; centre by default. */
  zoomTo(scale: number, cx?: number, cy?: number): void;
  /** The scale that fits the whole drawing in the container (at most 1). */
  fitScale(): number;
  /** Zooms to fitScale(), scrolled to the top left. */
  fit(): void;
  /** Call after the drawing changed size (width and height in drawing units). */
  resized(width: number, height: number): void;
}

export const MIN_SCALE = 0.05;
export const MAX_SCALE = 4;

export function attachZoom(container: HTMLElement, svg: SVGSVGElement): Zoom {
  let scale = 1;
  let width = 1;
  let height = 1;
  const apply = () => {
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", String(Math.round(width * scale)));
    svg.setAttribute("height", String(Math.round(height * scale)));
    svg.dataset.scale = scale.toFixed(3);
  };
  const zoom: Zoom = {
    get scale() {
      return scale;
    },
    zoomTo(next, cx = container.clientWidth / 2, cy = container.clientHeight / 2) {
      next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, next));
      // The drawing point under (cx, cy) before, kept under it after.
      const box = svg.getBoundingClientRect();
      const outer = container.getBoundingClientRect();
      const px = (cx + outer.left - box.left) / scale;
      const py = (cy + outer.top - box.top) / scale;
      scale = next;
      apply();
      container.scrollLeft += px * scale - (cx + outer.left - box.left);
      container.scrollTop += py * scale - (cy + outer.top - box.top);
    },
    fitScale() {
      return Math.min(1, (container.clientWidth - 24) / width, (container.clientHeight - 40) / height);
    },
    fit() {
      zoom.zoomTo(zoom.fitScale());
      container.scrollLeft = 0;
      container.scrollTop = 0;
    },
    resized(w, h) {
      width = Math.max(1, w);
      height = Math.max(1, h);
      apply();
    },
  };

  // Ctrl (or ⌘) + wheel zooms around the pointer, as maps do; the plain wheel scrolls.
  container.addEventListener(
    "wheel",
    (e) => {
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      const outer = container.getBoundingClientRect();
      zoom.zoomTo(scale * Math.exp(-e.deltaY / 300), e.clientX - outer.left, e.clientY - outer.top);
    },
    { passive: false },
  );

  // Dragging the background pans; a press on a node is a click, left alone.
  let drag: { x: number; y: number; left: number; top: number } | undefined;
  svg.addEventListener("pointerdown", (e) => {
    if (e.button !== 0 || (e.target as Element).closest(".node, .group-head")) return;
    drag = { x: e.clientX, y: e.clientY, left: container.scrollLeft, top: container.scrollTop };
    svg.setPointerCapture(e.pointerId);
    svg.classList.add("panning");
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    container.scrollLeft = drag.left - (e.clientX - drag.x);
    container.scrollTop = drag.top - (e.clientY - drag.y);
  });
  const end = () => {
    drag = undefined;
    svg.classList.remove("panning");
  };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  return zoom;
}

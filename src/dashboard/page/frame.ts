// Painting once per frame, even when the browser draws no frames.

/**
 * Runs `fn` on the next animation frame, or after 100 ms if no frame comes:
 * browsers stop animation frames for pages they do not draw (a background
 * tab, a busy headless one), and the page must stay current anyway.
 */
export function nextFrame(fn: () => void): void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    fn();
  };
  requestAnimationFrame(run);
  setTimeout(run, 100);
}

// Debian's Chromium for browser tests (installed by global-setup and .ci/run),
// started the way this closed network needs: no background connections.
export const CHROMIUM = "/usr/bin/chromium";

/** Flags for playwright-core; the fresh --user-data-dir comes from launchPersistentContext. */
export function chromiumArgs(): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ];
}

// The supervisor's side of the process guard (host.mjs): forks it, tells it
// which jobs run, and asks it to kill a job's whole tree. The runner kills
// a job's process group itself at once; the guard adds what a group kill
// misses (processes that left with setsid) and what nobody else would do:
// kill the jobs when the supervisor dies, even by SIGKILL, because its end
// of the IPC channel closes. Messages are fire-and-forget: once written,
// the guard reads them even if the supervisor dies right after.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const HOST_PATH = fileURLToPath(new URL("./host.mjs", import.meta.url));
/** How long a job waits for a guard that does not come up before it runs unguarded. */
const READY_TIMEOUT_MS = 10_000;

export interface ProcessGuard {
  /**
   * Resolves once a guard process is up (starting one if needed), so a job
   * spawned afterwards dies with the supervisor however soon that happens.
   * Never rejects: without a guard (not Linux, or it cannot start) jobs run
   * as before, their process group killed by the runner.
   */
  ready(): Promise<void>;
  /** A job's shell was spawned as a session leader with this pid. */
  track(id: string, pid: number): void;
  /** Kill every process of the job now. */
  kill(id: string): void;
  /** The job's shell exited: kill what it left behind and forget the job. */
  end(id: string): void;
  /** Stops the guard (it kills jobs still tracked on its way out). */
  close(): void;
}

export function createProcessGuard(): ProcessGuard {
  let host: ChildProcess | undefined;
  let starting: Promise<void> | undefined;
  /** Jobs tracked, so a guard started again (after it died) learns them again. */
  const tracked = new Map<string, number>();
  let closed = false;

  function start(): Promise<void> {
    if (closed || process.platform !== "linux") return Promise.resolve();
    if (host) return starting ?? Promise.resolve();
    let child: ChildProcess;
    try {
      child = fork(HOST_PATH, [], {
        // Its own session: a terminal's Ctrl-C goes to the supervisor, which
        // stops its jobs itself, not to the guard.
        detached: true,
        execArgv: [],
        stdio: ["ignore", "ignore", "ignore", "ipc"],
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      });
    } catch {
      return Promise.resolve();
    }
    host = child;
    // Never what keeps the supervisor's process alive.
    child.unref();
    child.channel?.unref();
    child.on("error", () => {});
    starting = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, READY_TIMEOUT_MS);
      timer.unref();
      child.on("message", (msg: { t?: string }) => {
        if (msg.t === "ready") done();
      });
      child.on("exit", () => {
        if (host === child) {
          host = undefined;
          starting = undefined;
        }
        done();
      });
    });
    for (const [id, pid] of tracked) send({ t: "track", id, pid });
    return starting;
  }

  function send(msg: { t: string; id: string; pid?: number }): void {
    if (closed) return;
    if (!host) void start();
    try {
      host?.send(msg, () => {});
    } catch {
      // The guard is gone; the next job starts another.
    }
  }

  return {
    ready: start,
    track(id, pid) {
      tracked.set(id, pid);
      send({ t: "track", id, pid });
    },
    kill(id) {
      if (tracked.has(id)) send({ t: "kill", id });
    },
    end(id) {
      if (tracked.delete(id)) send({ t: "end", id });
    },
    close() {
      closed = true;
      if (host?.connected) host.disconnect();
      host = undefined;
    },
  };
}

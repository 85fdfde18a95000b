// The supervisor's side of the process guard (host.mjs): forks it, tells it
// which jobs run, and asks it to kill a job's whole tree. The runner stops
// a job's process group at once and kills it once the guard has read the
// tree; the guard adds what a group kill misses (processes that left with
// setsid) and what nobody else would do:
// kill the jobs when the supervisor dies, even by SIGKILL, because its end
// of the IPC channel closes. Messages are fire-and-forget: once written,
// the guard reads them even if the supervisor dies right after.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const HOST_PATH = fileURLToPath(new URL("./host.mjs", import.meta.url));
/** How long a job waits for a guard that does not come up before it runs unguarded. */
const READY_TIMEOUT_MS = 10_000;
/** How long a track, kill or end waits for the guard's answer before the runner goes on without it. */
const KILL_ANSWER_MS = 1_000;

export interface ProcessGuard {
  /**
   * Resolves once a guard process is up (starting one if needed), so a job
   * spawned afterwards dies with the supervisor however soon that happens.
   * Never rejects: without a guard (not Linux, or it cannot start) jobs run
   * as before, their process group killed by the runner.
   */
  ready(): Promise<void>;
  /**
   * A job's shell was spawned as a session leader with this pid. Resolves
   * once the guard knows it (or could not answer in time, or there is no
   * guard): a message still unread when the supervisor dies is lost with it,
   * so the job's script must not start before.
   */
  track(id: string, pid: number): Promise<void>;
  /**
   * Kill every process of the job now. Resolves once the guard has done so
   * (or could not answer in time, or there is no guard): until then the
   * job's tree must keep its parent links, so a process that left the
   * job's session is still found through its parent.
   */
  kill(id: string): Promise<void>;
  /** The job's shell exited: kill what it left behind and forget the job (resolves as kill does). */
  end(id: string): Promise<void>;
  /** Stops the guard (it kills jobs still tracked on its way out). */
  close(): void;
}

export function createProcessGuard(): ProcessGuard {
  let host: ChildProcess | undefined;
  let starting: Promise<void> | undefined;
  /** Jobs tracked, so a guard started again (after it died) learns them again. */
  const tracked = new Map<string, number>();
  /** Kills asked for and not answered yet, by job id. */
  const killing = new Map<string, Array<() => void>>();
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
      child.on("message", (msg: { t?: string; id?: string }) => {
        if (msg.t === "ready") done();
        if ((msg.t === "killed" || msg.t === "tracked") && msg.id !== undefined) answered(msg.id);
      });
      child.on("exit", () => {
        if (host === child) {
          host = undefined;
          starting = undefined;
        }
        done();
        for (const id of [...killing.keys()]) answered(id);
      });
    });
    for (const [id, pid] of tracked) send({ t: "track", id, pid });
    return starting;
  }

  /** Sends a kill or end; resolves when the guard answers, after KILL_ANSWER_MS, or at once without a guard. */
  function ask(msg: { t: "track" | "kill" | "end"; id: string; pid?: number }): Promise<void> {
    if (!host || closed) {
      send(msg);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => answered(msg.id), KILL_ANSWER_MS);
      timer.unref();
      killing.set(msg.id, [...(killing.get(msg.id) ?? []), () => { clearTimeout(timer); resolve(); }]);
      send(msg);
    });
  }

  function answered(id: string): void {
    for (const resolve of killing.get(id) ?? []) resolve();
    killing.delete(id);
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
      return ask({ t: "track", id, pid });
    },
    kill(id) {
      return tracked.has(id) ? ask({ t: "kill", id }) : Promise.resolve();
    },
    end(id) {
      return tracked.delete(id) ? ask({ t: "end", id }) : Promise.resolve();
    },
    close() {
      closed = true;
      if (host?.connected) host.disconnect();
      host = undefined;
    },
  };
}

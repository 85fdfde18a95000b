// The process guard: one small process per shell runner that makes a
// supervisor's jobs die with it, and a job's whole tree die with the job.
// The supervisor forks it with an IPC channel and tells it about each job:
//   out: { t: "ready" }           listening (the runner waits for it before a first job)
//   in: { t: "track", id, pid }   a job's shell was spawned (a session leader)
//       { t: "kill", id }         kill every process of the job now (timeout, cancel)
//   out: { t: "tracked", id }     the job is known (the runner lets the job's script start only then)
//        { t: "killed", id }      a kill or end is done (the runner kills the group only then: see guard.ts)
//       { t: "end", id }          the shell exited: kill what it left, forget the job
// While jobs run it looks at /proc every WATCH_MS to learn their processes,
// including those that left the job's session with setsid (proc.mjs). When
// the channel closes, whether the supervisor exited, crashed or was killed
// with SIGKILL, it kills every job it knows and exits. It runs in a session
// of its own, so a terminal's Ctrl-C does not take it down first.
import { readFileSync } from "node:fs";
import { newJob, observe, parseStat, readJobTable, readProcessTable } from "./proc.mjs";

if (!process.send) throw new Error("host.mjs must be forked with an IPC channel");

/** How often /proc is read while jobs run (only each job's own processes: cheap). */
const WATCH_MS = 250;
/** Rounds of kill: a process may fork while its relatives are being killed. */
const KILL_ROUNDS = 4;

/** @type {Map<string, import("./proc.mjs").JobProcs>} */
const jobs = new Map();
/** Never killed, never taken for a job's session. */
const protectedPids = new Set([1, process.pid, process.ppid]);
const protectedSessions = new Set();
for (const pid of [process.pid, process.ppid]) {
  try {
    const info = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    if (info) protectedSessions.add(info.sid);
  } catch {
    // Not Linux, or gone: nothing to protect by session.
  }
}

/** @type {NodeJS.Timeout | undefined} */
let watcher;

function watch() {
  if (jobs.size === 0) {
    clearInterval(watcher);
    watcher = undefined;
    return;
  }
  for (const job of jobs.values()) observe(readJobTable(job), job, protectedSessions);
}

/** @param {import("./proc.mjs").JobProcs} job */
function killJob(job) {
  // A job that never left its own session needs only its own processes
  // looked at; one that did (setsid) gets the whole table, which also finds
  // members of its sessions whose parents are gone.
  const escaped = () => [...job.sessions].some((sid) => sid !== job.root);
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const table = escaped() ? readProcessTable() : readJobTable(job);
    const live = observe(table, job, protectedSessions).filter((pid) => !protectedPids.has(pid));
    if (live.length === 0) return;
    for (const pid of live) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }
}

process.on("message", (/** @type {{ t: string, id: string, pid?: number }} */ msg) => {
  if (msg.t === "track" && typeof msg.pid === "number") {
    const job = newJob(msg.pid);
    jobs.set(msg.id, job);
    observe(readJobTable(job), job, protectedSessions);
    watcher ??= setInterval(watch, WATCH_MS);
    process.send?.({ t: "tracked", id: msg.id });
  } else if (msg.t === "kill") {
    const job = jobs.get(msg.id);
    if (job) killJob(job);
    process.send?.({ t: "killed", id: msg.id });
  } else if (msg.t === "end") {
    const job = jobs.get(msg.id);
    jobs.delete(msg.id);
    if (job) killJob(job);
    process.send?.({ t: "killed", id: msg.id });
  }
});

process.on("disconnect", () => {
  for (const job of jobs.values()) killJob(job);
  process.exit(0);
});

process.send({ t: "ready" });

// The process table as Linux's /proc shows it, and the pure decision of
// which processes belong to a job. A job starts as one process leading a
// session of its own (the shell runner spawns it detached); everything it
// starts inherits that session, except what calls setsid(). Such an escapee
// is still found while its parent lives, by walking parent links down from
// the job's known processes, and once found its session is remembered, so
// its own children are found even after the escapee's parent is gone.
// JavaScript (with JSDoc types) so that the guard process (host.mjs) runs it
// with plain node, from src/ in tests as from dist/.
import { readdirSync, readFileSync } from "node:fs";

/**
 * @typedef {{ pid: number, ppid: number, pgid: number, sid: number, start: number }} ProcInfo
 *   start: the process's start time in clock ticks since boot, which tells a
 *   process from a later one that reuses its pid.
 * @typedef {{ root: number, members: Map<number, number>, sessions: Set<number> }} JobProcs
 *   members: pid -> start time of every process seen in the job;
 *   sessions: session ids the job's processes lead or belong to.
 */

/**
 * Parses one /proc/PID/stat line. The command name is in parentheses and
 * may itself hold spaces and parentheses, so fields are counted from the
 * last ")".
 * @param {string} text
 * @returns {ProcInfo | undefined}
 */
export function parseStat(text) {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const f = text.slice(close + 2).split(" ");
  // f[0] is field 3 (state); ppid is field 4, pgrp 5, session 6, starttime 22.
  const info = { pid, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), start: Number(f[19]) };
  if (!Number.isInteger(info.pid) || !Number.isInteger(info.ppid) || f[0] === "Z") return undefined;
  return info;
}

/**
 * Every live process, by pid (zombies left out: they are dead already).
 * @returns {Map<number, ProcInfo>}
 */
export function readProcessTable() {
  /** @type {Map<number, ProcInfo>} */
  const table = new Map();
  let names;
  try {
    names = readdirSync("/proc");
  } catch {
    return table;
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      const info = parseStat(readFileSync(`/proc/${name}/stat`, "utf8"));
      if (info) table.set(info.pid, info);
    } catch {
      // Gone between readdir and read.
    }
  }
  return table;
}

/**
 * The part of the process table a job can reach: its root, its known
 * processes and all their descendants, found through
 * /proc/PID/task/TID/children. Costs in proportion to the job, not to the
 * machine (a full table is a read per process on the host), so the guard
 * can look often. Processes of a known session whose parent chain to the
 * job is broken are not in it: a full table (readProcessTable) finds those.
 * @param {JobProcs} job
 * @returns {Map<number, ProcInfo>}
 */
export function readJobTable(job) {
  /** @type {Map<number, ProcInfo>} */
  const table = new Map();
  const stack = [job.root, ...job.members.keys()];
  while (stack.length > 0) {
    const pid = /** @type {number} */ (stack.pop());
    if (table.has(pid)) continue;
    let info;
    try {
      info = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
      continue;
    }
    if (!info) continue;
    table.set(pid, info);
    let tids;
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ")) {
          if (child.trim() !== "") stack.push(Number(child));
        }
      } catch {
        // Gone, or a kernel without the children file: the full table still works.
      }
    }
  }
  return table;
}

/**
 * Adds to `job` what the table shows of it: descendants of its live known
 * processes, and members of its known sessions; records their sessions.
 * Returns the pids of the job's live processes. Pure but for `job`.
 * Sessions in `protectedSessions` (the supervisor's, the guard's) are never
 * taken for the job's, whatever a process in them is.
 * @param {Map<number, ProcInfo>} table
 * @param {JobProcs} job
 * @param {ReadonlySet<number>} [protectedSessions]
 * @returns {number[]}
 */
export function observe(table, job, protectedSessions = new Set()) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const p of table.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  /** @type {Set<number>} */
  const live = new Set();
  /** @type {number[]} */
  const stack = [];
  const take = (/** @type {ProcInfo} */ p) => {
    if (live.has(p.pid)) return;
    live.add(p.pid);
    job.members.set(p.pid, p.start);
    if (!protectedSessions.has(p.sid)) job.sessions.add(p.sid);
    stack.push(p.pid);
  };
  const rootInfo = table.get(job.root);
  if (rootInfo && (!job.members.has(job.root) || job.members.get(job.root) === rootInfo.start)) take(rootInfo);
  for (const [pid, start] of job.members) {
    const p = table.get(pid);
    if (p && p.start === start) take(p);
  }
  for (const p of table.values()) if (job.sessions.has(p.sid)) take(p);
  while (stack.length > 0) {
    for (const child of children.get(/** @type {number} */ (stack.pop())) ?? []) take(/** @type {ProcInfo} */ (table.get(child)));
  }
  return [...live];
}

/**
 * A new job record for a process just spawned as a session leader.
 * @param {number} pid
 * @returns {JobProcs}
 */
export function newJob(pid) {
  return { root: pid, members: new Map(), sessions: new Set([pid]) };
}

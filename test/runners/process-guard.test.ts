// The pure part of the process guard: which processes belong to a job,
// from a process table. The guard's effect on real processes is tested in
// shell.test.ts and test/security/processes.test.ts.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { newJob, observe, parseStat, readJobTable, type ProcInfo } from "../../src/runners/process-guard/proc.mjs";
import { until } from "../helpers/wait.js";

function table(...rows: Array<[pid: number, ppid: number, sid: number, start?: number]>): Map<number, ProcInfo> {
  return new Map(rows.map(([pid, ppid, sid, start]) => [pid, { pid, ppid, pgid: sid, sid, start: start ?? pid * 10 }]));
}

describe("process guard: parseStat", () => {
  it("reads pid, ppid, group, session and start time, even with spaces and parentheses in the name", () => {
    const line = "4242 (a (weird) name) S 4000 4100 4200 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 1000 10 18446744073709551615";
    expect(parseStat(line)).toEqual({ pid: 4242, ppid: 4000, pgid: 4100, sid: 4200, start: 777 });
  });

  it("leaves out zombies and garbage", () => {
    expect(parseStat("12 (x) Z 1 12 12 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0")).toBeUndefined();
    expect(parseStat("nonsense")).toBeUndefined();
  });
});

describe("process guard: observe", () => {
  // pid 100 is the job's shell (session 100); 900 is the supervisor (session 900).
  const cases: Array<{ name: string; seen?: Map<number, ProcInfo>; now: Map<number, ProcInfo>; want: number[] }> = [
    { name: "the shell and its children", now: table([100, 900, 100], [101, 100, 100], [102, 101, 100], [500, 1, 500]), want: [100, 101, 102] },
    { name: "a setsid child while its parent lives, and its own children", now: table([100, 900, 100], [101, 100, 101], [102, 101, 101]), want: [100, 101, 102] },
    {
      name: "a setsid child seen earlier, after its parent died (reparented to 1), and a child it made since",
      seen: table([100, 900, 100], [101, 100, 101]),
      now: table([101, 1, 101], [103, 101, 101]),
      want: [101, 103],
    },
    {
      name: "not a process that reuses a known pid (another start time)",
      seen: table([100, 900, 100], [101, 100, 101]),
      now: table([101, 1, 555, 9999]),
      want: [],
    },
    { name: "never the supervisor's session, even for a child of the shell in it", now: table([100, 900, 100], [104, 100, 900], [900, 1, 900], [901, 900, 900]), want: [100, 104] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const job = newJob(100);
      const protectedSessions = new Set([900]);
      if (c.seen) observe(c.seen, job, protectedSessions);
      expect(observe(c.now, job, protectedSessions).sort((a, b) => a - b)).toEqual(c.want);
      expect(job.sessions.has(900)).toBe(false);
    });
  }
});

describe("process guard: readJobTable", () => {
  it("finds a real job's processes through the children files, and nothing else", async () => {
    const child = spawn("/bin/sh", ["-c", "sleep 100 & sleep 100 & wait"], { detached: true, stdio: "ignore" });
    try {
      const job = newJob(child.pid!);
      const table = await until(() => {
        const t = readJobTable(job);
        return t.size === 3 ? t : undefined;
      });
      expect([...table.values()].every((p) => p.sid === child.pid)).toBe(true);
      expect(observe(table, job)).toHaveLength(3);
      expect(table.has(process.pid)).toBe(false);
    } finally {
      process.kill(-child.pid!, "SIGKILL");
    }
  });
});

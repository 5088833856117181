/**
 * A child process and everything it started, found through `/proc` by
 * parent pid, so an aborted case can stop exactly the processes it started
 * (a test run's coordinator, managers, workers, PostgreSQL and tasks) and
 * nothing else. Each process is known by pid and start time, so a pid reused
 * by an unrelated process is never signalled.
 */

/** One process: its pid and its start time (clock ticks after boot). */
export interface ProcessId {
  pid: number;
  start: string;
}

/** State, parent pid and start time from `/proc/<pid>/stat`, or null once it is gone. */
function stat(pid: number): { state: string; ppid: number; start: string } | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // After the command: state (3), ppid (4), … starttime (22), numbered from 1 as in proc(5).
    return { state: fields[0], ppid: Number(fields[1]), start: fields[19] };
  } catch {
    return null;
  }
}

/** `pid` and its descendants, parents before children. */
export function processTree(pid: number): ProcessId[] {
  const byParent = new Map<number, ProcessId[]>();
  let root: ProcessId | null = null;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const child = Number(entry.name);
    const info = stat(child);
    if (info === null) continue;
    if (child === pid) root = { pid, start: info.start };
    byParent.set(info.ppid, [...(byParent.get(info.ppid) ?? []), { pid: child, start: info.start }]);
  }
  if (root === null) return [];
  const tree: ProcessId[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const next = queue.shift()!;
    if (tree.some((p) => p.pid === next.pid)) continue;
    tree.push(next);
    queue.push(...(byParent.get(next.pid) ?? []));
  }
  return tree;
}

/** Signals each process that is still the one recorded (same pid and start time). */
function signalAll(processes: ProcessId[], signal: Deno.Signal): void {
  for (const p of processes) {
    if (stat(p.pid)?.start !== p.start) continue;
    try {
      Deno.kill(p.pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

/** Whether any of `processes` is still the one recorded and not a zombie. */
function anyAlive(processes: ProcessId[]): boolean {
  return processes.some((p) => {
    const now = stat(p.pid);
    return now !== null && now.start === p.start && now.state !== "Z" && now.state !== "X";
  });
}

/**
 * Stops `pid` and its descendants: SIGTERM to each (all taken before any
 * dies, since orphans are re-parented), then SIGKILL to those (and anything
 * they started since) still there after `graceMs`. Resolves once the root
 * has exited (`exited`).
 */
export async function stopTree(pid: number, exited: Promise<unknown>, graceMs: number): Promise<void> {
  const tree = processTree(pid);
  signalAll(tree, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (anyAlive(tree) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const all = [...tree];
  for (const p of tree) {
    for (const d of processTree(p.pid)) if (!all.some((q) => q.pid === d.pid)) all.push(d);
  }
  signalAll(all, "SIGKILL");
  await exited.catch(() => {});
}

/**
 * Reading processes from Linux procfs: `/proc/<pid>/stat` (state, parent,
 * process group, session, start time) and the boot id. Everything returns
 * null (or nothing) where there is no procfs or the process is gone.
 */

/** The fields of `/proc/<pid>/stat` Mitosis uses. */
export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), X (dead), T, ... */
  state: string;
  ppid: number;
  /** Process group id. */
  pgrp: number;
  /** Session id. */
  session: number;
  /** Start time in clock ticks since boot (field 22): with the pid, names one process for the whole boot. */
  startTime: number;
}

/** Parses the text of `/proc/<pid>/stat`; null when it is malformed. */
export function parseProcStat(pid: number, text: string): ProcStat | null {
  // Format: pid (comm) state ppid pgrp session tty_nr ...; comm may contain spaces and parentheses.
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const numbers = [fields[1], fields[2], fields[3], fields[19]].map(Number);
  if (fields.length < 20 || numbers.some((n) => !Number.isInteger(n))) return null;
  const [ppid, pgrp, session, startTime] = numbers;
  return { pid, state: fields[0], ppid, pgrp, session, startTime };
}

/** `/proc/<pid>/stat` of `pid`, or null when it is gone (or there is no procfs). */
export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(pid, Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return null;
  }
}

/** Whether a `ProcStat` is of a process still running code (not a zombie). */
export const isLiving = (stat: ProcStat): boolean => stat.state !== "Z" && stat.state !== "X";

/** Every process in `/proc` (zombies included); empty without procfs. */
export function listProcesses(): ProcStat[] {
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return [];
  }
  const found: ProcStat[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = readProcStat(Number(entry.name)); // null: exited while we were scanning
    if (stat !== null) found.push(stat);
  }
  return found;
}

/** This boot's id (`/proc/sys/kernel/random/boot_id`), or null without procfs. */
export function bootId(): string | null {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    return null;
  }
}

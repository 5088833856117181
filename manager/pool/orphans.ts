/**
 * Finding and killing the processes a managed worker left behind.
 *
 * A task runs as the leader of its own process group (its own session, see
 * `shared/exec/process.ts`), so killing the worker's group does not reach
 * it, and when the worker dies abruptly (SIGKILL, a crash) the task's group
 * lives on, reparented to init. Every worker is therefore started with a
 * unique `MITOSIS_WORKER_INSTANCE` token in its environment, which its tasks
 * inherit; after a worker exits, the manager scans `/proc/<pid>/environ` for
 * processes carrying its token and terminates their process groups
 * (SIGTERM, a short grace, SIGKILL). A task that clears its environment and
 * leaves its group escapes this, as it would escape any group kill. (Since
 * tasks are spawned with a parent-death signal and a group guard, see
 * `shared/exec/process.ts`, a dead worker's task groups are usually gone
 * already when this runs; this catches what escaped them.)
 */
import type { Logger } from "../../shared/log/logger.ts";
import { terminateGroup } from "../../shared/exec/process.ts";
import { isLiving, readProcStat } from "../../shared/exec/proc_stat.ts";

/** Environment variable carrying a worker process's unique token. */
export const WORKER_INSTANCE_ENV = "MITOSIS_WORKER_INSTANCE";

/** Pid and process group of a process. */
export interface ProcessRef {
  pid: number;
  pgid: number;
}

/** The process group of `pid`, null when it is gone or a zombie. */
function livingGroupOf(pid: number): number | null {
  const stat = readProcStat(pid);
  return stat === null || !isLiving(stat) ? null : stat.pgrp;
}

/** Living processes whose environment holds `MITOSIS_WORKER_INSTANCE=<token>` (none without procfs). */
export function processesWithToken(token: string): ProcessRef[] {
  const needle = new TextEncoder().encode(`${WORKER_INSTANCE_ENV}=${token}\0`);
  const found: ProcessRef[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return found; // no procfs: nothing can be found this way
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid === Deno.pid) continue;
    let environ: Uint8Array;
    try {
      environ = Deno.readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    if (!contains(environ, needle)) continue;
    const pgid = livingGroupOf(pid);
    if (pgid !== null) found.push({ pid, pgid });
  }
  return found;
}

/** Whether `haystack` holds `needle` at the start or right after a NUL (a whole `NAME=value` entry). */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (i > 0 && haystack[i - 1] !== 0) continue;
    for (let k = 0; k < needle.length; k++) {
      if (haystack[i + k] !== needle[k]) continue outer;
    }
    return true;
  }
  return false;
}

/**
 * Terminates the process groups of every process left by the worker with
 * `token` (SIGTERM, `graceMs`, SIGKILL). Resolves with the pids found.
 */
export async function killLeftovers(token: string, graceMs: number, log: Logger): Promise<number[]> {
  const found = processesWithToken(token);
  if (found.length === 0) return [];
  const own = livingGroupOf(Deno.pid);
  // Never signal the manager's own group (or init's), whatever a process inherited.
  const groups = [...new Set(found.map((p) => p.pgid))].filter((pgid) => pgid > 1 && pgid !== own);
  log.warn("terminating processes left by a managed worker", {
    pids: found.map((p) => p.pid),
    pgids: groups,
    grace_ms: graceMs,
  });
  await Promise.all(groups.map((pgid) => terminateGroup(pgid, graceMs, log)));
  return found.map((p) => p.pid);
}

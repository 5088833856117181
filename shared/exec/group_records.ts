/**
 * Records of running task process groups, so that a worker started after
 * one that died abruptly kills the groups the dead one left (when the guard
 * of `group_guard.ts` could not: it was killed too, or never spawned).
 *
 * One JSON file per running task, `<dir>/<owner pid>-<pgid>.json` (dir mode
 * 0700, files 0600), written when the task's leader is spawned and removed
 * once no process of its group is left:
 *
 * ```json
 * {"boot_id": "…", "owner": {"pid": 812, "start_time": 51234}, "pgid": 9120, "start_time": 77310, "task": "…"}
 * ```
 *
 * `owner` is the worker process (pid and start time, in clock ticks since
 * boot, from `/proc/<pid>/stat`), `start_time` that of the group's leader.
 * Several workers may share `dir`: at start, `killLeftoverGroups` acts only
 * on records whose owner is no longer alive (no process with that pid and
 * start time). Such a group is killed (SIGKILL) when it still has living
 * members and every one of them started at or after the recorded leader:
 * every process of a task's group was forked after its leader, while a group
 * whose id was reused after ours emptied (the kernel keeps a group id taken
 * while any member lives) has a newer leader — a member that started before
 * ours proves the id was reused. Only when all of ours died, the pid wrapped
 * around and the new group's processes all started later can an unrelated
 * group be taken for ours; records are removed at boot change. The record
 * is removed in every case.
 *
 * The directory must not be writable by task code (a forged record would
 * make the next worker kill whatever group it names): it is the daemon's
 * own, and tasks run as the unprivileged task user when the daemon is root.
 */
import type { Logger } from "../log/logger.ts";
import { bootId, isLiving, listProcesses, type ProcStat, readProcStat } from "./proc_stat.ts";
import { killGroupNow } from "./process.ts";

/** The content of one record file. */
export interface TaskGroupRecord {
  boot_id: string | null;
  owner: { pid: number; start_time: number };
  pgid: number;
  /** Start time of the group's leader (or of its oldest living member when the leader was gone already). */
  start_time: number;
  /** The task's uuid (for logs), when known. */
  task?: string;
}

/** A group killed by `killLeftoverGroups`. */
export interface LeftoverGroup {
  pgid: number;
  pids: number[];
  task?: string;
}

/** The records of the task groups this process runs, kept in `dir`. */
export class TaskGroupRecords {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #owner: { pid: number; start_time: number } | null;
  readonly #boot: string | null;

  /** Records into `dir` (created 0700 on the first record). */
  constructor(dir: string, log: Logger) {
    this.#dir = dir.replace(/\/+$/, "");
    this.#log = log;
    const self = readProcStat(Deno.pid);
    this.#owner = self === null ? null : { pid: Deno.pid, start_time: self.startTime };
    this.#boot = bootId();
  }

  /** The directory of the records. */
  get dir(): string {
    return this.#dir;
  }

  #path(pgid: number): string {
    return `${this.#dir}/${Deno.pid}-${pgid}.json`;
  }

  /**
   * Records group `pgid` (its leader just spawned). Nothing is recorded
   * without procfs, or when no process of the group is alive any more.
   * Failures are logged, not thrown: the task runs unrecorded.
   */
  async add(pgid: number, task?: string): Promise<void> {
    if (this.#owner === null) return;
    const leader = readProcStat(pgid);
    let start = leader?.startTime;
    if (start === undefined) {
      // The leader exited already (and was reaped); its group may live on.
      const members = listProcesses().filter((p) => p.pgrp === pgid && isLiving(p));
      if (members.length === 0) return;
      start = Math.min(...members.map((p) => p.startTime));
    }
    const record: TaskGroupRecord = {
      boot_id: this.#boot,
      owner: this.#owner,
      pgid,
      start_time: start,
      ...(task === undefined ? {} : { task }),
    };
    try {
      await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
      await Deno.writeTextFile(this.#path(pgid), JSON.stringify(record), { mode: 0o600 });
    } catch (error) {
      this.#log.warn("cannot record a task process group", { path: this.#path(pgid), pgid, error });
    }
  }

  /** Removes the record of group `pgid` (its processes are all gone). */
  async remove(pgid: number): Promise<void> {
    if (this.#owner === null) return;
    try {
      await Deno.remove(this.#path(pgid));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.#log.warn("cannot remove a task process group record", { path: this.#path(pgid), error });
      }
    }
  }
}

/** Parses a record file's text; null when it is not a record. */
function parseRecord(text: string): TaskGroupRecord | null {
  try {
    const value = JSON.parse(text) as Partial<TaskGroupRecord>;
    const int = (n: unknown) => typeof n === "number" && Number.isInteger(n);
    if (
      !int(value.pgid) || (value.pgid ?? 0) <= 1 || !int(value.start_time) ||
      !int(value.owner?.pid) || !int(value.owner?.start_time)
    ) return null;
    return value as TaskGroupRecord;
  } catch {
    return null;
  }
}

/**
 * Kills the task groups recorded in `dir` by workers that are no longer
 * alive (see the module comment) and removes their records; records of
 * living workers are left alone. Resolves with the groups killed.
 */
export async function killLeftoverGroups(dir: string, log: Logger): Promise<LeftoverGroup[]> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    log.warn("cannot read the task process group records", { path: dir, error });
    return [];
  }
  const files = entries.filter((e) => e.isFile && e.name.endsWith(".json")).map((e) => `${dir}/${e.name}`);
  if (files.length === 0) return [];
  const boot = bootId();
  const processes = listProcesses();
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const ownGroup = readProcStat(Deno.pid)?.pgrp;
  const killed: LeftoverGroup[] = [];
  for (const path of files) {
    let record: TaskGroupRecord | null = null;
    try {
      record = parseRecord(await Deno.readTextFile(path));
    } catch {
      // unreadable: dropped below
    }
    if (record !== null) {
      const owner = byPid.get(record.owner.pid);
      if (owner !== undefined && owner.startTime === record.owner.start_time && isLiving(owner)) continue;
    }
    if (record !== null && record.boot_id === boot && record.pgid !== ownGroup) {
      const members = processes.filter((p: ProcStat) => p.pgrp === record.pgid && isLiving(p));
      if (members.length > 0 && members.every((p) => p.startTime >= record.start_time)) {
        const pids = members.map((p) => p.pid);
        log.warn("killing the process group of a task left by a worker that died", {
          pgid: record.pgid,
          pids,
          task_uuid: record.task ?? null,
          dead_worker_pid: record.owner.pid,
        });
        await killGroupNow(record.pgid, log);
        killed.push({ pgid: record.pgid, pids, ...(record.task === undefined ? {} : { task: record.task }) });
      } else if (members.length > 0) {
        log.info("a recorded task process group id is now another group's; left alone", { pgid: record.pgid });
      }
    }
    await Deno.remove(path).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) {
        log.warn("cannot remove a task process group record", { path, error });
      }
    });
  }
  return killed;
}

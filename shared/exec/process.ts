/**
 * Runs a task's command line as its own process group, with a timeout.
 *
 * Process group: the task runs as the leader of a new session and process
 * group (pgid = pid) that every process it forks joins, and the whole group
 * is signalled with kill(-pgid, sig). Where util-linux `setsid(1)` exists the
 * command is spawned through it: `setsid` calls setsid(2) and execs the
 * command in the same process (it forks only when it already leads a group,
 * which a child of ours never does). Otherwise `Deno.Command`'s
 * `detached: true` makes the child call setsid(2) itself, but that needs a
 * pre-exec hook, which makes Rust fork the whole worker instead of using
 * posix_spawn: 4 ms per task here against 1.6 ms through `setsid`. Before
 * `setsid` has run, the new group does not exist yet; a signal then goes to
 * the process itself.
 *
 * Termination (timeout, worker shutdown): SIGTERM to the group, wait until no
 * living member is left or the grace period (10 s by default) is over, then
 * SIGKILL to the group. After a normal exit, members the task left behind are
 * terminated the same way, so no process of a task survives it. (A process
 * that calls setsid(2) itself leaves the group and escapes this.)
 *
 * The group never outlives the process that spawned it (a worker, a manager
 * running a hook), even when that one dies at once (SIGKILL, crash):
 * - the leader is spawned through `setpriv --pdeathsig KILL` (in the same
 *   process as `setsid`: `setsid -- setpriv … -- <command>`, each exec'ing
 *   the next), so the kernel kills it when its parent exits. The parent is
 *   the *thread* that spawned it: Deno spawns on the JavaScript thread, the
 *   process's main thread, which exits only with the process (spawning from
 *   a Web Worker would kill the task when that worker ends);
 * - that reaches the leader only: its children stay in the group,
 *   reparented to init. So a guard (`group_guard.ts`) is spawned next to the
 *   leader, in its own session; it kills the whole group with SIGKILL when
 *   this process dies (its stdin pipe from us closes), and is told `done`
 *   when the task ended normally;
 * - when the guard cannot act (it was killed too, or this process died
 *   between the two spawns), the group is in the records of
 *   `group_records.ts` (`ProcessRunOptions.records`), which the next worker
 *   started on the same records dir reads at start to kill it.
 *
 * Living members are found in `/proc/<pid>/stat` (zombies do not count: where
 * PID 1 does not reap orphans they linger forever, yet they are dead).
 */
import type { Logger } from "../log/logger.ts";
import { sharedGroupGuard, startGroupGuard } from "./group_guard.ts";
import type { TaskGroupRecords } from "./group_records.ts";
import { isLiving, listProcesses } from "./proc_stat.ts";
import { parentDeathPrefix, type TaskUser } from "./task_user.ts";
import { describeWaitStatus, exitCodeStatus, waitStatusOf } from "./exit_status.ts";

/** What to run. */
export interface ProcessSpec {
  /** Program and arguments, run directly (no shell); the program is looked up in PATH. */
  args: string[];
  /** The complete environment of the process. */
  env: Record<string, string>;
  /** Working directory. */
  cwd: string;
  /** Files receiving stdout/stderr; when absent (and no `onOutput`) the stream is discarded. */
  stdoutPath?: string;
  stderrPath?: string;
  /** Receives every chunk of stdout/stderr as it arrives, besides the files (e.g. hooks tee to a log). */
  onOutput?: (stream: "stdout" | "stderr", chunk: Uint8Array) => void;
  /** Run as this user (through `setpriv`) instead of this process's; see `task_user.ts`. */
  user?: TaskUser;
  /** Runs once the output files are open, just before the spawn (e.g. hands the work dir to `user`). */
  beforeSpawn?: () => Promise<void>;
}

/** How to supervise it. */
export interface ProcessRunOptions {
  /** Wall-clock limit; on expiry the group is terminated and the outcome is `timeout`. */
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL when terminating the group (default 10 s). */
  killGraceMs?: number;
  /** Aborting terminates the group; the outcome is then `interrupted`. */
  signal?: AbortSignal;
  /** Logger carrying the task's context (task uuid). */
  log: Logger;
  /** Records the group while it runs, for the next worker should this one die (see `group_records.ts`). */
  records?: TaskGroupRecords;
  /** The task's uuid, written into its group record. */
  taskUuid?: string;
  /**
   * Guard the group with the one guard this process keeps for all its task
   * groups (`sharedGroupGuard`) instead of a guard of its own: for a process
   * running task after task. Default false.
   */
  sharedGuard?: boolean;
}

/** How the process ended; `waitStatus` is the raw wait status (see `exit_status.ts`). */
export interface ProcessOutcome {
  /** `exited` on its own, killed after `timeout`, or `interrupted` through `signal`. */
  kind: "exited" | "timeout" | "interrupted";
  waitStatus: number;
  /** Process id (= process group id); null when it could not be spawned. */
  pid: number | null;
}

/** Default grace period between SIGTERM and SIGKILL. */
export const DEFAULT_KILL_GRACE_MS = 10_000;

/** Process groups of tasks currently running in this process. */
const liveGroups = new Set<number>();

/** Sends SIGKILL to every task process group still running; for a worker that must exit at once. */
export function killAllTaskGroupsSync(): void {
  for (const pgid of liveGroups) signalGroup(pgid, "SIGKILL");
}

/**
 * Sends `signal` to process group `pgid`, or to process `pgid` when its
 * group does not exist yet (spawned through `setsid`, which has not run);
 * false when neither exists.
 */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  for (const target of [-pgid, pgid]) {
    try {
      Deno.kill(target, signal);
      return true;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return false;
}

/** util-linux `setsid(1)`, when installed. */
const SETSID = ["/usr/bin/setsid", "/bin/setsid"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

/**
 * Where `program` is found: itself when it names a path, else the first
 * executable `<dir>/<program>` along `path`; null when there is none.
 */
function findProgram(program: string, path: string | undefined, cwd: string): string | null {
  const resolve = (candidate: string) => candidate.startsWith("/") ? candidate : `${cwd}/${candidate}`;
  const executable = (candidate: string) => {
    try {
      const stat = Deno.statSync(resolve(candidate));
      return stat.isFile && ((stat.mode ?? 0o111) & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  if (program.includes("/")) {
    // A path that exists but cannot be executed is left to `setsid`, which reports it (exit 126).
    try {
      Deno.statSync(resolve(program));
      return program;
    } catch {
      return null;
    }
  }
  for (const dir of (path ?? "/usr/bin:/bin").split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${program}`; // relative entries are taken from the task's cwd
    if (executable(candidate)) return candidate;
  }
  return null;
}

/**
 * Programs found by `programExists`, by PATH and name: each stays there
 * while that file is still an executable file. Only absolute PATH entries
 * are remembered (relative ones depend on the task's cwd).
 */
const foundPrograms = new Map<string, string>();
/** Bound of `foundPrograms` (cleared when reached). */
const MAX_FOUND_PROGRAMS = 256;

/** Whether `path` is an executable regular file. */
function isExecutableFile(path: string): boolean {
  try {
    const stat = Deno.statSync(path);
    return stat.isFile && ((stat.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * Whether `findProgram` would find `program`: the answer is all the caller
 * uses, so a hit found earlier that is still an executable file answers
 * with one `stat` instead of a walk along PATH (one failed `stat`, and a
 * thrown error, per directory before the right one).
 */
function programExists(program: string, path: string | undefined, cwd: string): boolean {
  const key = `${path ?? ""}\0${program}`;
  const known = program.includes("/") ? undefined : foundPrograms.get(key);
  if (known !== undefined && isExecutableFile(known)) return true;
  const found = findProgram(program, path, cwd);
  if (found === null) return false;
  if (!program.includes("/") && found.startsWith("/")) {
    if (foundPrograms.size >= MAX_FOUND_PROGRAMS) foundPrograms.clear();
    foundPrograms.set(key, found);
  }
  return true;
}

/** The command running `spec` as the leader of a new process group. */
function groupLeaderCommand(spec: ProcessSpec, stdio: Pick<Deno.CommandOptions, "stdout" | "stderr">): Deno.Command {
  const common = { env: spec.env, clearEnv: true, cwd: spec.cwd, stdin: "null" as const, ...stdio };
  const args = [...parentDeathPrefix(spec.user), ...spec.args];
  if (SETSID === undefined) {
    return new Deno.Command(args[0], { ...common, args: args.slice(1), detached: true });
  }
  // `setsid` would report a missing program itself (exit 127); finding it first keeps our own message and log.
  if (!programExists(spec.args[0], spec.env.PATH, spec.cwd)) {
    throw new Deno.errors.NotFound(`No such file or directory (os error 2): ${spec.args[0]}`);
  }
  return new Deno.Command(SETSID, { ...common, args: ["--", ...args] });
}

/** Pids of the members of group `pgid` that are alive (not zombies). */
export function livingGroupMembers(pgid: number): number[] {
  // A group with no process at all (the usual case once a task exited) refuses the signal: no /proc scan needed.
  if (!signalProbe(pgid)) return [];
  const processes = listProcesses();
  // No procfs (not Linux): fall back to the kernel's view, which counts zombies too.
  if (processes.length === 0) return signalProbe(pgid) ? [pgid] : [];
  return processes.filter((p) => p.pgrp === pgid && isLiving(p)).map((p) => p.pid);
}

/** Whether group `pgid` has any process (zombies included); SIGCONT leaves running processes as they are. */
function signalProbe(pgid: number): boolean {
  try {
    Deno.kill(-pgid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once no living member of `pgid` is left, or after `ms`; true when none is left. */
async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (livingGroupMembers(pgid).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(100, Math.max(1, deadline - Date.now())));
  }
}

/**
 * Terminates process group `pgid`: SIGTERM, up to `graceMs` for every member
 * to exit, then SIGKILL to whatever is left. Resolves when the group is gone
 * (or, after SIGKILL, 5 s at most).
 */
export async function terminateGroup(pgid: number, graceMs: number, log: Logger): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  if (await waitGroupGone(pgid, graceMs)) return;
  const left = livingGroupMembers(pgid);
  log.warn("task processes survived SIGTERM; sending SIGKILL", { pgid, pids: left, grace_ms: graceMs });
  signalGroup(pgid, "SIGKILL");
  if (!await waitGroupGone(pgid, 5_000)) {
    log.error("task processes still alive after SIGKILL", { pgid, pids: livingGroupMembers(pgid) });
  }
}

/** Sends SIGKILL to group `pgid` and waits (5 s at most) until no living member is left. */
export async function killGroupNow(pgid: number, log: Logger): Promise<void> {
  if (!signalGroup(pgid, "SIGKILL")) return;
  if (!await waitGroupGone(pgid, 5_000)) {
    log.error("task processes still alive after SIGKILL", { pgid, pids: livingGroupMembers(pgid) });
  }
}

/**
 * Copies a child's output stream into `file` (opened at `path` before the
 * child was spawned, so a task cannot swap the path for a link) and to
 * `onChunk` (when set); `stop` ends the copy early (stream held open by an
 * escapee).
 */
function copyOutput(
  stream: ReadableStream<Uint8Array>,
  path: string | undefined,
  file: Deno.FsFile | undefined,
  onChunk: ((chunk: Uint8Array) => void) | undefined,
  log: Logger,
) {
  const reader = stream.getReader();
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        onChunk?.(value);
        let offset = 0;
        while (file !== undefined && offset < value.length) offset += await file.write(value.subarray(offset));
      }
    } finally {
      file?.close();
    }
  })().catch((error) => log.error("cannot write task output", { path, error }));
  return {
    done,
    stop: () => reader.cancel().catch((error) => log.warn("cannot close task output", { path, error })),
  };
}

/** Waits for `promise` at most `ms`; true when it settled in time. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Spawn failures get the statuses a shell or `/usr/bin/env` would give: 127 not found, 126 not executable. */
function spawnFailureStatus(error: unknown): number {
  return exitCodeStatus(error instanceof Deno.errors.NotFound ? 127 : 126);
}

/**
 * Runs `spec` to completion (or timeout, or interruption) and returns how it
 * ended. No process of the group is alive when this resolves. A program that
 * cannot be spawned yields exit status 127 (not found) or 126 (otherwise),
 * with the reason written to the stderr file when there is one.
 */
export async function runTaskProcess(spec: ProcessSpec, options: ProcessRunOptions): Promise<ProcessOutcome> {
  const { log } = options;
  const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  if (options.signal?.aborted) return { kind: "interrupted", waitStatus: 0, pid: null };

  const open = (path: string | undefined) =>
    path === undefined ? undefined : Deno.open(path, { write: true, create: true, truncate: true });
  const [stdoutFile, stderrFile] = await Promise.all([open(spec.stdoutPath), open(spec.stderrPath)]);
  let child: Deno.ChildProcess;
  try {
    await spec.beforeSpawn?.();
    child = groupLeaderCommand(spec, {
      stdout: spec.stdoutPath === undefined && spec.onOutput === undefined ? "null" : "piped",
      stderr: spec.stderrPath === undefined && spec.onOutput === undefined ? "null" : "piped",
    }).spawn();
  } catch (error) {
    stdoutFile?.close();
    stderrFile?.close();
    const waitStatus = spawnFailureStatus(error);
    log.error("task process could not be spawned", { args: spec.args, error, exit_status: waitStatus });
    const reason = `mitosis-worker: cannot run ${spec.args[0]}: ${(error as Error).message}\n`;
    if (spec.stdoutPath !== undefined) await Deno.writeTextFile(spec.stdoutPath, "");
    if (spec.stderrPath !== undefined) await Deno.writeTextFile(spec.stderrPath, reason);
    spec.onOutput?.("stderr", new TextEncoder().encode(reason));
    return { kind: "exited", waitStatus, pid: null };
  }

  const pid = child.pid;
  liveGroups.add(pid);
  const started = performance.now();
  const guard = options.sharedGuard ? await sharedGroupGuard().guard(pid, log) : startGroupGuard(pid, log);
  log.info("task process spawned", { pid, args: spec.args, guard_pid: guard?.pid ?? null });
  await options.records?.add(pid, options.taskUuid);

  const onOutput = spec.onOutput;
  const tee = (stream: "stdout" | "stderr") => onOutput && ((chunk: Uint8Array) => onOutput(stream, chunk));
  const copies = [
    spec.stdoutPath === undefined && onOutput === undefined
      ? undefined
      : copyOutput(child.stdout, spec.stdoutPath, stdoutFile, tee("stdout"), log),
    spec.stderrPath === undefined && onOutput === undefined
      ? undefined
      : copyOutput(child.stderr, spec.stderrPath, stderrFile, tee("stderr"), log),
  ].filter((c) => c !== undefined);

  let kind: ProcessOutcome["kind"] = "exited";
  let terminating: Promise<void> | undefined;
  const terminate = (why: "timeout" | "interrupted") => {
    if (terminating !== undefined) return;
    kind = why;
    log.info(why === "timeout" ? "task timed out; terminating its process group" : "terminating task process group", {
      pid,
      grace_ms: graceMs,
    });
    terminating = terminateGroup(pid, graceMs, log);
  };
  const timer = setTimeout(() => terminate("timeout"), options.timeoutMs);
  const onAbort = () => terminate("interrupted");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // Aborted while the group was being guarded and recorded (e.g. the task signalled its own worker at once): the
  // listener above will never fire, so terminate now rather than let the task run to its end.
  if (options.signal?.aborted) terminate("interrupted");

  let status: Deno.CommandStatus;
  try {
    status = await child.status;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
  const waitStatus = waitStatusOf(status);
  if (terminating !== undefined) await terminating;
  else if (livingGroupMembers(pid).length > 0) {
    log.warn("task left processes behind; terminating them", { pid, pids: livingGroupMembers(pid) });
    await terminateGroup(pid, graceMs, log);
  }
  liveGroups.delete(pid);
  await guard?.release();
  await options.records?.remove(pid);

  // The group is gone, so the pipes are closed, unless a process escaped the group.
  const copying = Promise.all(copies.map((c) => c.done));
  if (!await settlesWithin(copying, 2_000)) {
    log.warn("task output still open after the task ended; closing it", { pid });
    await Promise.all(copies.map((c) => c.stop()));
    await copying;
  }
  log.info("task process exited", {
    pid,
    outcome: kind,
    exit_status: waitStatus,
    status: describeWaitStatus(waitStatus),
    duration_ms: Math.round(performance.now() - started),
  });
  return { kind, waitStatus, pid };
}

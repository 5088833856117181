/**
 * The per-task working directory `<cache>/<task uuid>/`:
 *
 * ```
 * result/        MITO_RESULT_DIR    → artifact `result`   (result.tar.gz)
 * exec-log/      MITO_EXEC_DIR      → artifact `exec-log` (exec-log.tar.gz)
 * std-log/       stdout.log, stderr.log when terminal_output → artifact `std-log`
 * resource/      MITO_RESOURCE_DIR  (downloaded resources)
 * new_task.json  MITO_NEW_TASK      (optional downstream task)
 * ```
 *
 * The task process runs with this directory as its cwd. Every directory is
 * created with mode 0700: other local users cannot read a task's files. When
 * tasks run as a task user (`task_user.ts`) the tree is handed to that user
 * just before the task starts. Artifact tarballs are packed beside it, in
 * `<cache>/<task uuid>.out/` (made only when there is something to pack),
 * which stays the worker's own (a task cannot plant a link where the worker
 * writes). Both are deleted once the task is committed (or abandoned).
 */

/** Paths of one task's working directory. */
export interface TaskWorkDir {
  /** `<cache>/<task uuid>`: the task's cwd. */
  readonly root: string;
  readonly result: string;
  readonly execLog: string;
  readonly stdLog: string;
  readonly resource: string;
  /** `<root>/new_task.json`. */
  readonly newTask: string;
  /** `<root>/std-log/stdout.log`. */
  readonly stdout: string;
  /** `<root>/std-log/stderr.log`. */
  readonly stderr: string;
  /** `<cache>/<task uuid>.out`: the worker's own directory holding the packed artifacts. */
  readonly outbox: string;
}

/** The directory names inside the work dir, also the top-level names inside each artifact. */
export const WORK_SUBDIRS = { result: "result", execLog: "exec-log", stdLog: "std-log", resource: "resource" } as const;

/** The paths of the work dir of `taskUuid` under `cacheDir`. */
export function taskWorkDir(cacheDir: string, taskUuid: string): TaskWorkDir {
  const root = `${cacheDir.replace(/\/+$/, "")}/${taskUuid}`;
  return {
    root,
    result: `${root}/${WORK_SUBDIRS.result}`,
    execLog: `${root}/${WORK_SUBDIRS.execLog}`,
    stdLog: `${root}/${WORK_SUBDIRS.stdLog}`,
    resource: `${root}/${WORK_SUBDIRS.resource}`,
    newTask: `${root}/new_task.json`,
    stdout: `${root}/${WORK_SUBDIRS.stdLog}/stdout.log`,
    stderr: `${root}/${WORK_SUBDIRS.stdLog}/stderr.log`,
    outbox: `${root}.out`,
  };
}

/** Mode of every work dir directory. */
const DIR_MODE = 0o700;

/**
 * Whether `mkdir(…, 0o700)` may yield another mode: the umask (read once
 * from `/proc/self/status`; unknown counts as yes) clears owner bits.
 */
let umaskClearsOwnerBits: boolean | undefined;
function needsChmod(): boolean {
  if (umaskClearsOwnerBits === undefined) {
    let umask: number | null = null;
    try {
      const match = /^Umask:\s*([0-7]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"));
      if (match) umask = parseInt(match[1], 8);
    } catch {
      // No procfs: chmod every directory.
    }
    umaskClearsOwnerBits = umask === null || (umask & DIR_MODE) !== 0;
  }
  return umaskClearsOwnerBits;
}

/** Creates directory `path` with mode 0700 (not its parents); throws `AlreadyExists` when it exists. */
function makeDir(path: string): void {
  Deno.mkdirSync(path, { mode: DIR_MODE });
  if (needsChmod()) Deno.chmodSync(path, DIR_MODE); // whatever the umask
}

/** Creates `path` afresh: a stale one (from an earlier attempt, a worker killed before its clean-up) is removed first. */
async function makeFreshDir(path: string, parents: boolean): Promise<void> {
  try {
    makeDir(path);
    return;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      await removeTree(path);
    } else if (!(parents && error instanceof Deno.errors.NotFound)) {
      throw error;
    }
  }
  // The parents (the cache dir) get the same mode, as `mkdir -p -m 0700` would give them.
  Deno.mkdirSync(path, { recursive: parents, mode: DIR_MODE });
  Deno.chmodSync(path, DIR_MODE);
}

/**
 * Creates a fresh work dir (a stale one from an earlier attempt is removed
 * first). The usual case costs one `mkdir` per directory, synchronously (a
 * few microseconds each, cheaper than a round trip through the runtime's
 * blocking pool), and no `chmod` unless the umask would clear owner bits.
 */
export async function prepareWorkDir(dir: TaskWorkDir): Promise<void> {
  await makeFreshDir(dir.root, true);
  for (const path of [dir.result, dir.execLog, dir.stdLog, dir.resource]) makeDir(path);
}

/** Work dirs of this process whose outbox exists (`removeWorkDir` leaves the others' alone). */
const withOutbox = new WeakSet<TaskWorkDir>();

/**
 * Creates the outbox of `dir` afresh, once per task: only a task that has
 * an artifact to pack needs one (a stale one is replaced).
 */
export async function prepareOutbox(dir: TaskWorkDir): Promise<void> {
  if (withOutbox.has(dir)) return;
  await makeFreshDir(dir.outbox, false);
  withOutbox.add(dir);
}

/** Deletes `path` and everything below it; a missing one is not an error. */
async function removeTree(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Removes the work dir as `prepareWorkDir` left it — empty directories only
 * — with one `rmdir` each; false as soon as one is not empty (or not there
 * any more, or anything else), leaving the rest to the recursive removal.
 * `Deno.removeSync` without `recursive` never follows a link: one the task
 * put in place of a directory is unlinked, not its target.
 */
function removeEmptyWorkDir(dir: TaskWorkDir): boolean {
  try {
    for (const path of [dir.result, dir.execLog, dir.stdLog, dir.resource, dir.root]) Deno.removeSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Deletes the work dir and its outbox (when this process made one: see
 * `prepareOutbox`); a missing one is not an error.
 */
export async function removeWorkDir(dir: TaskWorkDir): Promise<void> {
  if (!removeEmptyWorkDir(dir)) await removeTree(dir.root);
  if (withOutbox.has(dir)) {
    await removeTree(dir.outbox);
    withOutbox.delete(dir);
  }
}

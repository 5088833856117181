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
 * `<cache>/<task uuid>.out/`, which stays the worker's own (a task cannot
 * plant a link where the worker writes). Both are deleted once the task is
 * committed (or abandoned).
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

/** Creates a fresh work dir (a stale one from an earlier attempt is removed first). */
export async function prepareWorkDir(dir: TaskWorkDir): Promise<void> {
  await removeWorkDir(dir);
  for (const path of [dir.root, dir.result, dir.execLog, dir.stdLog, dir.resource, dir.outbox]) {
    await Deno.mkdir(path, { recursive: true, mode: 0o700 });
    await Deno.chmod(path, 0o700); // whatever the umask
  }
}

/** Deletes the work dir and its outbox; a missing one is not an error. */
export async function removeWorkDir(dir: TaskWorkDir): Promise<void> {
  for (const path of [dir.root, dir.outbox]) {
    try {
      await Deno.remove(path, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

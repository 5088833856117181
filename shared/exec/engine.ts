/**
 * Runs one task end to end, as the existing Mitosis worker does (SPEC §4
 * "Task execution"), reporting through a `TaskReporter`:
 *
 * 1. fresh work dir `<cache>/<task uuid>/` (see `workdir.ts`; mode 0700,
 *    handed to the task user before step 4 when there is one, `task_user.ts`);
 * 2. resources into `resource/` — failure: `Cancel`, then `Commit {exit_status: 0,
 *    msg: ResourceNotFound | ResourceForbidden | FetchResourceTimeout}`;
 * 3. `watch` — failure: `Cancel`, then `Commit {exit_status: 0, msg: WatchTimeout}`
 *    (steps 2 and 3 share one 30 min window);
 * 4. the command in its own process group with the task's timeout (SIGTERM,
 *    10 s grace, SIGKILL to the group);
 * 5. `Finish` (exited) or `Cancel` (timed out);
 * 6. artifacts packed and uploaded within 600 s — else `Commit {exit_status,
 *    msg: UploadResultTimeout}` right away;
 * 7. `new_task.json` submitted with `Submit` (failure: `SubmitNewTaskFailed`);
 * 8. `Commit {exit_status, msg}` with msg null, `ExecTimeout` or
 *    `SubmitNewTaskFailed`; the work dir is deleted.
 *
 * Interruption (`signal`, e.g. the worker is stopping): the task's process
 * group is terminated and nothing more is reported, as in the existing
 * Mitosis; the coordinator puts the task back to Ready when the worker
 * unregisters. A 404 on a report (the task was reclaimed) drops the task; a
 * 401 (worker removed) ends it with `removed`.
 */
import type { Logger } from "../log/logger.ts";
import { parseDuration } from "../config/duration.ts";
import type { TaskResultMessage, TaskResultSpec } from "../wire/tasks.ts";
import type { ReportTaskOp, WorkerTaskResp } from "../wire/workers.ts";
import { uploadArtifacts } from "./artifacts.ts";
import { inheritableEnvironment, taskEnvironment } from "./env.ts";
import { readNewTask } from "./new_task.ts";
import type { TaskGroupRecords } from "./group_records.ts";
import { DEFAULT_KILL_GRACE_MS, runTaskProcess } from "./process.ts";
import { TaskGoneError, type TaskReporter, WorkerRemovedError } from "./reporter.ts";
import { handTo, type TaskUser, taskUserEnv } from "./task_user.ts";
import { prepareWorkDir, removeWorkDir, type TaskWorkDir, taskWorkDir } from "./workdir.ts";

/** Settings of the engine; all durations in milliseconds. */
export interface EngineOptions {
  /** Directory holding the per-task work dirs. */
  cacheDir: string;
  log: Logger;
  /** Aborting interrupts the task (worker shutdown or removal). */
  signal?: AbortSignal;
  /** Environment the task inherits; default the worker's own without secrets. */
  baseEnv?: Record<string, string>;
  /** SIGTERM → SIGKILL grace (default 10 s). */
  killGraceMs?: number;
  /** Window of the resource and watch phases together (default 30 min). */
  preparationWindowMs?: number;
  /** Limit of one resource download (default 120 s). */
  downloadMs?: number;
  /** Poll interval of a watched task (default 5 s). */
  watchPollMs?: number;
  /** Window of the upload phase (default 600 s). */
  uploadWindowMs?: number;
  /** Run the task as this user (the worker runs as root); its work dir is handed to it just before it starts. */
  taskUser?: TaskUser;
  /** Where the running task's process group is recorded for the next worker (see `group_records.ts`). */
  groupRecords?: TaskGroupRecords;
  /** One group guard for all the tasks of this process instead of one per task (see `group_guard.ts`). */
  sharedGuard?: boolean;
}

/** How a task run ended for the worker. */
export type TaskOutcome =
  /** The result was committed. */
  | { kind: "committed"; result: TaskResultSpec }
  /** The coordinator no longer assigns the task to this worker (404); it was dropped. */
  | { kind: "reclaimed" }
  /** `signal` aborted; the task was killed and not reported further. */
  | { kind: "interrupted" }
  /** The coordinator removed this worker (401). */
  | { kind: "removed" }
  /** A report failed otherwise; the error was logged. */
  | { kind: "failed"; error: Error };

/** Default window of the resource and watch phases. */
export const DEFAULT_PREPARATION_WINDOW_MS = 30 * 60_000;
/** Default window of the upload phase. */
export const DEFAULT_UPLOAD_WINDOW_MS = 600_000;
/** Timeout used when a task's timeout cannot be parsed (the default of submissions). */
const FALLBACK_TIMEOUT_MS = 10 * 60_000;

/** Runs `task` to its commit (or until it is dropped) and deletes its work dir. */
export async function runTask(
  task: WorkerTaskResp,
  reporter: TaskReporter,
  options: EngineOptions,
): Promise<TaskOutcome> {
  const log = options.log.child({ task_uuid: task.uuid, task_id: task.id });
  const dir = taskWorkDir(options.cacheDir, task.uuid);
  log.info("task started", { args: task.spec.args, timeout: task.timeout });
  try {
    await prepareWorkDir(dir);
    return await new TaskRun(task, dir, reporter, options, log).execute();
  } catch (error) {
    if (options.signal?.aborted) {
      log.info("task interrupted", { reason: String(options.signal.reason) });
      return { kind: "interrupted" };
    }
    if (error instanceof TaskGoneError) {
      log.warn("task is no longer assigned to this worker; dropping it", { error });
      return { kind: "reclaimed" };
    }
    if (error instanceof WorkerRemovedError) {
      log.warn("worker removed by coordinator while running the task", { error });
      return { kind: "removed" };
    }
    log.error("task could not be completed", { error });
    return { kind: "failed", error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    await removeWorkDir(dir).catch((error) => log.error("cannot remove task work dir", { path: dir.root, error }));
  }
}

/** One execution of one task. */
class TaskRun {
  readonly #task: WorkerTaskResp;
  readonly #dir: TaskWorkDir;
  readonly #reporter: TaskReporter;
  readonly #o: EngineOptions;
  readonly #log: Logger;

  constructor(task: WorkerTaskResp, dir: TaskWorkDir, reporter: TaskReporter, o: EngineOptions, log: Logger) {
    this.#task = task;
    this.#dir = dir;
    this.#reporter = reporter;
    this.#o = o;
    this.#log = log;
  }

  async execute(): Promise<TaskOutcome> {
    const task = this.#task;
    const signal = this.#o.signal;
    const log = this.#log;
    const preparationDeadline = Date.now() + (this.#o.preparationWindowMs ?? DEFAULT_PREPARATION_WINDOW_MS);

    // The resource and watch phases are loaded only for the tasks that have them (most have neither).
    if (task.spec.resources.length > 0) {
      const { DEFAULT_DOWNLOAD_MS, fetchResources } = await import("./resources.ts");
      const resourceFailure = await fetchResources(task.uuid, task.spec.resources, this.#dir.resource, this.#reporter, {
        deadline: preparationDeadline,
        perDownloadMs: this.#o.downloadMs ?? DEFAULT_DOWNLOAD_MS,
        signal,
        log,
      });
      if (resourceFailure === "interrupted") return this.#interrupted();
      if (resourceFailure !== null) return await this.#cancelAndCommit(resourceFailure);
    }

    if (task.spec.watch !== null) {
      const [uuid, target] = task.spec.watch;
      const { DEFAULT_WATCH_POLL_MS, waitForWatchedTask } = await import("./watch.ts");
      const watched = await waitForWatchedTask(uuid, target, this.#reporter, {
        deadline: preparationDeadline,
        pollMs: this.#o.watchPollMs ?? DEFAULT_WATCH_POLL_MS,
        signal,
        log,
      });
      if (watched === "interrupted") return this.#interrupted();
      if (watched === "WatchTimeout") return await this.#cancelAndCommit("WatchTimeout");
    }

    let timeoutMs = parseDuration(task.timeout);
    if (timeoutMs === null || timeoutMs <= 0) {
      log.warn("task timeout is not a duration; using 10m", { timeout: task.timeout });
      timeoutMs = FALLBACK_TIMEOUT_MS;
    }
    const user = this.#o.taskUser;
    const env = taskEnvironment(task, this.#dir, this.#o.baseEnv ?? inheritableEnvironment());
    if (user !== undefined) Object.assign(env, taskUserEnv(user));
    const process = await runTaskProcess({
      args: task.spec.args,
      env,
      cwd: this.#dir.root,
      stdoutPath: task.spec.terminal_output ? this.#dir.stdout : undefined,
      stderrPath: task.spec.terminal_output ? this.#dir.stderr : undefined,
      user,
      // Resources are in place and the output files open: the task user gets the tree (the worker reads it as root).
      beforeSpawn: user === undefined ? undefined : () => handTo(this.#dir.root, user),
    }, {
      timeoutMs,
      killGraceMs: this.#o.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      signal,
      log,
      records: this.#o.groupRecords,
      taskUuid: task.uuid,
      sharedGuard: this.#o.sharedGuard,
    });
    if (process.kind === "interrupted") return this.#interrupted();
    const finished = process.kind === "exited";
    const exitStatus = process.waitStatus;

    await this.#report(finished ? "Finish" : "Cancel");
    const uploaded = await uploadArtifacts(task.id, this.#dir, this.#reporter, {
      deadline: Date.now() + (this.#o.uploadWindowMs ?? DEFAULT_UPLOAD_WINDOW_MS),
      signal,
      log,
    });
    if (uploaded === "interrupted") return this.#interrupted();
    if (uploaded === "timeout") {
      log.warn("artifact upload timed out");
      return await this.#commit({ exit_status: exitStatus, msg: "UploadResultTimeout" });
    }

    const submitted = await this.#submitNewTask();
    let msg: TaskResultMessage | null = finished ? null : "ExecTimeout";
    if (!submitted && finished) msg = "SubmitNewTaskFailed";
    return await this.#commit({ exit_status: exitStatus, msg });
  }

  #interrupted(): TaskOutcome {
    this.#log.info("task interrupted; not reporting it", { reason: String(this.#o.signal?.reason) });
    return { kind: "interrupted" };
  }

  async #report(op: ReportTaskOp): Promise<string | null> {
    if (this.#o.signal?.aborted) throw this.#o.signal.reason;
    return await this.#reporter.report(this.#task.id, op, this.#o.signal);
  }

  async #cancelAndCommit(msg: TaskResultMessage): Promise<TaskOutcome> {
    await this.#report("Cancel");
    return await this.#commit({ exit_status: 0, msg });
  }

  async #commit(result: TaskResultSpec): Promise<TaskOutcome> {
    await this.#report({ Commit: result });
    this.#log.info("task committed", { exit_status: result.exit_status, result_msg: result.msg });
    return { kind: "committed", result };
  }

  /** Submits `new_task.json` when present; false when that failed. */
  async #submitNewTask(): Promise<boolean> {
    const found = await readNewTask(this.#dir.newTask);
    if (found.kind === "none") return true;
    if (found.kind === "invalid") {
      this.#log.warn("new task request rejected", { reason: found.reason });
      return false;
    }
    try {
      await this.#report({ Submit: found.request });
      this.#log.info("new task submitted", { group_name: found.request.group_name });
      return true;
    } catch (error) {
      if (error instanceof TaskGoneError || error instanceof WorkerRemovedError || this.#o.signal?.aborted) throw error;
      this.#log.warn("new task submission failed", { error });
      return false;
    }
  }
}

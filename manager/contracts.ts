/**
 * The seams inside the node manager: the coordinator link (WebSocket
 * requests, implemented in `manager/connection/`) and suite execution
 * (worker pool + prefetch + IPC service, implemented in `manager/pool/`).
 * The suite state machine (`manager/suite_runner.ts`) wires them together.
 */
import type { ManagedTask, ManagerReportOp } from "../shared/wire/manager_ws.ts";
import type { SuiteInfo } from "../shared/wire/suites.ts";

/** Reply to a task report. */
export interface ReportAck {
  success: boolean;
  url?: string | null;
  error?: string | null;
}

/** Requests a manager sends to the coordinator. Calls made while disconnected wait and are sent after reconnection. */
export interface CoordinatorLink {
  /** Claims up to `maxCount` tasks of the assigned suite (batched FetchTask). */
  fetchTasks(suiteUuid: string, maxCount: number): Promise<{ tasks: ManagedTask[]; suiteState: string | null }>;
  /** Forwards a worker's report (Finish, Cancel, Upload, Submit, Commit, or Complete: Finish and Commit in one). */
  reportTask(taskId: number, attempt: number, op: ManagerReportOp): Promise<ReportAck>;
  /** Records a worker crash on a task. */
  reportFailure(taskUuid: string, failureCount: number, errorMessage: string, workerLocalId: number): Promise<void>;
  /** Gives up on a task on this manager (it goes back to Ready elsewhere). */
  abortTask(taskUuid: string, reason: string): Promise<void>;
  /** Hands back prefetched, unstarted tasks. */
  returnTasks(taskUuids: string[]): Promise<void>;
}

/** Summary of a suite's execution on this manager. */
export interface ExecutionSummary {
  tasksCompleted: number;
  tasksFailed: number;
}

/** Suite execution: the running worker pool of one suite. */
export interface SuiteExecution {
  /** Resolves when the pool has drained (suite complete, cancelled or stopped) and every worker has exited. */
  readonly done: Promise<ExecutionSummary>;
  /** Kills the worker running this task (SIGTERM, then SIGKILL after the grace period). */
  cancelTask(taskUuid: string): void;
  /**
   * Stops taking tasks, returns unstarted prefetched tasks, and stops the
   * workers: graceful lets running tasks finish (`worker_stop_grace`, then
   * kill), force kills them at once.
   */
  stop(graceful: boolean): void;
}

/** What starting a suite's execution needs. */
export interface SuiteExecutionOptions {
  suite: SuiteInfo;
  link: CoordinatorLink;
  /** Worker processes to spawn: min(worker_count, max_workers). */
  workerCount: number;
  /** Environment for every worker (suite hook envs + MITOSIS_* context). */
  env: Record<string, string>;
  /** Directory for the suite's files (IPC socket, worker cache dirs, logs). */
  workDir: string;
}

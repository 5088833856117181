/**
 * What the execution engine needs from the coordinator, as an interface: an
 * independent worker implements it over HTTP (`worker/http_reporter.ts`), a
 * managed worker over IPC to its node manager (SPEC §7). Implementations
 * retry transient transport failures themselves (until `signal` aborts) and
 * signal the outcomes the engine acts on with the error classes below.
 */
import type { TaskResultSpec, TaskState } from "../wire/tasks.ts";
import type { RemoteResource } from "../wire/tasks.ts";
import type { ReportTaskOp } from "../wire/workers.ts";
import type { RemoteResourceDownloadResp } from "../wire/storage.ts";

/** What `watch` sees of another task. */
export interface WatchedTask {
  state: TaskState;
  /** Non-null once the task is committed. */
  result: TaskResultSpec | null;
}

/** The engine's channel to the coordinator. */
export interface TaskReporter {
  /**
   * Reports `op` on the task with database id `taskId`; resolves with the
   * presigned URL of an `Upload`, else null. Throws `TaskGoneError` when the
   * task is no longer assigned to this worker, `WorkerRemovedError` when the
   * worker's credentials were revoked.
   */
  report(taskId: number, op: ReportTaskOp, signal?: AbortSignal): Promise<string | null>;
  /**
   * The presigned download URL and size of a resource of task `taskUuid`.
   * Throws `ResourceAccessError` (NotFound/Forbidden), `WorkerRemovedError`.
   */
  resourceUrl(taskUuid: string, resource: RemoteResource, signal?: AbortSignal): Promise<RemoteResourceDownloadResp>;
  /** State and result of any task (for `watch`); null when the coordinator does not know it. */
  watchedTask(uuid: string, signal?: AbortSignal): Promise<WatchedTask | null>;
}

/** The task was reclaimed (404 on a report): drop it without further reports. */
export class TaskGoneError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TaskGoneError";
  }
}

/** The coordinator removed this worker (401): stop everything and exit. */
export class WorkerRemovedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerRemovedError";
  }
}

/** A resource could not be obtained: it does not exist, or this worker may not read it. */
export class ResourceAccessError extends Error {
  readonly kind: "NotFound" | "Forbidden";
  constructor(kind: "NotFound" | "Forbidden", message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ResourceAccessError";
    this.kind = kind;
  }
}

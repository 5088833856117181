/**
 * `watch: [uuid, TaskExecState]`: a task starts only once another task has
 * reached a fine-grained execution state. The existing Mitosis learns those
 * states from Redis; Mitosis has no Redis, so the watched task is polled with
 * `GET /workers/tasks/{uuid}` and its coarse state and result are mapped onto
 * the execution states they imply (`isReached`). The window is 30 min, shared
 * with the resource phase; an unknown task, or one committed without reaching
 * the target (it never will), fails at once. Failure commits `WatchTimeout`.
 */
import type { Logger } from "../log/logger.ts";
import type { TaskExecState, TaskResultMessage } from "../wire/tasks.ts";
import { type TaskReporter, type WatchedTask, WorkerRemovedError } from "./reporter.ts";

/** States a Running task has reached: it was fetched and may have spawned. */
const RUNNING_REACHES: ReadonlySet<TaskExecState> = new Set<TaskExecState>([
  "FetchResource",
  "FetchResourceFinished",
  "Watch",
  "WatchFinished",
  "ExecPending",
  "ExecSpawned",
]);

/** States a Finished task has reached (before its commit). */
const FINISHED_REACHES: ReadonlySet<TaskExecState> = new Set<TaskExecState>([
  ...RUNNING_REACHES,
  "ExecFinished",
  "UploadResult",
  "UploadFinishedResult",
]);

/** States a Finished task has reached once committed. */
const FINISHED_COMMITTED_REACHES: ReadonlySet<TaskExecState> = new Set<TaskExecState>([
  ...FINISHED_REACHES,
  "UploadResultFinished",
  "TaskCommitted",
]);

const ALL_FAILURES: TaskResultMessage[] = [
  "FetchResourceTimeout",
  "ExecTimeout",
  "UploadResultTimeout",
  "ResourceNotFound",
  "ResourceForbidden",
  "WatchTimeout",
];

/**
 * States a committed Cancelled task has reached, by its result message: the
 * `TaskState::is_reach` matrix of the existing Mitosis (`entity/state.rs`).
 */
const CANCELLED_REACHES: Readonly<Partial<Record<TaskExecState, readonly TaskResultMessage[]>>> = {
  FetchResource: ["SubmitNewTaskFailed"],
  FetchResourceFinished: ["SubmitNewTaskFailed"],
  FetchResourceTimeout: ["FetchResourceTimeout"],
  FetchResourceNotFound: ["ResourceNotFound"],
  FetchResourceForbidden: ["ResourceForbidden"],
  Watch: ["SubmitNewTaskFailed"],
  WatchFinished: ["SubmitNewTaskFailed"],
  WatchTimeout: ["WatchTimeout"],
  ExecPending: ["SubmitNewTaskFailed"],
  ExecSpawned: ["SubmitNewTaskFailed"],
  ExecFinished: ["SubmitNewTaskFailed"],
  ExecTimeout: ["ExecTimeout"],
  UploadResult: [...ALL_FAILURES, "SubmitNewTaskFailed"],
  UploadCancelledResult: ALL_FAILURES,
  UploadResultFinished: [...ALL_FAILURES, "SubmitNewTaskFailed"],
  UploadResultTimeout: ["UploadResultTimeout"],
  TaskCommitted: [...ALL_FAILURES, "UserCancellation", "SubmitNewTaskFailed"],
};

/**
 * Whether a task observed as `observed` has reached `target`. Running counts
 * as ExecSpawned (and every state before it): the closest coarse equivalent
 * (the existing Mitosis, polling without Redis, waited for Finished).
 * Finished and Cancelled follow the existing Mitosis's matrix.
 */
export function isReached(target: TaskExecState, observed: WatchedTask): boolean {
  switch (observed.state) {
    case "Running":
      return RUNNING_REACHES.has(target);
    case "Finished":
      return (observed.result === null ? FINISHED_REACHES : FINISHED_COMMITTED_REACHES).has(target);
    case "Cancelled": {
      const msg = observed.result?.msg;
      if (msg === undefined || msg === null) return observed.result !== null && target === "TaskCommitted";
      return CANCELLED_REACHES[target]?.includes(msg) ?? false;
    }
    default:
      return false;
  }
}

/** `reached`, `waiting`, or `unreachable` (committed without reaching the target). */
export function watchProgress(target: TaskExecState, observed: WatchedTask): "reached" | "waiting" | "unreachable" {
  if (isReached(target, observed)) return "reached";
  return observed.result === null ? "waiting" : "unreachable";
}

/** Options of `waitForWatchedTask`. */
export interface WatchOptions {
  /** Absolute deadline (epoch ms). */
  deadline: number;
  /** Poll interval (default 5 s). */
  pollMs?: number;
  signal?: AbortSignal;
  log: Logger;
}

/** Default poll interval of a watched task. */
export const DEFAULT_WATCH_POLL_MS = 5_000;

/** Sleeps `ms`, or less when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Polls task `uuid` until it reaches `target`. Resolves `reached`,
 * `WatchTimeout` (unknown task, unreachable target, or deadline), or
 * `interrupted` when `signal` aborts. Transient poll errors are logged and
 * retried; `WorkerRemovedError` propagates.
 */
export async function waitForWatchedTask(
  uuid: string,
  target: TaskExecState,
  reporter: TaskReporter,
  options: WatchOptions,
): Promise<"reached" | "WatchTimeout" | "interrupted"> {
  const { log } = options;
  const pollMs = options.pollMs ?? DEFAULT_WATCH_POLL_MS;
  const context = { watched_task_uuid: uuid, target };
  log.info("waiting for watched task", context);
  for (;;) {
    if (options.signal?.aborted) return "interrupted";
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) {
      log.warn("watched task did not reach the target in time", context);
      return "WatchTimeout";
    }
    const signal = AbortSignal.any([AbortSignal.timeout(remaining), ...(options.signal ? [options.signal] : [])]);
    let observed: WatchedTask | null | undefined;
    try {
      observed = await reporter.watchedTask(uuid, signal);
    } catch (error) {
      if (error instanceof WorkerRemovedError) throw error;
      if (!signal.aborted) log.warn("cannot poll watched task; retrying", { ...context, error });
    }
    if (observed === null) {
      log.warn("watched task is unknown to the coordinator", context);
      return "WatchTimeout";
    }
    if (observed !== undefined) {
      const progress = watchProgress(target, observed);
      if (progress === "reached") {
        log.info("watched task reached the target", { ...context, state: observed.state });
        return "reached";
      }
      if (progress === "unreachable") {
        log.warn("watched task was committed without reaching the target", {
          ...context,
          state: observed.state,
          result: observed.result,
        });
        return "WatchTimeout";
      }
    }
    await pause(Math.min(pollMs, options.deadline - Date.now()), options.signal);
  }
}

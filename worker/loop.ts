/**
 * The task loop of an independent worker: fetch a task, run it to its commit,
 * fetch the next one — one task at a time. With no task available, or when
 * the coordinator cannot be reached or answers an error, it waits
 * `polling_interval` and tries again. A 401 (here or from a report) means the
 * worker was removed. Aborting `signal` stops the loop; a running task is
 * then interrupted by the engine (its process group terminated).
 */
import { ClientError } from "../shared/client/client.ts";
import type { WorkerClient } from "../shared/client/worker_client.ts";
import { type EngineOptions, runTask } from "../shared/exec/engine.ts";
import type { TaskReporter } from "../shared/exec/reporter.ts";
import type { Logger } from "../shared/log/logger.ts";
import { pause } from "./pause.ts";

/** Options of `runTaskLoop`. */
export interface TaskLoopOptions {
  client: WorkerClient;
  reporter: TaskReporter;
  pollingMs: number;
  /** Directory of the per-task work dirs. */
  cacheDir: string;
  log: Logger;
  /** Stops the loop (and interrupts a running task). */
  signal: AbortSignal;
  /** Called once when the coordinator answers 401. */
  onRemoved: () => void;
  /** Engine settings besides cacheDir, log and signal. */
  engine?: Omit<EngineOptions, "cacheDir" | "log" | "signal">;
}

/** Runs tasks until `signal` aborts or the worker is removed. */
export async function runTaskLoop(o: TaskLoopOptions): Promise<void> {
  const { log, signal } = o;
  while (!signal.aborted) {
    let task;
    try {
      task = await o.client.fetchTask(signal);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ClientError && error.status === 401) {
        log.warn("task fetch rejected: worker removed by coordinator", { error: error.msg });
        o.onRemoved();
        return;
      }
      log.warn("task fetch failed; retrying after the polling interval", {
        error: error instanceof ClientError ? error.msg : error,
        retry_in_ms: o.pollingMs,
      });
      await pause(o.pollingMs, signal);
      continue;
    }
    if (task === null) {
      log.debug("no task available", { next_fetch_in_ms: o.pollingMs });
      await pause(o.pollingMs, signal);
      continue;
    }
    const outcome = await runTask(task, o.reporter, { ...o.engine, cacheDir: o.cacheDir, log, signal });
    log.info("task done", {
      task_uuid: task.uuid,
      outcome: outcome.kind,
      ...(outcome.kind === "committed"
        ? { exit_status: outcome.result.exit_status, result_msg: outcome.result.msg }
        : {}),
    });
    if (outcome.kind === "removed") {
      o.onRemoved();
      return;
    }
  }
}

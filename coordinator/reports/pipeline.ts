/**
 * The completion pipeline (group commit): `Finish`, `Cancel` and `Commit`
 * reports arriving from every node manager and independent worker are
 * gathered and applied together, one set-based statement (hence one
 * transaction and one WAL flush) per batch (`batch_sql.ts`), instead of one
 * per report.
 *
 * A report joins the queue and a batch leaves on the next turn of the event
 * loop, so a lone report waits for nothing; while `maxInFlight` batches are
 * being written, reports accumulate and leave together as soon as one
 * finishes (at most `maxBatch` per batch). The busier the coordinator, the
 * larger the batches.
 *
 * Each report still gets its own answer, and only after its batch has
 * committed durably (the pool commits synchronously): accepted, or refused
 * because its reporter does not hold the task (404, as for a single report).
 * A batch names each task once, and batches written at the same time name
 * different tasks: a second report of a task waits until the batch holding
 * the first has committed, so a task's reports apply in the order received. When a batch
 * fails for a reason other than a lost database, its reports are applied
 * again one by one, so a bad report fails alone.
 */
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { TaskResultSpec } from "../../shared/wire/tasks.ts";
import { isDatabaseUnavailable } from "../db/errors.ts";
import { applyReports, type CommitItem, type EndItem } from "./batch_sql.ts";
import { notHeld, type TaskHolder } from "./holder.ts";
import { removeWorkers, WorkerStateCode } from "../workers/store.ts";
import type { CoordinatorMetrics } from "../metrics/registry.ts";

/** Batching limits. */
export interface PipelineOptions {
  /** Most reports per batch (default 512). */
  maxBatch?: number;
  /** Batches written at once (default 2). */
  maxInFlight?: number;
  /** Records each batch's size and latency, and the batch statement's. */
  metrics?: CoordinatorMetrics;
}

type Pending =
  | EndItem & { done: Settle<void> }
  | CommitItem & { done: Settle<string> };

interface Settle<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** Gathers task reports into batches; see the module comment. */
export class ReportPipeline {
  readonly #sql: Sql;
  readonly #log: Logger;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #metrics: CoordinatorMetrics | undefined;
  #queue: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;
  /** Tasks named by the batches being written. */
  readonly #busy = new Set<number>();
  readonly #writing = new Set<Promise<void>>();

  constructor(sql: Sql, log: Logger, options: PipelineOptions = {}) {
    this.#sql = sql;
    this.#log = log;
    this.#maxBatch = options.maxBatch ?? 512;
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#metrics = options.metrics;
  }

  /** `Finish` (or `Cancel`): the task's process ended (or was cancelled). Rejects with 404 when not held. */
  end(holder: TaskHolder, taskId: number, cancelled: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#push({ kind: "end", holder, taskId, cancelled, done: { resolve, reject } });
    });
  }

  /** `Commit`: archives the task with `result`; resolves to its uuid. Rejects with 404 when not held. */
  commit(holder: TaskHolder, taskId: number, result: TaskResultSpec): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#push({ kind: "commit", holder, taskId, result, done: { resolve, reject } });
    });
  }

  /** Resolves once every report queued so far has been answered. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#writing.size > 0) {
      this.#flush();
      await Promise.all(this.#writing);
    }
  }

  #push(item: Pending): void {
    this.#queue.push(item);
    if (this.#queue.length >= this.#maxBatch) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        this.#flush();
      }, 0);
    }
  }

  /** Starts batches while a slot is free and reports are waiting. */
  #flush(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      if (batch.length === 0) return;
      this.#inFlight++;
      const writing: Promise<void> = this.#write(batch).finally(() => {
        for (const item of batch) this.#busy.delete(item.taskId);
        this.#inFlight--;
        this.#writing.delete(writing);
        this.#flush();
      });
      this.#writing.add(writing);
    }
  }

  /**
   * Takes up to `maxBatch` queued reports, each task at most once and none of
   * a task being written (later reports of a task stay queued, in order).
   */
  #take(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const skipped = new Set<number>();
    for (const item of this.#queue) {
      if (batch.length < this.#maxBatch && !this.#busy.has(item.taskId) && !skipped.has(item.taskId)) {
        this.#busy.add(item.taskId);
        batch.push(item);
      } else {
        skipped.add(item.taskId);
        rest.push(item);
      }
    }
    this.#queue = rest;
    return batch;
  }

  /** Writes one batch and answers its reports; never rejects. */
  async #write(batch: Pending[]): Promise<void> {
    try {
      await this.#apply(batch);
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const item of batch) item.done.reject(error);
        return;
      }
      this.#log.warn("report batch failed; applying its reports one by one", { count: batch.length, error });
      for (const item of batch) {
        try {
          await this.#apply([item]);
        } catch (itemError) {
          item.done.reject(itemError);
        }
      }
    }
  }

  /** Applies a batch in one statement, then answers each report. Throws when the statement fails. */
  async #apply(batch: Pending[]): Promise<void> {
    const startedAt = performance.now();
    const applied = this.#metrics === undefined
      ? await applyReports(this.#sql, batch)
      : await this.#metrics.timeQuery("report_batch", () => applyReports(this.#sql, batch));
    const leaving: number[] = [];
    const uuids: string[] = [];
    for (const [idx, row] of applied) {
      if (row.uuid !== null) uuids.push(row.uuid);
      if (row.workerState === WorkerStateCode.GracefulShutdown) leaving.push(batch[idx].holder.id);
    }
    if (uuids.length > 0) this.#log.info("tasks committed", { count: uuids.length, task_uuids: uuids });
    if (leaving.length > 0) await this.#removeLeaving(leaving);
    batch.forEach((item, idx) => {
      const row = applied.get(idx);
      if (row === undefined) item.done.reject(notHeld(item.holder, item.taskId));
      else if (item.kind === "end") item.done.resolve();
      else item.done.resolve(row.uuid ?? "");
    });
    this.#metrics?.reportBatch(batch.length, startedAt);
  }

  /** Removes the gracefully stopping workers that just committed their last task. */
  async #removeLeaving(workerIds: number[]): Promise<void> {
    try {
      await removeWorkers(this.#sql, workerIds);
      this.#log.info("workers removed after their last task (graceful shutdown)", { worker_ids: workerIds });
    } catch (error) {
      // The commits stand; the worker reaper removes them later.
      this.#log.error("removing gracefully stopped workers failed", { worker_ids: workerIds, error });
    }
  }
}

/**
 * Coalesces the task reports of all of a manager's workers into
 * `ReportTasks` messages: a report joins the queue and leaves on the next
 * turn of the event loop with every other report queued by then (at most
 * `maxBatch` per message, `maxInFlight` messages awaiting their answer). A
 * lone report waits for nothing; under load, reports ride together and the
 * coordinator's completion pipeline applies them in one transaction.
 *
 * Each report gets its own result. A report the coordinator could not apply
 * for a passing reason (the whole message answered `Error`, or its result
 * carries `retry: true`: the database was unreachable) is queued again with
 * a backoff (250 ms doubling to 5 s), so it is never lost while the manager
 * runs; only a refusal (`success: false`) is final. Retrying stops once the
 * connection gives up (the manager is stopping): the report then fails.
 *
 * The caller keeps the order of one task's reports (it sends a task's next
 * report after the previous one's answer), so one message names a task once.
 */
import type { Logger } from "../../shared/log/logger.ts";
import type { CoordinatorMessage, TaskReportItem } from "../../shared/wire/manager_ws.ts";
import { Backoff } from "./backoff.ts";
import { CoordinatorRequestError } from "./coordinator_connection.ts";
import { type MetricsRecorder, NO_METRICS, secondsSince } from "../prometheus/recorder.ts";

/** The answer to one report. */
export type ReportResult = Extract<CoordinatorMessage, { type: "TasksReportAck" }>["results"][number];

/** Sends one `ReportTasks` message; resolves to its results, in order. */
export type SendReports = (reports: TaskReportItem[]) => Promise<ReportResult[]>;

/** Batching limits. */
export interface ReportBatcherOptions {
  /** Most reports per message (default 256). */
  maxBatch?: number;
  /** Messages awaiting their answer at once (default 2). */
  maxInFlight?: number;
  /** Whether retrying is over (the connection gave up). */
  givingUp: () => boolean;
  /** Records each answered message's size and round trip (default: nothing). */
  metrics?: MetricsRecorder;
}

/** Backoff of reports sent again: 250 ms doubling up to 5 s. */
const RETRY_BACKOFF = { initialMs: 250, maxMs: 5_000, random: () => 1 } as const;

interface Queued {
  item: TaskReportItem;
  resolve: (result: ReportResult) => void;
  reject: (error: unknown) => void;
  backoff?: Backoff;
}

/** Gathers reports into `ReportTasks` messages; see the module comment. */
export class ReportBatcher {
  readonly #send: SendReports;
  readonly #log: Logger;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #givingUp: () => boolean;
  readonly #metrics: MetricsRecorder;
  #queue: Queued[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(send: SendReports, log: Logger, options: ReportBatcherOptions) {
    this.#send = send;
    this.#log = log;
    this.#maxBatch = options.maxBatch ?? 256;
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#givingUp = options.givingUp;
    this.#metrics = options.metrics ?? NO_METRICS;
  }

  /** Sends `item` with the next message; resolves to its result once it is final. */
  report(item: TaskReportItem): Promise<ReportResult> {
    return new Promise((resolve, reject) => this.#enqueue({ item, resolve, reject }));
  }

  #enqueue(queued: Queued): void {
    this.#queue.push(queued);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.#flush();
    }, 0);
  }

  #flush(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      void this.#deliver(batch).finally(() => {
        this.#inFlight--;
        this.#flush();
      });
    }
  }

  /** Sends one message and settles (or queues again) each of its reports. Never rejects. */
  async #deliver(batch: Queued[]): Promise<void> {
    let results: ReportResult[];
    const startedAt = performance.now();
    try {
      results = await this.#send(batch.map((q) => q.item));
      this.#metrics.reportBatch(batch.length, secondsSince(startedAt));
    } catch (error) {
      if (!(error instanceof CoordinatorRequestError) || this.#givingUp()) {
        for (const q of batch) q.reject(error);
        return;
      }
      this.#log.warn("ReportTasks failed at the coordinator; sending its reports again", {
        count: batch.length,
        error: error.message,
      });
      for (const q of batch) this.#retry(q, error);
      return;
    }
    batch.forEach((q, i) => {
      const result = results[i];
      if (result === undefined) q.reject(new Error(`the coordinator answered no result for report ${i}`));
      else if (result.retry === true) {
        this.#log.warn("task report failed at the coordinator; sending it again", {
          task_id: q.item.task_id,
          error: result.error ?? null,
        });
        this.#retry(q, new CoordinatorRequestError("ReportTasks", result.error ?? "retry"));
      } else q.resolve(result);
    });
  }

  #retry(q: Queued, error: unknown): void {
    if (this.#givingUp()) return q.reject(error);
    q.backoff ??= new Backoff(RETRY_BACKOFF);
    setTimeout(() => {
      if (this.#givingUp()) q.reject(error);
      else this.#enqueue(q);
    }, q.backoff.next());
  }
}

/**
 * The coordinator's Prometheus metrics (`GET /metrics`), one registry per
 * coordinator. Hot paths call the recording methods (a counter increment or
 * a histogram observation each, a few hundred nanoseconds); figures that
 * exist elsewhere (WebSocket sessions, pool sizes, counts by state read from
 * the database) are taken at scrape time. Every metric is listed in the
 * README ("Metrics").
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Sql } from "../db/connect.ts";
import { registerProcessMetrics } from "../../shared/metrics/process.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";
import { TaskSuiteStateCode } from "../../shared/wire/suites.ts";
import { NodeManagerStateCode } from "../../shared/wire/managers.ts";
import { WorkerStateCode } from "../workers/store.ts";
import type { CountedKind, StateCounts } from "./store.ts";

/** How a task was claimed: a node manager's `FetchTask`, or an independent worker's `GET /workers/tasks`. */
export type ClaimPath = "manager" | "worker";

/** A task report operation. */
export type ReportOp = "Finish" | "Cancel" | "Commit" | "Complete" | "Upload" | "Submit";

/** The operation of a validated report op (`"Finish"`, `{Commit: …}`, …). */
export function reportOp(op: string | object): ReportOp {
  return (typeof op === "string" ? op : Object.keys(op)[0]) as ReportOp;
}

/** How a report ended: applied, refused (`success: false`, 4xx), or failed (database, internal error). */
export type ReportOutcome = "accepted" | "refused" | "failed";

/** The statements whose latency is measured. */
export type TimedStatement =
  | "claim_suite_tasks"
  | "claim_worker_task"
  | "report_batch"
  | "manager_heartbeat"
  | "worker_heartbeat";

/** Whether a WebSocket message came from a manager or went to one. */
export type MessageDirection = "received" | "sent";

/** Buckets (seconds) of request and statement latencies: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Buckets of reports per batch. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** State names by database code, for each kind counted at scrape time. */
const STATE_NAMES: Record<CountedKind, Map<number, string>> = {
  task: names(TaskStateCode),
  suite: names(TaskSuiteStateCode),
  manager: names(NodeManagerStateCode),
  worker: names(WorkerStateCode),
};

function names(codes: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(codes).map(([name, code]) => [code, name]));
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Seconds since `startedAt` (a `performance.now()` reading). */
function secondsSince(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}

/** What the metrics read at scrape time besides the database. */
export interface CoordinatorMetricsSources {
  /** The connection pools by name (their `max`). */
  pools: Record<string, Sql>;
  /** Node-manager WebSocket sessions open on this coordinator. */
  wsConnections: () => number;
}

/** The coordinator's metrics; see the module comment. */
export class CoordinatorMetrics {
  /** The registry `/metrics` renders. */
  readonly registry: Registry = new Registry();
  readonly #byState: Record<CountedKind, Gauge<"state">>;
  readonly #databaseUp: Gauge;
  readonly #dbConnections: Gauge<"application" | "state">;
  readonly #claimed: Counter<"path">;
  readonly #claimDuration: Histogram<"path">;
  readonly #reports: Counter<"op" | "outcome">;
  readonly #batchDuration: Histogram;
  readonly #batchSize: Histogram;
  readonly #wsMessages: Counter<"direction" | "type">;
  readonly #queryDuration: Histogram<"statement">;
  readonly #queriesInFlight: Gauge<"statement">;
  readonly #queryErrors: Counter<"statement">;
  readonly #httpRequests: Counter<"method" | "route" | "status">;
  readonly #httpDuration: Histogram<"method" | "route">;

  constructor(sources: CoordinatorMetricsSources) {
    const registers = [this.registry];
    const byState = (name: string, help: string) =>
      new Gauge({ name, help: `${help} (read from the database at scrape time).`, labelNames: ["state"], registers });
    this.#byState = {
      task: byState("mitosis_tasks", "Active (not archived) tasks by state"),
      suite: byState("mitosis_suites", "Task suites by state"),
      manager: byState("mitosis_managers", "Registered node managers by state"),
      worker: byState("mitosis_workers", "Registered independent workers by state"),
    };
    this.#databaseUp = new Gauge({
      name: "mitosis_database_up",
      help: "1 when this scrape's database reads succeeded, 0 when they failed (the by-state gauges are then absent).",
      registers,
    });
    this.#dbConnections = new Gauge({
      name: "mitosis_db_connections",
      help: "Connections of Mitosis coordinators (every coordinator on this database) by application name and " +
        "pg_stat_activity state, read at scrape time.",
      labelNames: ["application", "state"],
      registers,
    });
    new Gauge({
      name: "mitosis_db_pool_max_connections",
      help: "Most connections each of this coordinator's pools opens.",
      labelNames: ["pool"],
      registers,
      collect() {
        for (const [pool, sql] of Object.entries(sources.pools)) this.set({ pool }, sql.options.max);
      },
    });
    this.#queryDuration = new Histogram({
      name: "mitosis_db_query_duration_seconds",
      help: "Latency of the main statements (claims, report batches, heartbeats), in seconds.",
      labelNames: ["statement"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#queriesInFlight = new Gauge({
      name: "mitosis_db_queries_in_flight",
      help: "Main statements sent and not yet answered (waiting for a connection included).",
      labelNames: ["statement"],
      registers,
    });
    this.#queryErrors = new Counter({
      name: "mitosis_db_query_errors_total",
      help: "Main statements that failed.",
      labelNames: ["statement"],
      registers,
    });
    this.#claimed = new Counter({
      name: "mitosis_tasks_claimed_total",
      help: "Tasks claimed, by path (manager: FetchTask over the WebSocket; worker: GET /workers/tasks).",
      labelNames: ["path"],
      registers,
    });
    this.#claimDuration = new Histogram({
      name: "mitosis_claim_duration_seconds",
      help: "Time to answer a claim request (after authentication), empty answers included, in seconds.",
      labelNames: ["path"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#reports = new Counter({
      name: "mitosis_reports_total",
      help: "Task reports from managers and independent workers, by operation and outcome.",
      labelNames: ["op", "outcome"],
      registers,
    });
    this.#batchDuration = new Histogram({
      name: "mitosis_report_batch_duration_seconds",
      help: "Time to write one completion-pipeline batch (Finish, Cancel, Commit reports) and answer it, in seconds.",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#batchSize = new Histogram({
      name: "mitosis_report_batch_size",
      help: "Reports per completion-pipeline batch.",
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    new Gauge({
      name: "mitosis_ws_connections",
      help: "Node-manager WebSocket connections open on this coordinator.",
      registers,
      collect() {
        this.set(sources.wsConnections());
      },
    });
    this.#wsMessages = new Counter({
      name: "mitosis_ws_messages_total",
      help: "Node-manager WebSocket messages by direction and type (received frames that cannot be decoded: invalid).",
      labelNames: ["direction", "type"],
      registers,
    });
    this.#httpRequests = new Counter({
      name: "mitosis_http_requests_total",
      help: "HTTP requests by method, route (as registered; unmatched for no route) and status.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: "mitosis_http_request_duration_seconds",
      help: "HTTP request latency until the response headers, by method and route, in seconds.",
      labelNames: ["method", "route"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    registerProcessMetrics(this.registry);
  }

  /** A claim request answered with `count` tasks; it started at `startedAt` (`performance.now()`). */
  claimed(path: ClaimPath, count: number, startedAt: number): void {
    if (count > 0) this.#claimed.inc({ path }, count);
    this.#claimDuration.observe({ path }, secondsSince(startedAt));
  }

  /** One task report ended with `outcome`. */
  report(op: ReportOp, outcome: ReportOutcome): void {
    this.#reports.inc({ op, outcome });
  }

  /** A completion-pipeline batch of `size` reports, started at `startedAt`, was written and answered. */
  reportBatch(size: number, startedAt: number): void {
    this.#batchDuration.observe(secondsSince(startedAt));
    this.#batchSize.observe(size);
  }

  /** A WebSocket message of `type` was received from or sent to a manager. */
  wsMessage(direction: MessageDirection, type: string): void {
    this.#wsMessages.inc({ direction, type });
  }

  /** An HTTP request to `route` (a registered route path, or `unmatched`) answered `status`. */
  httpRequest(method: string, route: string, status: number, startedAt: number): void {
    const m = METHODS.has(method) ? method : "other";
    this.#httpRequests.inc({ method: m, route, status: String(status) });
    this.#httpDuration.observe({ method: m, route }, secondsSince(startedAt));
  }

  /** Runs `statement` (a call of its data access function), measuring its latency and failures. */
  async timeQuery<T>(statement: TimedStatement, run: () => Promise<T>): Promise<T> {
    const labels = { statement };
    const startedAt = performance.now();
    this.#queriesInFlight.inc(labels);
    try {
      return await run();
    } catch (error) {
      this.#queryErrors.inc(labels);
      throw error;
    } finally {
      this.#queriesInFlight.dec(labels);
      this.#queryDuration.observe(labels, secondsSince(startedAt));
    }
  }

  /** Sets the figures read from the database for this scrape; null when the reads failed. */
  setStateCounts(counts: StateCounts | null): void {
    this.#databaseUp.set(counts === null ? 0 : 1);
    this.#dbConnections.reset();
    for (const [kind, gauge] of Object.entries(this.#byState) as [CountedKind, Gauge<"state">][]) {
      gauge.reset();
      // Every known state, 0 included, so that dashboards get continuous series.
      if (counts !== null) { for (const state of STATE_NAMES[kind].values()) gauge.set({ state }, 0); }
    }
    if (counts === null) return;
    for (const { kind, state, count } of counts.states) {
      this.#byState[kind].inc({ state: STATE_NAMES[kind].get(state) ?? String(state) }, count);
    }
    for (const { application, state, count } of counts.connections) {
      this.#dbConnections.set({ application, state }, count);
    }
  }

  /** The text exposition format of every metric. */
  async render(): Promise<string> {
    return await this.registry.metrics();
  }

  /** The `Content-Type` of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

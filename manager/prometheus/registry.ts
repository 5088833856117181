/**
 * The manager's Prometheus metrics (served by `endpoint.ts` on
 * `metrics_bind`): a `MetricsRecorder` backed by prom-client for the hot
 * paths, and gauges and counters read at scrape time from what the manager
 * already keeps (live workers, the prefetch buffer, task counters, its
 * state, its WebSocket). Loaded only when `metrics_bind` is set. Every
 * metric is listed in the README ("Metrics").
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { registerProcessMetrics } from "../../shared/metrics/process.ts";
import { NODE_MANAGER_STATES, type NodeManagerState } from "../../shared/wire/managers.ts";
import type { HookKind, HookOutcome } from "../hooks/run_hook.ts";
import type { TaskCounters } from "../metrics.ts";
import type { MetricsRecorder, SpawnCause } from "./recorder.ts";

/** Buckets (seconds) of IPC fetches and report round trips: 0.1 ms to 10 s. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** Buckets (seconds) of hook runs: 100 ms to 1 h. */
const HOOK_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** Buckets of reports per `ReportTasks` message. */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** What the metrics read at scrape time. */
export interface ManagerMetricsSources {
  /** Managed workers alive now. */
  activeWorkers: () => number;
  /** Tasks in the prefetch buffer (claimed, not yet handed to a worker) or waiting to be retried. */
  bufferedTasks: () => number;
  /** Tasks finished through this manager. */
  counters: TaskCounters;
  /** The manager's state. */
  state: () => NodeManagerState;
  /** Whether the WebSocket to the coordinator is open. */
  connected: () => boolean;
}

/** The manager's registry and recorder. */
export class ManagerPrometheus implements MetricsRecorder {
  /** The registry `/metrics` renders. */
  readonly registry: Registry = new Registry();
  readonly #ipcFetch: Histogram<"result">;
  readonly #spawns: Counter<"cause">;
  readonly #hooks: Histogram<"hook" | "outcome">;
  readonly #reconnects: Counter;
  readonly #batchDuration: Histogram;
  readonly #batchSize: Histogram;

  constructor(sources: ManagerMetricsSources) {
    const registers = [this.registry];
    new Gauge({
      name: "mitosis_manager_workers_alive",
      help: "Managed worker processes alive now.",
      registers,
      collect() {
        this.set(sources.activeWorkers());
      },
    });
    new Gauge({
      name: "mitosis_manager_prefetch_buffered_tasks",
      help: "Tasks claimed from the coordinator and not yet handed to a worker (retries included).",
      registers,
      collect() {
        this.set(sources.bufferedTasks());
      },
    });
    new Counter({
      name: "mitosis_manager_tasks_completed_total",
      help: "Tasks committed through this manager with exit status 0 and no message.",
      registers,
      collect() {
        this.reset();
        this.inc(sources.counters.completed);
      },
    });
    new Counter({
      name: "mitosis_manager_tasks_failed_total",
      help: "Tasks committed through this manager otherwise (non-zero exit, timeout, cancellation), or aborted here.",
      registers,
      collect() {
        this.reset();
        this.inc(sources.counters.failed);
      },
    });
    new Gauge({
      name: "mitosis_manager_state",
      help: "1 for the manager's current state, 0 for the others.",
      labelNames: ["state"],
      registers,
      collect() {
        const current = sources.state();
        for (const state of NODE_MANAGER_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    new Gauge({
      name: "mitosis_manager_ws_connected",
      help: "1 while the WebSocket to the coordinator is open.",
      registers,
      collect() {
        this.set(sources.connected() ? 1 : 0);
      },
    });
    this.#reconnects = new Counter({
      name: "mitosis_manager_ws_reconnects_total",
      help: "Times the WebSocket to the coordinator was opened again after it was lost.",
      registers,
    });
    this.#spawns = new Counter({
      name: "mitosis_manager_worker_spawns_total",
      help: "Managed workers started (cause start) or respawned, by the cause of the exit replaced " +
        "(fatal-signal, killed, exit-code, requested, clean-exit); delayed respawns count when scheduled.",
      labelNames: ["cause"],
      registers,
    });
    this.#ipcFetch = new Histogram({
      name: "mitosis_manager_ipc_fetch_duration_seconds",
      help: "Time from a managed worker's FetchTask to the manager's reply over IPC (result: task or none; " +
        "an empty buffer makes a fetch wait up to 1 s), in seconds.",
      labelNames: ["result"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#hooks = new Histogram({
      name: "mitosis_manager_hook_duration_seconds",
      help: "Suite hook run time (resource downloads included) by hook and outcome, in seconds.",
      labelNames: ["hook", "outcome"],
      buckets: HOOK_BUCKETS,
      registers,
    });
    this.#batchDuration = new Histogram({
      name: "mitosis_manager_report_batch_duration_seconds",
      help: "Time from sending a ReportTasks message to the coordinator's answer, in seconds.",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#batchSize = new Histogram({
      name: "mitosis_manager_report_batch_size",
      help: "Reports per ReportTasks message answered.",
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    registerProcessMetrics(this.registry);
  }

  ipcFetch(seconds: number, handedTask: boolean): void {
    this.#ipcFetch.observe({ result: handedTask ? "task" : "none" }, seconds);
  }

  workerSpawned(cause: SpawnCause): void {
    this.#spawns.inc({ cause });
  }

  hookRan(hook: HookKind, outcome: HookOutcome["kind"], seconds: number): void {
    this.#hooks.observe({ hook, outcome }, seconds);
  }

  reconnected(): void {
    this.#reconnects.inc();
  }

  reportBatch(size: number, seconds: number): void {
    this.#batchDuration.observe(seconds);
    this.#batchSize.observe(size);
  }
}

/**
 * What the manager's hot paths record for its Prometheus metrics. Modules
 * take a `MetricsRecorder` (default `NO_METRICS`, which does nothing), so a
 * manager without `metrics_bind` never loads the metrics library; with it,
 * `registry.ts` supplies one backed by prom-client. Each call is one
 * counter increment or histogram observation.
 */
import type { HookKind, HookOutcome } from "../hooks/run_hook.ts";
import type { ExitCause } from "../pool/exit_classification.ts";

/** Why a managed worker process was started: a slot's first start, or the cause of the exit it replaces. */
export type SpawnCause = "start" | ExitCause;

/** The manager's recording calls; see the module comment. */
export interface MetricsRecorder {
  /** A worker's `FetchTask` over IPC was answered after `seconds`, with a task or without. */
  ipcFetch(seconds: number, handedTask: boolean): void;
  /** A managed worker was started, or its respawn scheduled. */
  workerSpawned(cause: SpawnCause): void;
  /** A suite hook ran for `seconds` and ended with `outcome`. */
  hookRan(hook: HookKind, outcome: HookOutcome["kind"], seconds: number): void;
  /** The WebSocket to the coordinator was opened again after it was lost. */
  reconnected(): void;
  /** A `ReportTasks` message of `size` reports was answered after `seconds`. */
  reportBatch(size: number, seconds: number): void;
}

/** The recorder of a manager without metrics: every call does nothing. */
export const NO_METRICS: MetricsRecorder = {
  ipcFetch: () => {},
  workerSpawned: () => {},
  hookRan: () => {},
  reconnected: () => {},
  reportBatch: () => {},
};

/** Seconds since `startedAt` (a `performance.now()` reading). */
export function secondsSince(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}

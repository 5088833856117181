/**
 * What the manager reports with each heartbeat: worker and task counts of
 * this process, its uptime, the host's load and memory in use, and the IPC
 * transport its workers use.
 */
import type { ManagerMetrics } from "../shared/wire/managers.ts";

/** Tasks finished through this manager since it started. */
export class TaskCounters {
  /** Committed with exit status 0. */
  completed = 0;
  /** Committed with a non-zero exit status, or aborted on this manager. */
  failed = 0;
}

/** Inputs of `collectMetrics`. */
export interface MetricsSource {
  counters: TaskCounters;
  /** Managed workers alive now. */
  activeWorkers: number;
  /** `performance.now()` at start. */
  startedAt: number;
  /** The IPC transport in use. */
  ipcTransport?: string;
}

const MIB = 1024 * 1024;

/** One decimal place. */
const round1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * A heartbeat's metrics. `cpu_usage_percent` is the 1-minute load average
 * over the CPU count (capped at 100); `memory_usage_mb` the host's memory in
 * use (total − available), in MiB.
 */
export function collectMetrics(source: MetricsSource): ManagerMetrics {
  const cpus = Math.max(1, navigator.hardwareConcurrency || 1);
  let cpu = 0;
  let memory = 0;
  try {
    cpu = Math.min(100, (Deno.loadavg()[0] / cpus) * 100);
    const info = Deno.systemMemoryInfo();
    memory = Math.max(0, info.total - info.available) / MIB;
  } catch {
    // Not available on this platform: report zeros rather than fail the heartbeat.
  }
  return {
    active_workers: source.activeWorkers,
    tasks_completed: source.counters.completed,
    tasks_failed: source.counters.failed,
    uptime_seconds: Math.round((performance.now() - source.startedAt) / 1000),
    cpu_usage_percent: round1(cpu),
    memory_usage_mb: round1(memory),
    ...(source.ipcTransport === undefined ? {} : { ipc_transport: source.ipcTransport }),
  };
}

/** The manager process's resident set size in MiB (logged with heartbeats). */
export function processRssMb(): number {
  return round1(Deno.memoryUsage().rss / MIB);
}

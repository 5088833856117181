/**
 * Process figures for a Prometheus registry, computed at scrape time:
 * resident memory, V8 heap, CPU time, open file descriptors and start time.
 *
 * prom-client's `collectDefaultMetrics` mostly works under Deno, but it
 * starts an event-loop delay monitor and a GC observer per registry that are
 * never stopped (the tests run many coordinators in one process) and reports
 * `nodejs_*` series (handles, requests) that Deno leaves empty. These few
 * gauges need no timer and cost a scrape a few microseconds.
 */
import process from "node:process";
import { Counter, Gauge, type Registry } from "prom-client";

/** `/proc/self/fd` entries, or null where there is no `/proc`. */
function openFileDescriptors(): number | null {
  try {
    let count = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) count++;
    return count - 1; // the directory handle reading it
  } catch {
    return null;
  }
}

/**
 * Registers `process_resident_memory_bytes`, `process_cpu_seconds_total`,
 * `process_open_fds` (where `/proc` exists), `process_start_time_seconds`, `deno_heap_used_bytes`,
 * `deno_heap_total_bytes` and `deno_external_memory_bytes` on `registry`.
 */
export function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  const startSeconds = Math.round((Date.now() - performance.now()) / 1000);
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  new Gauge({
    name: "deno_heap_used_bytes",
    help: "V8 heap in use, in bytes.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: "deno_heap_total_bytes",
    help: "V8 heap reserved, in bytes.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapTotal);
    },
  });
  new Gauge({
    name: "deno_external_memory_bytes",
    help: "Memory of objects outside the V8 heap bound to JavaScript objects (buffers), in bytes.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().external);
    },
  });
  new Counter({
    name: "process_cpu_seconds_total",
    help: "User and system CPU time spent, in seconds.",
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  if (openFileDescriptors() !== null) {
    new Gauge({
      name: "process_open_fds",
      help: "Open file descriptors.",
      registers,
      collect() {
        this.set(openFileDescriptors() ?? 0);
      },
    });
  }
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch, in seconds.",
    registers,
    collect() {
      this.set(startSeconds);
    },
  });
}

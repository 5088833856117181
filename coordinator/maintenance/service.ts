/**
 * A periodic background service in the style of River's maintenance
 * services: `runOnce` on a ticker, errors logged with context and the loop
 * going on, a clean `stop()` that waits for the current run. Every
 * coordinator runs them; each run's SQL is safe to execute concurrently.
 * A run failing because the database is unreachable is reported to the
 * availability tracker (which logs the outage once), not logged each time.
 */
import type { Logger } from "../../shared/log/logger.ts";
import type { DatabaseAvailability } from "../db/availability.ts";

/** A started service. */
export interface Service {
  readonly name: string;
  /** Stops the ticker and waits for a run in progress. */
  stop(): Promise<void>;
  /** Runs once now (tests use this instead of sleeping). */
  runNow(): Promise<void>;
}

/** Starts `runOnce` every `intervalMs` (with ±10 % jitter so coordinators spread out). */
export function startService(
  name: string,
  intervalMs: number,
  runOnce: () => Promise<void>,
  log: Logger,
  database?: DatabaseAvailability,
): Service {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const run = () => {
    running = runOnce().catch((error) => {
      if (database?.failed(error, { service: name })) return;
      log.error("maintenance run failed", { service: name, error });
    });
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    const jitter = intervalMs * (0.9 + Math.random() * 0.2);
    timer = setTimeout(async () => {
      await run();
      schedule();
    }, jitter);
  };
  schedule();
  log.debug("maintenance service started", { service: name, interval_ms: intervalMs });
  return {
    name,
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
    runNow: () => run(),
  };
}

/** A maintenance interval derived from a timeout: a quarter of it, within [100 ms, 30 s]. */
export function intervalFor(timeoutMs: number): number {
  return Math.min(30_000, Math.max(100, Math.floor(timeoutMs / 4)));
}

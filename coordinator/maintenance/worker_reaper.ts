/**
 * Removes independent workers silent for longer than `heartbeat_timeout`
 * and returns their tasks to Ready, in batches; also rescues tasks left
 * assigned to a worker row that no longer exists. Silence is counted from
 * `clockStart` at the earliest (this coordinator's start, or the end of its
 * last database outage), so workers get a full timeout to reach a restarted
 * coordinator, or to heartbeat again once the database is back. While the
 * database is out (`clockStart` gives null) no worker is reaped, and stale
 * workers found by a query that took longer than `stallGuardMs` (it waited
 * through a stalled database) are left for the next pass.
 */
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { backToReady, isHeld } from "../scheduler/held_tasks.ts";
import { removeWorkers, staleWorkerIds } from "../workers/store.ts";
import { intervalFor, type Service, startService } from "./service.ts";
import type { DatabaseAvailability } from "../db/availability.ts";
import { stallGuardMs } from "./stall_guard.ts";

const BATCH = 500;

/** One pass: reap stale workers (batch after batch) and rescue orphaned tasks. */
export async function reapWorkersOnce(sql: Sql, timeoutMs: number, log: Logger, clockStart: Date): Promise<number> {
  let total = 0;
  const guardMs = stallGuardMs(timeoutMs);
  for (;;) {
    const started = performance.now();
    const ids = await staleWorkerIds(sql, timeoutMs, BATCH, clockStart);
    if (ids.length === 0) break;
    const tookMs = performance.now() - started;
    if (tookMs > guardMs) {
      log.info("worker reaper pass discarded: the database answered late", { took_ms: Math.round(tookMs) });
      return total;
    }
    const removed = await removeWorkers(sql, ids);
    for (const uuid of removed) {
      log.warn("worker heartbeat timed out; removed, its task back to Ready", { worker: uuid });
    }
    total += removed.length;
    if (ids.length < BATCH) break;
  }
  const rescued = await sql`
    UPDATE active_tasks t SET ${backToReady(sql)}
    WHERE t.assigned_worker IS NOT NULL AND t.task_suite_id IS NULL AND ${isHeld(sql)}
      AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.id = t.assigned_worker)`;
  if (rescued.count > 0) log.warn("tasks of vanished workers returned to Ready", { count: rescued.count });
  return total;
}

/** Starts the reaper service; `clockStart` is read at each pass (null: skip it). */
export function startWorkerReaper(
  sql: Sql,
  timeoutMs: number,
  log: Logger,
  clockStart: () => Date | null,
  database?: DatabaseAvailability,
): Service {
  return startService(
    "worker-reaper",
    intervalFor(timeoutMs),
    async () => {
      const start = clockStart();
      if (start !== null) await reapWorkersOnce(sql, timeoutMs, log, start);
    },
    log,
    database,
  );
}

/**
 * Node managers silent for longer than `manager_heartbeat_timeout` go
 * Offline (SPEC §5.4): their suite assignment is released and every task
 * they hold (running or prefetched) goes back to Ready, one statement per
 * batch of managers. Stale rows are locked
 * with `SKIP LOCKED`, so several coordinators can run the reaper at once.
 * Each pass also rescues tasks still held by a manager that is Offline or
 * gone (a claim that raced with the reaper). After a pass that freed work,
 * `onReleased` kicks suite assignment so other managers take over.
 * Silence is counted from `clockStart` at the earliest (this coordinator's
 * start, or the end of its last database outage), so managers get a full
 * timeout to reach a restarted coordinator, or to heartbeat again once the
 * database is back. While the database is out (`clockStart` gives null) no
 * manager is reaped, and a batch whose statement took longer than
 * `stallGuardMs` (it waited through a stalled database) is rolled back.
 */
import type { Sql, Tx } from "../db/connect.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { backToReady, isHeld } from "../scheduler/held_tasks.ts";
import { NodeManagerStateCode } from "../../shared/wire/managers.ts";
import { intervalFor, type Service, startService } from "./service.ts";
import type { DatabaseAvailability } from "../db/availability.ts";
import { StalledDecisionError, stallGuardMs } from "./stall_guard.ts";

const BATCH = 500;

/** A manager that went Offline. */
export interface ReapedManager {
  id: number;
  uuid: string;
  /** The suite it was assigned to, if any. */
  suite_uuid: string | null;
  /** How many of its tasks went back to Ready. */
  returned_tasks: number;
}

/**
 * Takes one batch of silent managers Offline, releasing their work, in one
 * statement; rolled back with `StalledDecisionError` when it took longer
 * than `stallGuardMs(timeoutMs)`.
 */
export async function reapManagerBatch(
  sql: Sql,
  timeoutMs: number,
  limit: number,
  clockStart: Date,
): Promise<ReapedManager[]> {
  const guardMs = stallGuardMs(timeoutMs);
  const started = performance.now();
  return await sql.begin(async (tx) => {
    const reaped = await reapStatement(tx, timeoutMs, limit, clockStart);
    const tookMs = performance.now() - started;
    if (tookMs > guardMs) throw new StalledDecisionError(tookMs, guardMs);
    return reaped;
  });
}

function reapStatement(
  sql: Sql | Tx,
  timeoutMs: number,
  limit: number,
  clockStart: Date,
): Promise<ReapedManager[]> {
  return sql<ReapedManager[]>`
    WITH stale AS (
      SELECT id, assigned_task_suite_id FROM node_managers
      WHERE state <> ${NodeManagerStateCode.Offline}
        AND GREATEST(last_heartbeat, ${clockStart}::timestamptz) < now() - ${timeoutMs} * interval '1 millisecond'
      ORDER BY last_heartbeat
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), offline AS (
      UPDATE node_managers m SET state = ${NodeManagerStateCode.Offline}, assigned_task_suite_id = NULL,
        lease_expires_at = NULL, updated_at = now()
      FROM stale WHERE m.id = stale.id
      RETURNING m.id, m.uuid, stale.assigned_task_suite_id
    ), returned AS (
      UPDATE active_tasks t SET ${backToReady(sql)}
      FROM stale WHERE t.assigned_manager = stale.id AND ${isHeld(sql)}
      RETURNING stale.id AS manager_id
    )
    SELECT o.id, o.uuid, s.uuid AS suite_uuid,
      (SELECT count(*)::int FROM returned r WHERE r.manager_id = o.id) AS returned_tasks
    FROM offline o LEFT JOIN task_suites s ON s.id = o.assigned_task_suite_id`;
}

/** Returns to Ready the tasks held by managers that are Offline or no longer exist; returns how many. */
export async function rescueOrphanedManagerTasks(sql: Sql): Promise<number> {
  const result = await sql`
    UPDATE active_tasks t SET ${backToReady(sql)}
    WHERE t.assigned_manager IS NOT NULL AND ${isHeld(sql)}
      AND NOT EXISTS (
        SELECT 1 FROM node_managers m WHERE m.id = t.assigned_manager AND m.state <> ${NodeManagerStateCode.Offline})`;
  return result.count;
}

/** What one reaper pass did. */
export interface ReaperPass {
  /** Managers taken Offline. */
  reaped: ReapedManager[];
  /** Orphaned tasks returned to Ready. */
  rescued: number;
}

/** One pass: every batch of silent managers, then the orphan rescue. */
export async function reapManagersOnce(
  sql: Sql,
  timeoutMs: number,
  log: Logger,
  clockStart: Date,
): Promise<ReaperPass> {
  const reaped: ReapedManager[] = [];
  for (;;) {
    let batch: ReapedManager[];
    try {
      batch = await reapManagerBatch(sql, timeoutMs, BATCH, clockStart);
    } catch (error) {
      if (!(error instanceof StalledDecisionError)) throw error;
      log.info("manager reaper pass discarded: the database answered late", { took_ms: Math.round(error.tookMs) });
      return { reaped, rescued: 0 };
    }
    for (const m of batch) {
      log.warn("manager heartbeat timed out; Offline, suite released, its tasks back to Ready", {
        manager: m.uuid,
        suite: m.suite_uuid,
        returned_tasks: m.returned_tasks,
      });
    }
    reaped.push(...batch);
    if (batch.length < BATCH) break;
  }
  const rescued = await rescueOrphanedManagerTasks(sql);
  if (rescued > 0) log.warn("tasks of offline or vanished managers returned to Ready", { count: rescued });
  return { reaped, rescued };
}

/**
 * Starts the reaper service; `clockStart` is read at each pass (null: skip
 * it), and `onReleased` runs after a pass that released suites or tasks.
 */
export function startManagerReaper(
  sql: Sql,
  timeoutMs: number,
  log: Logger,
  clockStart: () => Date | null,
  onReleased: () => void,
  database?: DatabaseAvailability,
): Service {
  return startService(
    "manager-reaper",
    intervalFor(timeoutMs),
    async () => {
      const start = clockStart();
      if (start === null) return;
      const pass = await reapManagersOnce(sql, timeoutMs, log, start);
      if (pass.reaped.length > 0 || pass.rescued > 0) onReleased();
    },
    log,
    database,
  );
}

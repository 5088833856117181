/**
 * Failure accounting for suite tasks on node managers (SPEC §5.5):
 * `ReportFailure` records a crash of the worker running a task (per task and
 * manager, in `task_execution_failures`); `AbortTask` excludes the task from
 * that manager for good, hands it back to Ready for the others, and — when
 * every manager eligible for the suite (view `suite_eligible_managers`) has
 * aborted it — finalises it: archived as Cancelled with a `detail` naming the
 * reason, so the suite can complete.
 */
import { jsonb, type Sql } from "../db/connect.ts";
import type { Db } from "../db/connect.ts";
import { backToReady } from "./held_tasks.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";
import type { TaskResultSpec } from "../../shared/wire/tasks.ts";

/**
 * SQL condition on `active_tasks t`: the manager holds the task, or is
 * assigned the task's suite. Failure reports and aborts need it.
 */
function heldOrAssigned(db: Db, managerId: number) {
  return db`(t.assigned_manager = ${managerId} OR EXISTS (
    SELECT 1 FROM node_managers m WHERE m.id = ${managerId} AND m.assigned_task_suite_id = t.task_suite_id))`;
}

/** Error messages kept per task and manager (the most recent ones). */
export const KEPT_ERROR_MESSAGES = 20;

/** A failure as the manager reports it. */
export interface TaskFailure {
  task_uuid: string;
  /** The manager's own count of failures of this task. */
  failure_count: number;
  error_message: string;
  worker_local_id?: number | null;
}

/**
 * Records one failure of an active task on a manager: the stored count goes
 * up by one per report, and never below the count the manager reports (a
 * restarted manager counts from 1 again); the message is appended (the last
 * `KEPT_ERROR_MESSAGES` are kept). A report whose message is already stored
 * is the same crash sent again (the manager's link resends requests cut off
 * by a lost connection; each message names the worker's pid) and changes
 * nothing. Only the manager holding the task, or assigned its suite, may
 * report. Returns the stored count, or null when the task is not active or
 * the manager has no standing with it.
 */
export async function recordTaskFailure(db: Db, managerId: number, failure: TaskFailure): Promise<number | null> {
  const [row] = await db<{ failure_count: number }[]>`
    INSERT INTO task_execution_failures AS f (task_id, task_uuid, task_suite_id, node_manager_id, failure_count,
      last_failed_at, error_messages, worker_local_id)
    SELECT t.id, t.uuid, t.task_suite_id, ${managerId}, GREATEST(1, ${failure.failure_count}::int), now(),
      ARRAY[${failure.error_message}]::text[], ${failure.worker_local_id ?? null}::int
    FROM active_tasks t WHERE t.uuid = ${failure.task_uuid} AND ${heldOrAssigned(db, managerId)}
    ON CONFLICT (task_uuid, node_manager_id) DO UPDATE SET
      failure_count = CASE WHEN EXCLUDED.error_messages[1] = ANY(f.error_messages) THEN f.failure_count
        ELSE GREATEST(f.failure_count + 1, EXCLUDED.failure_count) END,
      last_failed_at = now(),
      error_messages = CASE WHEN EXCLUDED.error_messages[1] = ANY(f.error_messages) THEN f.error_messages
        ELSE (f.error_messages || EXCLUDED.error_messages)[
          GREATEST(1, cardinality(f.error_messages) + 2 - ${KEPT_ERROR_MESSAGES}):] END,
      worker_local_id = COALESCE(EXCLUDED.worker_local_id, f.worker_local_id)
    RETURNING f.failure_count`;
  return row?.failure_count ?? null;
}

/** What aborting a task did. */
export interface AbortOutcome {
  /** False when the task is not an active suite task (nothing changed). */
  found: boolean;
  /** True when the manager held the task and it went back to Ready. */
  returned: boolean;
  /** True when every eligible manager has now aborted it and it was archived as Cancelled. */
  finalised: boolean;
  /** The task's suite uuid. */
  suite_uuid: string | null;
}

/** The result stored for a task aborted on every eligible manager. */
export function abortedEverywhereResult(reason: string): TaskResultSpec {
  return { exit_status: 0, msg: null, detail: `aborted on every eligible manager: ${reason}` };
}

/**
 * Aborts a suite task on a manager (which must hold it or be assigned its
 * suite; otherwise nothing changes and `found` is false), in one transaction: marks the
 * (task, manager) failure row aborted (creating it if needed), returns the
 * task to Ready if this manager held it, then finalises it if no eligible
 * manager remains that has not aborted it and nobody else holds it.
 */
export async function abortTaskOnManager(
  sql: Sql,
  managerId: number,
  taskUuid: string,
  reason: string,
): Promise<AbortOutcome> {
  return await sql.begin(async (tx) => {
    const [task] = await tx<
      { id: number; task_suite_id: number; assigned_manager: number | null; suite_uuid: string }[]
    >`
      SELECT t.id, t.task_suite_id, t.assigned_manager, s.uuid AS suite_uuid
      FROM active_tasks t JOIN task_suites s ON s.id = t.task_suite_id
      WHERE t.uuid = ${taskUuid} AND ${heldOrAssigned(tx, managerId)}
      FOR UPDATE OF t`;
    if (!task) return { found: false, returned: false, finalised: false, suite_uuid: null };
    await tx`
      INSERT INTO task_execution_failures AS f (task_id, task_uuid, task_suite_id, node_manager_id, failure_count,
        last_failed_at, error_messages, aborted_at)
      VALUES (${task.id}, ${taskUuid}, ${task.task_suite_id}, ${managerId}, 0, now(),
        ARRAY[${`aborted: ${reason}`}]::text[], now())
      ON CONFLICT (task_uuid, node_manager_id) DO UPDATE SET
        aborted_at = COALESCE(f.aborted_at, now()),
        error_messages = (f.error_messages || EXCLUDED.error_messages)[
          GREATEST(1, cardinality(f.error_messages) + 2 - ${KEPT_ERROR_MESSAGES}):]`;
    const returned = task.assigned_manager === managerId &&
      (await tx`
        UPDATE active_tasks t SET ${backToReady(tx)} WHERE t.id = ${task.id}`).count > 0;
    const finalised = await tx`
      WITH moved AS (
        DELETE FROM active_tasks t
        WHERE t.id = ${task.id} AND t.state = ${TaskStateCode.Ready}
          AND NOT EXISTS (
            SELECT 1 FROM suite_eligible_managers e
            WHERE e.task_suite_id = t.task_suite_id AND NOT EXISTS (
              SELECT 1 FROM task_execution_failures f
              WHERE f.task_uuid = t.uuid AND f.node_manager_id = e.node_manager_id AND f.aborted_at IS NOT NULL))
        RETURNING t.*
      )
      INSERT INTO archived_tasks (id, creator_id, group_id, task_id, uuid, tags, labels, state, assigned_worker,
        timeout, priority, spec, result, upstream_task_uuid, downstream_task_uuid, task_suite_id, attempt, created_at,
        updated_at)
      SELECT id, creator_id, group_id, task_id, uuid, tags, labels, ${TaskStateCode.Cancelled}, NULL,
        timeout, priority, spec, ${jsonb(tx, abortedEverywhereResult(reason))}, upstream_task_uuid,
        downstream_task_uuid, task_suite_id, attempt, created_at, now()
      FROM moved`;
    return { found: true, returned, finalised: finalised.count > 0, suite_uuid: task.suite_uuid };
  });
}

/**
 * Set-based task reports: many `Finish`/`Cancel` and `Commit` reports, from
 * any mix of independent workers and node managers, applied with one
 * statement. Every item still checks, inside the statement, that its
 * reporter holds the task (`assigned_worker`, or `assigned_manager` and the
 * claim `attempt` when named) and that the task is held (claimed, not yet
 * committed); the items that match are changed, and the caller learns which
 * (by `idx`), so every other item is refused on its own.
 *
 * A batch must not name one task twice (the reporting pipeline never
 * does): each task is changed at most once per statement.
 *
 * The suite counters follow from the statement-level triggers on
 * `active_tasks`: one update per suite per batch, not per task.
 */
import type { Db } from "../db/connect.ts";
import { jsonb } from "../db/connect.ts";
import { type TaskResultSpec, TaskStateCode } from "../../shared/wire/tasks.ts";
import { HELD_TASK_STATES } from "../scheduler/held_tasks.ts";
import type { TaskHolder } from "./holder.ts";

/** Condition on `active_tasks t` joined to input `i`: i's reporter holds the task now. */
function heldByReporter(db: Db) {
  return db`t.id = i.task_id AND t.state = ANY(${HELD_TASK_STATES}::int[])
    AND CASE WHEN i.worker_id IS NOT NULL THEN t.assigned_worker = i.worker_id
      ELSE t.assigned_manager = i.manager_id AND (i.attempt IS NULL OR t.attempt = i.attempt) END`;
}

/** A `Finish` (or `Cancel`) report. */
export interface EndItem {
  kind: "end";
  holder: TaskHolder;
  taskId: number;
  cancelled: boolean;
}

/** A `Commit` report (also `Complete`: Finish and Commit in one). */
export interface CommitItem {
  kind: "commit";
  holder: TaskHolder;
  taskId: number;
  result: TaskResultSpec;
}

/** One report of a batch. */
export type ReportItem = EndItem | CommitItem;

/** An applied report: for a commit, the task's uuid and, for a worker's report, the worker's state now. */
export interface Applied {
  uuid: string | null;
  workerState: number | null;
}

/**
 * Applies a batch of reports in one statement (one round trip, one
 * transaction): each `Finish`/`Cancel` whose reporter holds the task makes it
 * Finished or Cancelled; each such `Commit` moves the task to
 * `archived_tasks` with its result and reporter (a Running task is archived
 * as Finished), turns its Pending downstream tasks Ready and frees a
 * reporting worker. Returns the applied reports by position in `items`.
 */
export async function applyReports(db: Db, items: readonly ReportItem[]): Promise<Map<number, Applied>> {
  if (items.length === 0) return new Map();
  const input = items.map((item, idx) => ({
    idx,
    commit: item.kind === "commit",
    task_id: item.taskId,
    worker_id: item.holder.kind === "worker" ? item.holder.id : null,
    manager_id: item.holder.kind === "manager" ? item.holder.id : null,
    attempt: item.holder.kind === "manager" ? item.holder.attempt ?? null : null,
    cancelled: item.kind === "end" && item.cancelled,
    result: item.kind === "commit" ? item.result : null,
    reporter: item.holder.uuid,
  }));
  const rows = await db<{ idx: number; uuid: string | null; worker_state: number | null }[]>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${jsonb(db, input)}) AS i(
        idx int, commit boolean, task_id bigint, worker_id int, manager_id int, attempt int, cancelled boolean,
        result jsonb, reporter uuid)
    ), ended AS (
      UPDATE active_tasks t
      SET state = CASE WHEN i.cancelled THEN ${TaskStateCode.Cancelled}::int ELSE ${TaskStateCode.Finished}::int END,
        updated_at = now()
      FROM input i
      WHERE NOT i.commit AND ${heldByReporter(db)}
      RETURNING i.idx
    ), moved AS (
      DELETE FROM active_tasks t
      USING input i
      WHERE i.commit AND ${heldByReporter(db)}
      RETURNING t.*, i.idx, i.result AS new_result, i.reporter, i.worker_id AS reporting_worker
    ), archived AS (
      INSERT INTO archived_tasks (id, creator_id, group_id, task_id, uuid, tags, labels, state, assigned_worker,
        timeout, priority, spec, result, upstream_task_uuid, downstream_task_uuid, task_suite_id, attempt, reporter_uuid,
        created_at, updated_at)
      SELECT id, creator_id, group_id, task_id, uuid, tags, labels,
        CASE WHEN state = ${TaskStateCode.Running} THEN ${TaskStateCode.Finished} ELSE state END,
        assigned_worker, timeout, priority, spec, new_result, upstream_task_uuid, downstream_task_uuid,
        task_suite_id, attempt, reporter, created_at, now()
      FROM moved
    ), released AS (
      -- A task's downstream task (there is at most one: Submit records it) by its uuid.
      UPDATE active_tasks a SET state = ${TaskStateCode.Ready}, updated_at = now()
      FROM moved m
      WHERE m.downstream_task_uuid IS NOT NULL AND a.uuid = m.downstream_task_uuid
        AND a.upstream_task_uuid = m.uuid AND a.state = ${TaskStateCode.Pending}
    ), freed AS (
      UPDATE workers w SET assigned_task_id = NULL, updated_at = now()
      FROM moved m WHERE w.id = m.reporting_worker
      RETURNING w.id, w.state
    )
    SELECT m.idx, m.uuid, f.state AS worker_state FROM moved m LEFT JOIN freed f ON f.id = m.reporting_worker
    UNION ALL
    SELECT e.idx, NULL, NULL FROM ended e`;
  return new Map(rows.map((r) => [r.idx, { uuid: r.uuid, workerState: r.worker_state }]));
}

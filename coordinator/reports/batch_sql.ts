/**
 * Set-based task reports: many `Finish`/`Cancel` and `Commit` reports, from
 * any mix of independent workers and node managers, applied with one
 * statement each. Every item still checks, inside the statement, that its
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

/** One report of a batch, with its position (`idx`) for the answer. */
interface ItemRow {
  idx: number;
  task_id: number;
  worker_id: number | null;
  manager_id: number | null;
  attempt: number | null;
}

/** A `Finish` (or `Cancel`) report. */
export interface EndItem {
  holder: TaskHolder;
  taskId: number;
  cancelled: boolean;
}

/** A `Commit` report (also `Complete`: Finish and Commit in one). */
export interface CommitItem {
  holder: TaskHolder;
  taskId: number;
  result: TaskResultSpec;
}

/** A committed task: its uuid and, for a worker's report, the worker's state now. */
export interface Committed {
  uuid: string;
  workerState: number | null;
}

function itemRow(idx: number, holder: TaskHolder, taskId: number): ItemRow {
  return {
    idx,
    task_id: taskId,
    worker_id: holder.kind === "worker" ? holder.id : null,
    manager_id: holder.kind === "manager" ? holder.id : null,
    attempt: holder.kind === "manager" ? holder.attempt ?? null : null,
  };
}

/** Condition on `active_tasks t` joined to input `i`: i's reporter holds the task now. */
function heldByReporter(db: Db) {
  return db`t.id = i.task_id AND t.state = ANY(${HELD_TASK_STATES}::int[])
    AND CASE WHEN i.worker_id IS NOT NULL THEN t.assigned_worker = i.worker_id
      ELSE t.assigned_manager = i.manager_id AND (i.attempt IS NULL OR t.attempt = i.attempt) END`;
}

/**
 * Applies `Finish`/`Cancel` reports: each held task becomes Finished or
 * Cancelled. Returns the positions (in `items`) of the reports applied.
 */
export async function applyEnds(db: Db, items: readonly EndItem[]): Promise<Set<number>> {
  if (items.length === 0) return new Set();
  const input = items.map((item, idx) => ({ ...itemRow(idx, item.holder, item.taskId), cancelled: item.cancelled }));
  const rows = await db<{ idx: number }[]>`
    UPDATE active_tasks t
    SET state = CASE WHEN i.cancelled THEN ${TaskStateCode.Cancelled}::int ELSE ${TaskStateCode.Finished}::int END,
      updated_at = now()
    FROM jsonb_to_recordset(${jsonb(db, input)}) AS i(
      idx int, task_id bigint, worker_id int, manager_id int, attempt int, cancelled boolean)
    WHERE ${heldByReporter(db)}
    RETURNING i.idx`;
  return new Set(rows.map((r) => r.idx));
}

/**
 * Applies `Commit` reports in one statement: each held task moves to
 * `archived_tasks` with its result and reporter (a Running task is archived
 * as Finished), its Pending downstream tasks turn Ready, and a reporting
 * worker is freed. Returns the committed tasks by position in `items`.
 */
export async function applyCommits(db: Db, items: readonly CommitItem[]): Promise<Map<number, Committed>> {
  if (items.length === 0) return new Map();
  const input = items.map((item, idx) => ({
    ...itemRow(idx, item.holder, item.taskId),
    result: item.result,
    reporter: item.holder.uuid,
  }));
  const rows = await db<{ idx: number; uuid: string; worker_state: number | null }[]>`
    WITH moved AS (
      DELETE FROM active_tasks t
      USING jsonb_to_recordset(${jsonb(db, input)}) AS i(
        idx int, task_id bigint, worker_id int, manager_id int, attempt int, result jsonb, reporter uuid)
      WHERE ${heldByReporter(db)}
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
      UPDATE active_tasks a SET state = ${TaskStateCode.Ready}, updated_at = now()
      WHERE a.upstream_task_uuid IN (SELECT uuid FROM moved) AND a.state = ${TaskStateCode.Pending}
    ), freed AS (
      UPDATE workers w SET assigned_task_id = NULL, updated_at = now()
      FROM moved m WHERE w.id = m.reporting_worker
      RETURNING w.id, w.state
    )
    SELECT m.idx, m.uuid, f.state AS worker_state FROM moved m LEFT JOIN freed f ON f.id = m.reporting_worker`;
  return new Map(rows.map((r) => [r.idx, { uuid: r.uuid, workerState: r.worker_state }]));
}

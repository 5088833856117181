/**
 * Tasks held by a runner: claimed and not yet committed (Running, or Finished
 * or Cancelled with the Commit still to come). Every path that hands held
 * tasks back to Ready (a runner's reclaim, release, restart, shutdown or
 * death) uses these definitions, so "held" and "released" mean one thing.
 */
import type { Db } from "../db/connect.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";

/** Task states of held tasks. */
export const HELD_TASK_STATES: readonly number[] = [
  TaskStateCode.Running,
  TaskStateCode.Finished,
  TaskStateCode.Cancelled,
];

/**
 * SET list of an `UPDATE active_tasks t` that hands a held task back to
 * Ready, unassigned. The attempt is left alone: the next claim increments
 * it, so reports of the earlier holder are refused from then on (and before
 * that, the task has no holder to report as).
 */
export function backToReady(db: Db) {
  return db`state = ${TaskStateCode.Ready}, assigned_manager = NULL, assigned_worker = NULL, updated_at = now()`;
}

/** Condition on `active_tasks t`: the task is held (claimed, not yet committed). */
export function isHeld(db: Db) {
  return db`t.state IN (${TaskStateCode.Running}, ${TaskStateCode.Finished}, ${TaskStateCode.Cancelled})`;
}

/**
 * After a (re)connection, returns to Ready every task recorded as held by
 * the manager that it did not declare (`kept`): the prefetched, running and
 * reported tasks a dead or restarted process held. Returns their uuids.
 */
export async function releaseUndeclaredManagerTasks(db: Db, managerId: number, kept: string[]): Promise<string[]> {
  const rows = await db<{ uuid: string }[]>`
    UPDATE active_tasks t SET ${backToReady(db)}
    WHERE t.assigned_manager = ${managerId} AND ${isHeld(db)} AND NOT (t.uuid = ANY(${kept}::uuid[]))
    RETURNING t.uuid`;
  return rows.map((r) => r.uuid);
}

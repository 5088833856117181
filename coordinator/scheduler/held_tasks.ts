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
 * After a (re)connection, returns to Ready every task recorded as held by
 * the manager that it did not declare (`kept`): the prefetched, running and
 * reported tasks a dead or restarted process held. Returns their uuids.
 */
export async function releaseUndeclaredManagerTasks(db: Db, managerId: number, kept: string[]): Promise<string[]> {
  const rows = await db<{ uuid: string }[]>`
    UPDATE active_tasks SET state = ${TaskStateCode.Ready}, assigned_manager = NULL, updated_at = now()
    WHERE assigned_manager = ${managerId} AND state = ANY(${HELD_TASK_STATES}::int[])
      AND NOT (uuid = ANY(${kept}::uuid[]))
    RETURNING uuid`;
  return rows.map((r) => r.uuid);
}

/**
 * A node manager's progress on its assigned suite, as it reports it over the
 * WebSocket: `SuiteStarted` (preparation done, workers running),
 * `SuitePrepareFailed` (the preparation hook failed: the suite is not offered
 * to this manager again until it reopens) and `SuiteCompleted` (the manager is
 * done with the suite and Idle again).
 */
import type { Db } from "../db/connect.ts";
import { NodeManagerStateCode } from "../../shared/wire/managers.ts";
import { backToReady, isHeld } from "../scheduler/held_tasks.ts";

/**
 * Marks the manager Executing if `suiteUuid` is its current assignment;
 * returns false (nothing changed) when it is not.
 */
export async function markSuiteStarted(db: Db, managerId: number, suiteUuid: string): Promise<boolean> {
  const result = await db`
    UPDATE node_managers m SET state = ${NodeManagerStateCode.Executing}, last_heartbeat = now(), updated_at = now()
    FROM task_suites s
    WHERE m.id = ${managerId} AND s.uuid = ${suiteUuid} AND m.assigned_task_suite_id = s.id`;
  return result.count > 0;
}

/**
 * Whether a manager has any standing with a suite: it is assigned the suite,
 * is linked to it (UserSpecified or TagMatched), or holds one of its tasks.
 * Messages about a suite from any other manager are refused.
 */
export async function managerRelatedToSuite(db: Db, managerId: number, suiteUuid: string): Promise<boolean> {
  const [row] = await db<{ ok: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM node_managers m WHERE m.id = ${managerId} AND m.assigned_task_suite_id = s.id)
      OR EXISTS (SELECT 1 FROM task_suite_managers l WHERE l.task_suite_id = s.id AND l.node_manager_id = ${managerId})
      OR EXISTS (SELECT 1 FROM active_tasks t WHERE t.task_suite_id = s.id AND t.assigned_manager = ${managerId})
      AS ok
    FROM task_suites s WHERE s.uuid = ${suiteUuid}`;
  return row?.ok === true;
}

/**
 * Whether the manager still serves the suite's group (view
 * `manager_served_groups`): false once the group's role on it is gone or its
 * registering user left the group or was locked, which ends its assignment.
 */
export async function managerServesSuite(db: Db, managerId: number, suiteUuid: string): Promise<boolean> {
  const [row] = await db<{ ok: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM manager_served_groups gm WHERE gm.node_manager_id = ${managerId} AND gm.group_id = s.group_id)
      AS ok
    FROM task_suites s WHERE s.uuid = ${suiteUuid}`;
  return row?.ok === true;
}

/** What releasing a manager from a suite changed. */
export interface SuiteRelease {
  /** False when the suite does not exist. */
  suiteExists: boolean;
  /** True when the suite was the manager's assignment and has been released. */
  released: boolean;
  /** True when the manager's link to the suite was marked as failed to prepare. */
  markedFailed: boolean;
  /** Uuids of the tasks of the suite it still held, now Ready again. */
  returnedTasks: string[];
}

/**
 * Releases the manager from a suite in one statement: its assignment (only
 * if it is this suite), its state to Idle (unless it is assigned to another
 * suite), and every task of the suite it still holds back to Ready. With
 * `prepareError`, the (suite, manager) link also records the preparation
 * failure, which keeps the suite from this manager until the suite reopens
 * (trigger `task_suites_reopen`, migration 0004). A manager without a link
 * (it was removed from the suite meanwhile) is not eligible anyway, so no
 * link is created.
 */
export async function releaseManagerSuite(
  db: Db,
  managerId: number,
  suiteUuid: string,
  prepareError: string | null,
): Promise<SuiteRelease> {
  const [row] = await db<{ suite_exists: boolean; released: boolean; marked: boolean; returned: string[] }[]>`
    WITH suite AS (
      SELECT id FROM task_suites WHERE uuid = ${suiteUuid}
    ), before AS (
      SELECT m.id, m.assigned_task_suite_id AS assigned FROM node_managers m WHERE m.id = ${managerId} FOR UPDATE
    ), marked AS (
      UPDATE task_suite_managers SET prepare_failed_at = now(), prepare_error = ${prepareError}
      WHERE ${prepareError !== null} AND task_suite_id = (SELECT id FROM suite) AND node_manager_id = ${managerId}
      RETURNING 1
    ), released AS (
      UPDATE node_managers m SET assigned_task_suite_id = NULL, lease_expires_at = NULL,
        state = ${NodeManagerStateCode.Idle}, updated_at = now()
      FROM before, suite
      WHERE m.id = before.id AND before.assigned = suite.id
      RETURNING m.id
    ), idled AS (
      UPDATE node_managers m SET state = ${NodeManagerStateCode.Idle}, updated_at = now()
      FROM before
      WHERE m.id = before.id AND before.assigned IS NULL
    ), returned AS (
      UPDATE active_tasks t SET ${backToReady(db)}
      WHERE t.assigned_manager = ${managerId} AND t.task_suite_id = (SELECT id FROM suite) AND ${isHeld(db)}
      RETURNING t.uuid
    )
    SELECT EXISTS (SELECT 1 FROM suite) AS suite_exists,
      EXISTS (SELECT 1 FROM released) AS released,
      EXISTS (SELECT 1 FROM marked) AS marked,
      ARRAY(SELECT uuid FROM returned)::text[] AS returned`;
  return {
    suiteExists: row.suite_exists,
    released: row.released,
    markedFailed: row.marked,
    returnedTasks: row.returned,
  };
}

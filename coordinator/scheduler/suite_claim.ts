/**
 * Dispatch to node managers: a manager claims Ready tasks of the suite it is
 * assigned to, up to `max_count` in one call of the SQL function
 * `claim_suite_tasks` (migration 0007; a function so that its plans are
 * kept per connection instead of planning the claim on every call):
 * `FOR UPDATE SKIP LOCKED` over the `active_tasks_ready_by_suite` index, in
 * dispatch order (higher priority first, then older), skipping tasks it has
 * aborted. A claim marks
 * the tasks Running, held by the manager, with `attempt` incremented, so a
 * report naming an older attempt is refused. A manager that no longer serves
 * the suite's group (view `manager_served_groups`) claims nothing, as if the
 * suite were not assigned to it. Several managers may claim from
 * one suite at once; every task goes to exactly one of them.
 *
 * Also: handing tasks back (`ReturnTasks`).
 */
import type { Db } from "../db/connect.ts";
import type { TaskSpec } from "../../shared/wire/tasks.ts";
import { RUNNABLE_SUITE_STATES } from "../suites/states.ts";
import { backToReady, isHeld } from "./held_tasks.ts";

/** A task claimed by a manager. */
export interface ClaimedSuiteTask {
  id: number;
  uuid: string;
  /** Timeout in seconds. */
  timeout: number;
  spec: TaskSpec;
  upstream_task_uuid: string | null;
  attempt: number;
}

/** What a claim found. */
export interface SuiteClaim {
  /** The manager's assigned suite (matching the one asked for), or null when it has none. */
  suite_uuid: string | null;
  /** That suite's state code, or null. */
  suite_state: number | null;
  /** The claimed tasks, in dispatch order (possibly none). */
  tasks: ClaimedSuiteTask[];
}

interface ClaimRow {
  suite_uuid: string;
  suite_state: number;
  id: number | null;
  uuid: string;
  timeout: number;
  spec: TaskSpec;
  upstream_task_uuid: string | null;
  attempt: number;
}

/**
 * Claims up to `maxCount` Ready tasks of the manager's assigned suite in one
 * statement. When `suiteUuid` is given and is not the assigned suite, nothing
 * is claimed and the result names no suite (`suite_uuid: null`).
 */
export async function claimSuiteTasks(
  db: Db,
  managerId: number,
  suiteUuid: string | null,
  maxCount: number,
): Promise<SuiteClaim> {
  const rows = await db<ClaimRow[]>`
    SELECT * FROM claim_suite_tasks(${managerId}, ${suiteUuid}::uuid, ${maxCount}, ${RUNNABLE_SUITE_STATES}::int[])`;
  if (rows.length === 0) return { suite_uuid: null, suite_state: null, tasks: [] };
  const tasks = rows.filter((r) => r.id !== null).map((r) => ({
    id: r.id!,
    uuid: r.uuid,
    timeout: r.timeout,
    spec: r.spec,
    upstream_task_uuid: r.upstream_task_uuid,
    attempt: r.attempt,
  }));
  return { suite_uuid: rows[0].suite_uuid, suite_state: rows[0].suite_state, tasks };
}

/**
 * Hands tasks the manager holds back to Ready (unstarted prefetched tasks,
 * `ReturnTasks`); `attempt` is left as it is (the next claim increments it).
 * Tasks it does not hold are left alone. Returns the uuids returned.
 */
export async function returnManagerTasks(db: Db, managerId: number, uuids: string[]): Promise<string[]> {
  if (uuids.length === 0) return [];
  const rows = await db<{ uuid: string }[]>`
    UPDATE active_tasks t SET ${backToReady(db)}
    WHERE t.uuid = ANY(${uuids}::uuid[]) AND t.assigned_manager = ${managerId} AND ${isHeld(db)}
    RETURNING t.uuid`;
  return rows.map((r) => r.uuid);
}

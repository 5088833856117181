/**
 * Data access for task suites: creation, lookups, queries, the hand-made
 * state transitions (close, cancel, auto-close) and the suite ↔ manager
 * links. Counters and the automatic Open/Closed/Complete moves caused by
 * task rows live in the triggers of migration 0003 and are not repeated here.
 */
import { type Db, jsonb } from "../db/connect.ts";
import { notFound } from "../../shared/errors.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";
import { type HookSpec, type WorkerSchedule } from "../../shared/wire/suites.ts";
import { SuiteState } from "./states.ts";
import { SelectionTypeCode } from "./matching.ts";

/** A row of `task_suites`. */
export interface SuiteRow {
  id: number;
  uuid: string;
  name: string | null;
  description: string | null;
  group_id: number;
  creator_id: number;
  tags: string[];
  labels: string[];
  priority: number;
  worker_schedule: unknown;
  env_preparation: unknown;
  env_cleanup: unknown;
  state: number;
  last_task_submitted_at: Date | null;
  total_tasks: number;
  pending_tasks: number;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

/** The suite with this uuid, or null. */
export async function findSuiteByUuid(db: Db, uuid: string): Promise<SuiteRow | null> {
  const [row] = await db<SuiteRow[]>`SELECT * FROM task_suites WHERE uuid = ${uuid}`;
  return row ?? null;
}

/** The suite with this uuid; 404 when absent. */
export async function getSuiteByUuid(db: Db, uuid: string): Promise<SuiteRow> {
  const row = await findSuiteByUuid(db, uuid);
  if (row === null) throw notFound(`suite ${uuid} not found`);
  return row;
}

/** A suite to create (validated request, resolved group and creator). */
export interface NewSuite {
  groupId: number;
  creatorId: number;
  name: string | null;
  description: string | null;
  tags: string[];
  labels: string[];
  priority: number;
  workerSchedule: WorkerSchedule;
  envPreparation: HookSpec | null;
  envCleanup: HookSpec | null;
}

/** Inserts an Open suite with a fresh uuid (tags and labels deduplicated) and returns its row. */
export async function insertSuite(db: Db, suite: NewSuite): Promise<SuiteRow> {
  const [row] = await db<SuiteRow[]>`
    INSERT INTO task_suites (uuid, name, description, group_id, creator_id, tags, labels, priority, worker_schedule,
      env_preparation, env_cleanup, state)
    VALUES (${crypto.randomUUID()}, ${suite.name}, ${suite.description}, ${suite.groupId}, ${suite.creatorId},
      ${[...new Set(suite.tags)]}::text[], ${[...new Set(suite.labels)]}::text[], ${suite.priority},
      ${jsonb(db, suite.workerSchedule)}, ${suite.envPreparation === null ? null : jsonb(db, suite.envPreparation)},
      ${suite.envCleanup === null ? null : jsonb(db, suite.envCleanup)}, ${SuiteState.Open})
    RETURNING *`;
  return row;
}

/** Names shown with a suite: its group's and its creator's. */
export interface SuiteOwnerNames {
  group_name: string;
  creator_username: string;
}

/** Group and creator names of each suite in `suiteIds`, by suite id. */
export async function suiteOwnerNames(db: Db, suiteIds: number[]): Promise<Map<number, SuiteOwnerNames>> {
  if (suiteIds.length === 0) return new Map();
  const rows = await db<({ id: number } & SuiteOwnerNames)[]>`
    SELECT s.id, g.group_name, u.username AS creator_username
    FROM task_suites s JOIN groups g ON g.id = s.group_id JOIN users u ON u.id = s.creator_id
    WHERE s.id = ANY(${suiteIds}::bigint[])`;
  return new Map(rows.map((r) => [r.id, { group_name: r.group_name, creator_username: r.creator_username }]));
}

/** A manager linked to a suite, as `assigned_managers` shows it. */
export interface SuiteManagerRow {
  task_suite_id: number;
  manager_uuid: string;
  selection_type: number;
  matched_tags: string[];
  added_at: Date;
  /** True while the manager is assigned to (working on) this suite. */
  working: boolean;
  prepare_error: string | null;
}

/** The managers linked to each suite in `suiteIds`, oldest link first. */
export async function suiteManagerRows(db: Db, suiteIds: number[]): Promise<SuiteManagerRow[]> {
  if (suiteIds.length === 0) return [];
  return await db<SuiteManagerRow[]>`
    SELECT tsm.task_suite_id, m.uuid AS manager_uuid, tsm.selection_type, tsm.matched_tags, tsm.added_at,
      COALESCE(m.assigned_task_suite_id = tsm.task_suite_id, false) AS working, tsm.prepare_error
    FROM task_suite_managers tsm JOIN node_managers m ON m.id = tsm.node_manager_id
    WHERE tsm.task_suite_id = ANY(${suiteIds}::bigint[])
    ORDER BY tsm.task_suite_id, tsm.added_at, m.id`;
}

/** Filters of a suite query: one group, optionally a state and tags the suites must all have. */
export interface SuiteFilter {
  groupId: number;
  state?: number | null;
  tags?: string[] | null;
}

/** Paging of a suite query. */
export interface SuitePage {
  limit?: number | null;
  offset?: number | null;
}

function suiteFilterSql(db: Db, f: SuiteFilter) {
  return db`
    s.group_id = ${f.groupId}
    AND (${f.state ?? null}::int IS NULL OR s.state = ${f.state ?? null}::int)
    AND (${f.tags ?? null}::text[] IS NULL OR s.tags @> ${f.tags ?? null}::text[])`;
}

/** Suites matching a filter, oldest first. */
export async function querySuites(db: Db, filter: SuiteFilter, page: SuitePage): Promise<SuiteRow[]> {
  return await db<SuiteRow[]>`
    SELECT s.* FROM task_suites s WHERE ${suiteFilterSql(db, filter)}
    ORDER BY s.id
    LIMIT ${page.limit ?? null} OFFSET ${page.offset ?? 0}`;
}

/** How many suites match a filter. */
export async function countSuites(db: Db, filter: SuiteFilter): Promise<number> {
  const [row] = await db<{ n: number }[]>`SELECT count(*)::int AS n FROM task_suites s WHERE ${
    suiteFilterSql(db, filter)
  }`;
  return row.n;
}

/** Closes an Open suite; false when the suite is not Open (nothing changed). */
export async function closeSuite(db: Db, suiteId: number): Promise<boolean> {
  const result = await db`
    UPDATE task_suites SET state = ${SuiteState.Closed}, updated_at = now()
    WHERE id = ${suiteId} AND state = ${SuiteState.Open}`;
  return result.count > 0;
}

/** A suite closed for lack of new tasks. */
export interface AutoClosedSuite {
  uuid: string;
  idle_since: Date;
}

/**
 * Closes, in one statement, up to `limit` Open suites whose last task
 * submission (or creation, when none) is older than `idleMs`. Rows locked by
 * a concurrent submission (or another coordinator) are skipped and seen on
 * the next pass.
 */
export async function autoCloseIdleSuites(db: Db, idleMs: number, limit: number): Promise<AutoClosedSuite[]> {
  return await db<AutoClosedSuite[]>`
    WITH due AS (
      SELECT id FROM task_suites
      WHERE state = ${SuiteState.Open}
        AND COALESCE(last_task_submitted_at, created_at) < now() - ${idleMs} * interval '1 millisecond'
      ORDER BY id
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE task_suites s SET state = ${SuiteState.Closed}, updated_at = now()
    FROM due WHERE s.id = due.id AND s.state = ${SuiteState.Open}
    RETURNING s.uuid, COALESCE(s.last_task_submitted_at, s.created_at) AS idle_since`;
}

const USER_CANCELLATION = { exit_status: 0, msg: "UserCancellation" };

/** What cancelling a suite changed. */
export interface SuiteCancellation {
  /** False when the suite was already Cancelled. */
  changed: boolean;
  /** The suite's state as the caller read it before cancelling. */
  previousState: number;
  /** Uuids of the Ready/Pending tasks archived as Cancelled. */
  cancelledTasks: string[];
  /** Tasks of the suite still active (claimed by managers), with their manager. */
  runningTasks: { uuid: string; assigned_manager: number | null }[];
  /** Managers currently assigned to the suite. */
  assignedManagerIds: number[];
}

/**
 * Archives the Ready and Pending tasks of a suite as Cancelled
 * (`UserCancellation`), locking them in id order; returns their uuids. The
 * delete trigger moves the suite's counters (and may mark an Open or Closed
 * suite Complete). Also the way to sweep tasks that went back to Ready in a
 * Cancelled suite (returned or rescued from a manager).
 */
export async function archiveWaitingTasks(tx: Db, suiteId: number): Promise<string[]> {
  const archived = await tx<{ uuid: string }[]>`
    WITH victims AS (
      SELECT id FROM active_tasks
      WHERE task_suite_id = ${suiteId} AND state IN (${TaskStateCode.Pending}, ${TaskStateCode.Ready})
      ORDER BY id
      FOR UPDATE
    ), moved AS (
      DELETE FROM active_tasks t USING victims v WHERE t.id = v.id
      RETURNING t.*
    )
    INSERT INTO archived_tasks (id, creator_id, group_id, task_id, uuid, tags, labels, state, assigned_worker,
      timeout, priority, spec, result, upstream_task_uuid, downstream_task_uuid, task_suite_id, attempt, created_at,
      updated_at)
    SELECT id, creator_id, group_id, task_id, uuid, tags, labels, ${TaskStateCode.Cancelled}, NULL,
      timeout, priority, spec, ${jsonb(tx, USER_CANCELLATION)}, upstream_task_uuid, downstream_task_uuid,
      task_suite_id, attempt, created_at, now()
    FROM moved
    RETURNING uuid`;
  return archived.map((r) => r.uuid);
}

/**
 * Cancels a suite; run it inside a transaction. Its waiting tasks are
 * archived first (`archiveWaitingTasks`) — task rows before the suite row,
 * the lock order every task write follows through the counter triggers —
 * then the suite is marked Cancelled, which overrides the Complete the
 * delete trigger may just have set. Idempotent: on a Cancelled suite it only
 * sweeps stray waiting tasks.
 */
export async function cancelSuite(tx: Db, suite: SuiteRow): Promise<SuiteCancellation> {
  const cancelledTasks = await archiveWaitingTasks(tx, suite.id);
  const marked = await tx`
    UPDATE task_suites SET state = ${SuiteState.Cancelled}, completed_at = COALESCE(completed_at, now()),
      updated_at = now()
    WHERE id = ${suite.id} AND state <> ${SuiteState.Cancelled}`;
  const running = await tx<{ uuid: string; assigned_manager: number | null }[]>`
    SELECT uuid, assigned_manager FROM active_tasks WHERE task_suite_id = ${suite.id} ORDER BY id`;
  const managers = await tx<{ id: number }[]>`
    SELECT id FROM node_managers WHERE assigned_task_suite_id = ${suite.id} ORDER BY id`;
  return {
    changed: marked.count > 0,
    previousState: suite.state,
    cancelledTasks,
    runningTasks: running,
    assignedManagerIds: managers.map((m) => m.id),
  };
}

/** A manager named in a suite-managers request, as far as adding it needs. */
export interface ManagerCandidate {
  id: number;
  uuid: string;
  /** The suite group's role code on the manager while the manager serves the group (view `manager_served_groups`), else null. */
  group_role: number | null;
}

/** The managers among `uuids` that exist, with the role `groupId` has on each that serves it. */
export async function managerCandidates(db: Db, uuids: string[], groupId: number): Promise<ManagerCandidate[]> {
  if (uuids.length === 0) return [];
  return await db<ManagerCandidate[]>`
    SELECT m.id, m.uuid, gm.role AS group_role
    FROM node_managers m
    LEFT JOIN manager_served_groups gm ON gm.node_manager_id = m.id AND gm.group_id = ${groupId}
    WHERE m.uuid = ANY(${uuids}::uuid[])`;
}

/** True when the manager serves the suite's group (a served role is always Write or Admin). */
export function canServe(role: number | null): boolean {
  return role !== null;
}

/**
 * Links managers to a suite as UserSpecified (a TagMatched link becomes
 * UserSpecified; an existing UserSpecified link is kept as it is).
 */
export async function addUserSpecifiedManagers(
  db: Db,
  suiteId: number,
  managerIds: number[],
  userId: number,
): Promise<void> {
  if (managerIds.length === 0) return;
  await db`
    INSERT INTO task_suite_managers (task_suite_id, node_manager_id, selection_type, matched_tags, added_by_user_id)
    SELECT ${suiteId}, id, ${SelectionTypeCode.UserSpecified}, '{}', ${userId}
    FROM unnest(${managerIds}::bigint[]) AS id
    ON CONFLICT (task_suite_id, node_manager_id) DO UPDATE SET
      selection_type = ${SelectionTypeCode.UserSpecified},
      added_by_user_id = EXCLUDED.added_by_user_id,
      added_at = now()
    WHERE task_suite_managers.selection_type <> ${SelectionTypeCode.UserSpecified}`;
}

/** A manager unlinked from a suite. */
export interface RemovedManager {
  id: number;
  uuid: string;
  /** True when the manager was assigned to the suite and has been released from it. */
  released: boolean;
}

/**
 * Removes the links (of any selection type) between a suite and the
 * managers among `uuids`, and releases those of them currently assigned to
 * the suite. Their tasks are left alone: a reclaimed manager returns its
 * unstarted tasks and reports the running ones (or times out).
 */
export async function removeSuiteManagers(db: Db, suiteId: number, uuids: string[]): Promise<RemovedManager[]> {
  if (uuids.length === 0) return [];
  const removed = await db<{ id: number; uuid: string }[]>`
    DELETE FROM task_suite_managers tsm USING node_managers m
    WHERE tsm.node_manager_id = m.id AND tsm.task_suite_id = ${suiteId} AND m.uuid = ANY(${uuids}::uuid[])
    RETURNING m.id, m.uuid`;
  const ids = removed.map((r) => r.id);
  const released = ids.length === 0 ? [] : await db<{ id: number }[]>`
    UPDATE node_managers SET assigned_task_suite_id = NULL, lease_expires_at = NULL, updated_at = now()
    WHERE id = ANY(${ids}::bigint[]) AND assigned_task_suite_id = ${suiteId}
    RETURNING id`;
  const releasedIds = new Set(released.map((r) => r.id));
  return removed.map((r) => ({ id: r.id, uuid: r.uuid, released: releasedIds.has(r.id) }));
}

/** Ids of Cancelled suites that still have Ready or Pending tasks (returned, requeued or rescued after the cancel). */
export async function cancelledSuitesWithWaitingTasks(db: Db, limit: number): Promise<number[]> {
  const rows = await db<{ id: number }[]>`
    SELECT s.id FROM task_suites s
    WHERE s.state = ${SuiteState.Cancelled} AND s.pending_tasks > 0
      AND EXISTS (SELECT 1 FROM active_tasks t WHERE t.task_suite_id = s.id
        AND t.state IN (${TaskStateCode.Pending}, ${TaskStateCode.Ready}))
    ORDER BY s.id LIMIT ${limit}`;
  return rows.map((r) => r.id);
}

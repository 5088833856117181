/**
 * Data access for tasks: bulk submission with per-group sequence numbers,
 * lookups across active and archived rows, changes to Ready tasks, labels,
 * cancellation and filtered queries.
 */
import { type Db, jsonb } from "../db/connect.ts";
import { isCancelledSuite, isDeadlock } from "../db/errors.ts";
import { badRequest, notFound } from "../../shared/errors.ts";
import { parseDuration } from "../../shared/config/duration.ts";
import {
  type SubmitTaskResp,
  type TaskFilter,
  type TaskSpec,
  TaskStateCode,
  type ValidSubmitTaskReq,
} from "../../shared/wire/tasks.ts";
import { TASK_COLUMNS, type TaskRow } from "./rows.ts";
import { taskFilterSql } from "./filter.ts";

/** One task to insert. */
export interface NewTask {
  creatorId: number;
  groupId: number;
  req: ValidSubmitTaskReq;
  /** Ready for normal submissions, Pending for downstream tasks. */
  state: typeof TaskStateCode.Ready | typeof TaskStateCode.Pending;
  upstreamUuid?: string;
  /** The suite the task joins (its group and tags are the suite's). */
  suiteId?: number | null;
}

/** Timeout of a request in whole seconds (validated by the schema, at least 1). */
export function timeoutSeconds(timeout: string): number {
  const ms = parseDuration(timeout);
  if (ms === null || ms <= 0) throw badRequest(`invalid timeout "${timeout}"`);
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * Inserts tasks in a single statement: it locks the groups involved (in id
 * order, so concurrent batches cannot deadlock), reserves each group's next
 * `task_id`s by bumping `task_count`, and inserts every row. The group lock
 * is held only while that statement runs, and is `FOR NO KEY UPDATE`: the
 * foreign-key checks of concurrent commits (archiving a task of the group
 * locks the group `FOR KEY SHARE`) do not wait for it, since the insert
 * trigger waits for the suite row such a commit holds (a deadlock).
 */
export async function insertTasks(db: Db, tasks: NewTask[]): Promise<SubmitTaskResp[]> {
  if (tasks.length === 0) return [];
  const rows = tasks.map((t, ord) => ({
    ord,
    creator_id: t.creatorId,
    group_id: t.groupId,
    uuid: crypto.randomUUID(),
    tags: [...new Set(t.req.tags)],
    labels: [...new Set(t.req.labels)],
    state: t.state,
    timeout: timeoutSeconds(t.req.timeout),
    priority: t.req.priority,
    spec: t.req.task_spec,
    upstream_task_uuid: t.upstreamUuid ?? null,
    task_suite_id: t.suiteId ?? null,
  }));
  const inserted = await insertRowsRetryingDeadlocks(db, rows);
  const byUuid = new Map(inserted.map((r) => [r.uuid, r.task_id]));
  return rows.map((r) => ({ task_id: byUuid.get(r.uuid)!, uuid: r.uuid }));
}

/** Attempts at the insert when PostgreSQL picks it as a deadlock victim. */
const DEADLOCK_ATTEMPTS = 3;

/**
 * `insertRows`, tried again when it loses a deadlock: outside a transaction
 * the victim's statement is rolled back whole, so trying it again inserts
 * each task once. The insert's locks (group, then suite row by its trigger)
 * can still meet a concurrent cancellation's (suite row, then its archive
 * rows' checks) in the other order. Inside a caller's transaction the error
 * is passed on: that transaction is aborted and only its owner can retry.
 */
async function insertRowsRetryingDeadlocks(db: Db, rows: unknown[]): Promise<{ uuid: string; task_id: number }[]> {
  const autocommit = "begin" in db; // the pool, not a transaction (which has savepoint instead)
  for (let attempt = 1;; attempt++) {
    try {
      return await insertRows(db, rows);
    } catch (error) {
      if (!autocommit || !isDeadlock(error) || attempt >= DEADLOCK_ATTEMPTS) throw error;
    }
  }
}

/** The insert statement of `insertTasks`; a Cancelled suite among the rows is a 400. */
async function insertRows(db: Db, rows: unknown[]): Promise<{ uuid: string; task_id: number }[]> {
  try {
    return await db<{ uuid: string; task_id: number }[]>`
    WITH input AS (
      SELECT r.*, row_number() OVER (PARTITION BY r.group_id ORDER BY r.ord) AS rn
      FROM jsonb_to_recordset(${jsonb(db, rows)}) AS r(ord int, creator_id bigint, group_id bigint, uuid uuid,
        tags jsonb, labels jsonb, state int, timeout bigint, priority int, spec jsonb, upstream_task_uuid uuid,
        task_suite_id bigint)
    ), counts AS (
      SELECT group_id, count(*) AS n FROM input GROUP BY group_id
    ), locked AS (
      SELECT id FROM groups WHERE id IN (SELECT group_id FROM counts) ORDER BY id FOR NO KEY UPDATE
    ), bumped AS (
      UPDATE groups g SET task_count = g.task_count + c.n, updated_at = now()
      FROM counts c JOIN locked l ON l.id = c.group_id
      WHERE g.id = c.group_id
      RETURNING g.id, g.task_count - c.n AS base
    )
    INSERT INTO active_tasks (creator_id, group_id, task_id, uuid, tags, labels, state, timeout, priority, spec,
      upstream_task_uuid, task_suite_id)
    SELECT i.creator_id, i.group_id, b.base + i.rn, i.uuid,
      ARRAY(SELECT jsonb_array_elements_text(i.tags)), ARRAY(SELECT jsonb_array_elements_text(i.labels)),
      i.state, i.timeout, i.priority, i.spec, i.upstream_task_uuid, i.task_suite_id
    FROM input i JOIN bumped b ON b.id = i.group_id
    ORDER BY i.ord
    RETURNING uuid, task_id`;
  } catch (error) {
    if (isCancelledSuite(error)) throw badRequest(error.message);
    throw error;
  }
}

/** The task with this uuid, active or archived, or null. */
export async function findTask(db: Db, uuid: string): Promise<TaskRow | null> {
  const [active] = await db<TaskRow[]>`
    SELECT ${db.unsafe(TASK_COLUMNS)}, NULL::uuid AS reporter_uuid, false AS archived
    FROM active_tasks t JOIN users u ON u.id = t.creator_id JOIN groups g ON g.id = t.group_id
    WHERE t.uuid = ${uuid}`;
  if (active) return active;
  const [archived] = await db<TaskRow[]>`
    SELECT ${db.unsafe(TASK_COLUMNS)}, t.reporter_uuid, true AS archived
    FROM archived_tasks t JOIN users u ON u.id = t.creator_id JOIN groups g ON g.id = t.group_id
    WHERE t.uuid = ${uuid}`;
  return archived ?? null;
}

/** The task with this uuid; 404 when absent. */
export async function getTask(db: Db, uuid: string): Promise<TaskRow> {
  const task = await findTask(db, uuid);
  if (task === null) throw notFound(`task ${uuid} not found`);
  return task;
}

/** Fields a change may set on a Ready task. */
export interface TaskChanges {
  tags?: string[];
  timeoutSec?: number;
  priority?: number;
  spec?: TaskSpec;
}

/** Changes a Ready task; 404 when it is not (or no longer) Ready. */
export async function changeReadyTask(db: Db, uuid: string, changes: TaskChanges): Promise<void> {
  const result = await db`
    UPDATE active_tasks SET
      tags = COALESCE(${changes.tags ?? null}::text[], tags),
      timeout = COALESCE(${changes.timeoutSec ?? null}::bigint, timeout),
      priority = COALESCE(${changes.priority ?? null}::int, priority),
      spec = COALESCE(${changes.spec ? jsonb(db, changes.spec) : null}::jsonb, spec),
      updated_at = now()
    WHERE uuid = ${uuid} AND state = ${TaskStateCode.Ready}`;
  if (result.count === 0) throw notFound(`task ${uuid} is not Ready, so it cannot be changed`);
}

/** Replaces the labels of an active or archived task. */
export async function replaceLabels(db: Db, uuid: string, labels: string[]): Promise<void> {
  const unique = [...new Set(labels)];
  const active = await db`UPDATE active_tasks SET labels = ${unique}, updated_at = now() WHERE uuid = ${uuid}`;
  if (active.count > 0) return;
  const archived = await db`UPDATE archived_tasks SET labels = ${unique}, updated_at = now() WHERE uuid = ${uuid}`;
  if (archived.count === 0) throw notFound(`task ${uuid} not found`);
}

const USER_CANCELLATION = { exit_status: 0, msg: "UserCancellation" };

/**
 * Cancels Ready tasks among `uuids` whose group is in `groupIds` (null = any):
 * each moves to `archived_tasks` as Cancelled in one statement. Returns the
 * uuids cancelled.
 */
export async function cancelReadyTasks(db: Db, uuids: string[], groupIds: number[] | null): Promise<string[]> {
  if (uuids.length === 0) return [];
  const rows = await db<{ uuid: string }[]>`
    WITH moved AS (
      DELETE FROM active_tasks
      WHERE uuid = ANY(${uuids}::uuid[]) AND state = ${TaskStateCode.Ready}
        AND (${groupIds === null} OR group_id = ANY(${groupIds ?? []}::bigint[]))
      RETURNING *
    )
    INSERT INTO archived_tasks (id, creator_id, group_id, task_id, uuid, tags, labels, state, assigned_worker,
      timeout, priority, spec, result, upstream_task_uuid, downstream_task_uuid, task_suite_id, attempt, created_at,
      updated_at)
    SELECT id, creator_id, group_id, task_id, uuid, tags, labels, ${TaskStateCode.Cancelled}, NULL,
      timeout, priority, spec, ${jsonb(db, USER_CANCELLATION)}, upstream_task_uuid, downstream_task_uuid, task_suite_id,
      attempt, created_at, now()
    FROM moved
    RETURNING uuid`;
  return rows.map((r) => r.uuid);
}

/** Uuids of Ready tasks of a group matching a filter (for cancel-by-filter). */
export async function readyTaskUuids(db: Db, groupId: number, filter: TaskFilter): Promise<string[]> {
  const rows = await db<{ uuid: string }[]>`
    SELECT t.uuid FROM active_tasks t JOIN users u ON u.id = t.creator_id
    WHERE t.group_id = ${groupId} AND t.state = ${TaskStateCode.Ready} ${taskFilterSql(db, filter)}`;
  return rows.map((r) => r.uuid);
}

/** Paging of a query. */
export interface Page {
  limit?: number | null;
  offset?: number | null;
}

const ALL_TASKS = `(
  SELECT id, creator_id, group_id, task_id, uuid, tags, labels, state, assigned_worker, timeout, priority, spec,
    result, upstream_task_uuid, downstream_task_uuid, created_at, updated_at, NULL::uuid AS reporter_uuid,
    false AS archived
  FROM active_tasks
  UNION ALL
  SELECT id, creator_id, group_id, task_id, uuid, tags, labels, state, assigned_worker, timeout, priority, spec,
    result, upstream_task_uuid, downstream_task_uuid, created_at, updated_at, reporter_uuid, true AS archived
  FROM archived_tasks
)`;

/** Tasks of a group (active and archived) matching a filter, oldest first. */
export async function queryTasks(db: Db, groupId: number, filter: TaskFilter, page: Page): Promise<TaskRow[]> {
  return await db<TaskRow[]>`
    SELECT ${db.unsafe(TASK_COLUMNS)}, t.reporter_uuid, t.archived
    FROM ${db.unsafe(ALL_TASKS)} t JOIN users u ON u.id = t.creator_id JOIN groups g ON g.id = t.group_id
    WHERE t.group_id = ${groupId} ${taskFilterSql(db, filter)}
    ORDER BY t.id
    LIMIT ${page.limit ?? null} OFFSET ${page.offset ?? 0}`;
}

/** How many tasks of a group match a filter. */
export async function countTasks(db: Db, groupId: number, filter: TaskFilter): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    SELECT count(*)::bigint AS n
    FROM ${db.unsafe(ALL_TASKS)} t JOIN users u ON u.id = t.creator_id
    WHERE t.group_id = ${groupId} ${taskFilterSql(db, filter)}`;
  return row.n;
}

/**
 * Data access for independent workers: registration with group roles,
 * heartbeats, lookups, tags/labels/roles changes, removal (which returns the
 * worker's task to Ready), and queries.
 */
import type { Db, Sql } from "../db/connect.ts";
import { notFound } from "../../shared/errors.ts";
import { codeOf, GROUP_WORKER_ROLES, type GroupWorkerRole, valueOf } from "../../shared/wire/common.ts";
import { WORKER_STATES, type WorkerQueryInfo } from "../../shared/wire/workers.ts";
import { formatTimestamp } from "../../shared/time.ts";
import { backToReady, isHeld } from "../scheduler/held_tasks.ts";

/** A row of `workers`. */
export interface WorkerRow {
  id: number;
  worker_id: string;
  creator_id: number;
  tags: string[];
  labels: string[];
  state: number;
  last_heartbeat: Date;
  assigned_task_id: number | null;
  created_at: Date;
  updated_at: Date;
}

/** Worker state codes. */
export const WorkerStateCode = { Normal: 0, GracefulShutdown: 1 } as const;

/** Registers a worker with roles for groups (by id); returns its row. */
export async function insertWorker(
  sql: Sql,
  creatorId: number,
  tags: string[],
  labels: string[],
  groupRoles: Map<number, GroupWorkerRole>,
): Promise<WorkerRow> {
  return await sql.begin(async (tx) => {
    const [worker] = await tx<WorkerRow[]>`
      INSERT INTO workers (worker_id, creator_id, tags, labels)
      VALUES (${crypto.randomUUID()}, ${creatorId}, ${[...new Set(tags)]}, ${[...new Set(labels)]})
      RETURNING *`;
    const groupIds = [...groupRoles.keys()];
    const roles = groupIds.map((g) => codeOf(GROUP_WORKER_ROLES, groupRoles.get(g)!));
    await tx`
      INSERT INTO group_worker (group_id, worker_id, role)
      SELECT g, ${worker.id}, r FROM unnest(${groupIds}::bigint[], ${roles}::int[]) AS x(g, r)`;
    return worker;
  });
}

/** A worker with the state code of the user who registered it (0 Active, 1 Locked, 2 Deleted). */
export interface AuthWorkerRow extends WorkerRow {
  creator_state: number;
}

/** The worker with this uuid and its registering user's state, or null (token checks). */
export async function findWorkerForAuth(db: Db, uuid: string): Promise<AuthWorkerRow | null> {
  const [row] = await db<AuthWorkerRow[]>`
    SELECT w.*, u.state AS creator_state FROM workers w JOIN users u ON u.id = w.creator_id
    WHERE w.worker_id = ${uuid}`;
  return row ?? null;
}

/** The worker with this uuid, or null. */
export async function findWorker(db: Db, uuid: string): Promise<WorkerRow | null> {
  const [row] = await db<WorkerRow[]>`SELECT * FROM workers WHERE worker_id = ${uuid}`;
  return row ?? null;
}

/** The worker with this uuid; 404 when absent. */
export async function getWorker(db: Db, uuid: string): Promise<WorkerRow> {
  const row = await findWorker(db, uuid);
  if (row === null) throw notFound(`worker ${uuid} not found`);
  return row;
}

/** Records a heartbeat. */
export async function touchWorker(db: Db, workerId: number): Promise<void> {
  await db`UPDATE workers SET last_heartbeat = now() WHERE id = ${workerId}`;
}

/**
 * Removes workers and returns their unfinished tasks to Ready, in one
 * statement. Returns the uuids of the removed workers.
 */
export async function removeWorkers(db: Db, workerIds: number[]): Promise<string[]> {
  if (workerIds.length === 0) return [];
  const rows = await db<{ worker_id: string }[]>`
    WITH gone AS (
      DELETE FROM workers WHERE id = ANY(${workerIds}::bigint[]) RETURNING id, worker_id
    ), requeued AS (
      UPDATE active_tasks t SET ${backToReady(db)}
      WHERE t.assigned_worker IN (SELECT id FROM gone) AND ${isHeld(db)}
    )
    SELECT worker_id FROM gone`;
  return rows.map((r) => r.worker_id);
}

/** Ids of workers whose last heartbeat is older than `timeoutMs` (at most `limit`). */
export async function staleWorkerIds(db: Db, timeoutMs: number, limit: number, clockStart: Date): Promise<number[]> {
  const rows = await db<{ id: number }[]>`
    SELECT id FROM workers
    WHERE GREATEST(last_heartbeat, ${clockStart}::timestamptz) < now() - ${timeoutMs} * interval '1 millisecond'
    ORDER BY last_heartbeat LIMIT ${limit}`;
  return rows.map((r) => r.id);
}

/**
 * Graceful shutdown: an idle worker is removed at once; a busy one is marked
 * GracefulShutdown and removed when it commits. Force removes it now (its
 * task returns to Ready). Returns true when the worker was removed now.
 */
export async function shutdownWorker(db: Db, worker: WorkerRow, force: boolean): Promise<boolean> {
  if (force || worker.assigned_task_id === null) {
    await removeWorkers(db, [worker.id]);
    return true;
  }
  await db`UPDATE workers SET state = ${WorkerStateCode.GracefulShutdown}, updated_at = now()
    WHERE id = ${worker.id}`;
  return false;
}

/** The groups with a role on the worker, by name. */
export async function workerGroups(db: Db, workerId: number): Promise<Record<string, GroupWorkerRole>> {
  const rows = await db<{ group_name: string; role: number }[]>`
    SELECT g.group_name, gw.role FROM group_worker gw JOIN groups g ON g.id = gw.group_id
    WHERE gw.worker_id = ${workerId} ORDER BY g.group_name`;
  return Object.fromEntries(rows.map((r) => [r.group_name, valueOf(GROUP_WORKER_ROLES, r.role)]));
}

/** The role a group holds on a worker, or null. */
export async function groupRoleOnWorker(db: Db, groupId: number, workerId: number): Promise<GroupWorkerRole | null> {
  const [row] = await db<{ role: number }[]>`
    SELECT role FROM group_worker WHERE group_id = ${groupId} AND worker_id = ${workerId}`;
  return row ? valueOf(GROUP_WORKER_ROLES, row.role) : null;
}

/**
 * The best role the user can exercise on a worker: the highest of
 * min(user's role in G, G's role on the worker) over shared groups G.
 * Returns `[userRole, groupRole]` codes of that pair, or null.
 */
export async function userAccessToWorker(
  db: Db,
  userId: number,
  workerId: number,
): Promise<{ userRole: number; groupRole: number }[]> {
  return await db<{ userRole: number; groupRole: number }[]>`
    SELECT ug.role AS "userRole", gw.role AS "groupRole"
    FROM group_worker gw JOIN user_group ug ON ug.group_id = gw.group_id
    WHERE gw.worker_id = ${workerId} AND ug.user_id = ${userId}`;
}

/** Replaces a worker's tags. */
export async function setWorkerTags(db: Db, workerId: number, tags: string[]): Promise<void> {
  await db`UPDATE workers SET tags = ${[...new Set(tags)]}, updated_at = now() WHERE id = ${workerId}`;
}

/** Replaces a worker's labels. */
export async function setWorkerLabels(db: Db, workerId: number, labels: string[]): Promise<void> {
  await db`UPDATE workers SET labels = ${[...new Set(labels)]}, updated_at = now() WHERE id = ${workerId}`;
}

/** Upserts group roles on a worker (groups by id). */
export async function setWorkerGroupRoles(
  db: Db,
  workerId: number,
  roles: Map<number, GroupWorkerRole>,
): Promise<void> {
  const groupIds = [...roles.keys()];
  const codes = groupIds.map((g) => codeOf(GROUP_WORKER_ROLES, roles.get(g)!));
  await db`
    INSERT INTO group_worker (group_id, worker_id, role)
    SELECT g, ${workerId}, r FROM unnest(${groupIds}::bigint[], ${codes}::int[]) AS x(g, r)
    ON CONFLICT (group_id, worker_id) DO UPDATE SET role = EXCLUDED.role`;
}

/** Removes group roles from a worker (groups by name); returns how many were removed. */
export async function removeWorkerGroups(db: Db, workerId: number, groupNames: string[]): Promise<number> {
  const result = await db`
    DELETE FROM group_worker gw USING groups g
    WHERE gw.group_id = g.id AND gw.worker_id = ${workerId} AND g.group_name = ANY(${groupNames})`;
  return result.count;
}

/** Filters of a worker query. */
export interface WorkerFilter {
  groupId: number;
  roles?: GroupWorkerRole[] | null;
  tags?: string[] | null;
  labels?: string[] | null;
  creatorUsername?: string | null;
}

/** A worker row with its creator's name and assigned task uuid. */
export type WorkerListRow = WorkerRow & { creator_username: string; assigned_task_uuid: string | null };

/** Workers on which the group holds a role, filtered. */
export async function queryWorkers(db: Db, f: WorkerFilter): Promise<WorkerListRow[]> {
  const roles = f.roles ? f.roles.map((r) => codeOf(GROUP_WORKER_ROLES, r)) : null;
  return await db<WorkerListRow[]>`
    SELECT w.*, u.username AS creator_username, t.uuid AS assigned_task_uuid
    FROM workers w
    JOIN group_worker gw ON gw.worker_id = w.id AND gw.group_id = ${f.groupId}
    JOIN users u ON u.id = w.creator_id
    LEFT JOIN active_tasks t ON t.id = w.assigned_task_id
    WHERE (${roles === null} OR gw.role = ANY(${roles ?? []}::int[]))
      AND (${f.tags == null} OR w.tags @> ${f.tags ?? []}::text[])
      AND (${f.labels == null} OR w.labels @> ${f.labels ?? []}::text[])
      AND (${f.creatorUsername == null} OR u.username = ${f.creatorUsername ?? ""})
    ORDER BY w.id`;
}

/** One worker with creator name and assigned task uuid. */
export async function workerListRow(db: Db, workerId: number): Promise<WorkerListRow> {
  const [row] = await db<WorkerListRow[]>`
    SELECT w.*, u.username AS creator_username, t.uuid AS assigned_task_uuid
    FROM workers w JOIN users u ON u.id = w.creator_id LEFT JOIN active_tasks t ON t.id = w.assigned_task_id
    WHERE w.id = ${workerId}`;
  if (!row) throw notFound("worker not found");
  return row;
}

/** Renders a worker row for the wire. */
export function presentWorker(row: WorkerListRow): WorkerQueryInfo {
  return {
    worker_id: row.worker_id,
    creator_username: row.creator_username,
    tags: row.tags,
    labels: row.labels,
    created_at: formatTimestamp(row.created_at),
    updated_at: formatTimestamp(row.updated_at),
    state: valueOf(WORKER_STATES, row.state),
    last_heartbeat: formatTimestamp(row.last_heartbeat),
    assigned_task_id: row.assigned_task_uuid,
  };
}

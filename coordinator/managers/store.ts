/**
 * Data access for node managers over REST: registration with group roles,
 * lookups, the groups' roles, tags/labels/roles changes, filtered queries,
 * shutdown requests, releasing a manager's tasks and suite, and token
 * signature rotation; plus the wire presenter (`ManagerInfo`).
 */
import type { Db } from "../db/connect.ts";
import { notFound } from "../../shared/errors.ts";
import { codeOf, GROUP_WORKER_ROLES, type GroupWorkerRole, valueOf } from "../../shared/wire/common.ts";
import { type ManagerInfo, NODE_MANAGER_STATES, NodeManagerStateCode } from "../../shared/wire/managers.ts";
import { formatTimestamp } from "../../shared/time.ts";
import { backToReady, isHeld } from "../scheduler/held_tasks.ts";
import type { SharedGroupRoles } from "../groups/resource_access.ts";
import type { Fragment } from "../tasks/filter.ts";

/** A row of `node_managers`. */
export interface ManagerRow {
  id: number;
  uuid: string;
  creator_id: number;
  tags: string[];
  labels: string[];
  state: number;
  last_heartbeat: Date;
  assigned_task_suite_id: number | null;
  lease_expires_at: Date | null;
  hostname: string | null;
  max_workers: number;
  token_signature: number;
  token_expires_at: Date;
  /** A shutdown is pending: asked for, and no manager process sent it has exited yet. */
  shutdown_requested: boolean;
  /** The pending shutdown is Force (one request of several was enough). */
  shutdown_force: boolean;
  created_at: Date;
  updated_at: Date;
}

/** What a new manager row holds. */
export interface NewManager {
  uuid: string;
  creatorId: number;
  tags: string[];
  labels: string[];
  hostname: string | null;
  maxWorkers: number;
  tokenSignature: number;
  tokenExpiresAt: Date;
  /** Roles of groups on the manager, by group id. */
  groupRoles: Map<number, GroupWorkerRole>;
}

/** Inserts a manager (state Offline until it connects) with its group roles; returns its row. */
export async function insertManager(tx: Db, m: NewManager): Promise<ManagerRow> {
  const [row] = await tx<ManagerRow[]>`
    INSERT INTO node_managers (uuid, creator_id, tags, labels, state, hostname, max_workers,
      token_signature, token_expires_at)
    VALUES (${m.uuid}, ${m.creatorId}, ${[...new Set(m.tags)]}, ${[...new Set(m.labels)]},
      ${NodeManagerStateCode.Offline}, ${m.hostname}, ${m.maxWorkers}, ${m.tokenSignature}, ${m.tokenExpiresAt})
    RETURNING *`;
  await setManagerGroupRoles(tx, row.id, m.groupRoles);
  return row;
}

/** The manager with this uuid, or null. */
export async function findManager(db: Db, uuid: string): Promise<ManagerRow | null> {
  const [row] = await db<ManagerRow[]>`SELECT * FROM node_managers WHERE uuid = ${uuid}`;
  return row ?? null;
}

/** The manager with this uuid; 404 when absent. */
export async function getManager(db: Db, uuid: string): Promise<ManagerRow> {
  const row = await findManager(db, uuid);
  if (row === null) throw notFound(`manager ${uuid} not found`);
  return row;
}

/** The manager with this database id; 404 when absent. */
export async function getManagerById(db: Db, id: number): Promise<ManagerRow> {
  const [row] = await db<ManagerRow[]>`SELECT * FROM node_managers WHERE id = ${id}`;
  if (!row) throw notFound("manager not found");
  return row;
}

/** For each group shared by the user and the manager: the user's role and the group's role on the manager. */
export async function userAccessToManager(db: Db, userId: number, managerId: number): Promise<SharedGroupRoles[]> {
  return await db<SharedGroupRoles[]>`
    SELECT ug.role AS "userRole", gm.role AS "groupRole"
    FROM group_node_manager gm JOIN user_group ug ON ug.group_id = gm.group_id
    WHERE gm.node_manager_id = ${managerId} AND ug.user_id = ${userId}`;
}

/** Replaces a manager's tags. */
export async function setManagerTags(db: Db, managerId: number, tags: string[]): Promise<void> {
  await db`UPDATE node_managers SET tags = ${[...new Set(tags)]}, updated_at = now() WHERE id = ${managerId}`;
}

/** Replaces a manager's labels. */
export async function setManagerLabels(db: Db, managerId: number, labels: string[]): Promise<void> {
  await db`UPDATE node_managers SET labels = ${[...new Set(labels)]}, updated_at = now() WHERE id = ${managerId}`;
}

/** Upserts group roles on a manager (groups by id). */
export async function setManagerGroupRoles(
  db: Db,
  managerId: number,
  roles: Map<number, GroupWorkerRole>,
): Promise<void> {
  const groupIds = [...roles.keys()];
  const codes = groupIds.map((g) => codeOf(GROUP_WORKER_ROLES, roles.get(g)!));
  await db`
    INSERT INTO group_node_manager (group_id, node_manager_id, role)
    SELECT g, ${managerId}, r FROM unnest(${groupIds}::bigint[], ${codes}::int[]) AS x(g, r)
    ON CONFLICT (group_id, node_manager_id) DO UPDATE SET role = EXCLUDED.role`;
  await db`UPDATE node_managers SET updated_at = now() WHERE id = ${managerId}`;
}

/** Removes group roles from a manager (groups by name); returns how many were removed. */
export async function removeManagerGroups(db: Db, managerId: number, groupNames: string[]): Promise<number> {
  const result = await db`
    DELETE FROM group_node_manager gm USING groups g
    WHERE gm.group_id = g.id AND gm.node_manager_id = ${managerId} AND g.group_name = ANY(${groupNames})`;
  await db`UPDATE node_managers SET updated_at = now() WHERE id = ${managerId}`;
  return result.count;
}

/** Records a pending shutdown of a manager; a Force request stays Force when a Graceful one follows. */
export async function markShutdownRequested(db: Db, managerId: number, force: boolean): Promise<void> {
  await db`
    UPDATE node_managers SET shutdown_requested = true, shutdown_force = shutdown_force OR ${force}, updated_at = now()
    WHERE id = ${managerId}`;
}

/** The manager's pending shutdown (`force`: stop at once), or null when none is pending. */
export async function pendingShutdown(db: Db, managerId: number): Promise<{ force: boolean } | null> {
  const [row] = await db<{ force: boolean }[]>`
    SELECT shutdown_force AS force FROM node_managers WHERE id = ${managerId} AND shutdown_requested`;
  return row ?? null;
}

/** Ends a manager's pending shutdown (it stopped as asked); returns false when none was pending. */
export async function clearShutdownRequest(db: Db, managerId: number): Promise<boolean> {
  const result = await db`
    UPDATE node_managers SET shutdown_requested = false, shutdown_force = false, updated_at = now()
    WHERE id = ${managerId} AND shutdown_requested`;
  return result.count === 1;
}

/**
 * Returns every task the manager holds (running or prefetched) to Ready,
 * and releases the manager's suite
 * assignment, in one statement. Returns how many tasks went back to Ready.
 */
export async function releaseManagerWork(db: Db, managerId: number): Promise<number> {
  const [row] = await db<{ requeued: number }[]>`
    WITH requeued AS (
      UPDATE active_tasks t SET ${backToReady(db)}
      WHERE t.assigned_manager = ${managerId} AND ${isHeld(db)}
      RETURNING t.id
    ), released AS (
      UPDATE node_managers SET assigned_task_suite_id = NULL, lease_expires_at = NULL, updated_at = now()
      WHERE id = ${managerId}
    )
    SELECT count(*)::int AS requeued FROM requeued`;
  return row.requeued;
}

/**
 * Replaces the manager's token signature (revoking its current token) if it
 * is still `current`; returns false when another refresh won the race.
 */
export async function rotateManagerToken(
  db: Db,
  managerId: number,
  current: number,
  next: number,
  expiresAt: Date,
): Promise<boolean> {
  const result = await db`
    UPDATE node_managers SET token_signature = ${next}, token_expires_at = ${expiresAt}, updated_at = now()
    WHERE id = ${managerId} AND token_signature = ${current}`;
  return result.count === 1;
}

/** Filters of a manager query. */
export interface ManagerFilter {
  /** Only managers this group holds a role on. */
  groupId: number;
  state?: number | null;
  tags?: string[] | null;
  labels?: string[] | null;
}

/** A manager row with its creator's name, assigned suite uuid and groups' role codes. */
export type ManagerListRow = ManagerRow & {
  creator_username: string;
  assigned_suite_uuid: string | null;
  group_roles: Record<string, number>;
};

/** Rows of managers with creator name, assigned suite uuid and groups' roles, selected by `where`. */
async function selectListRows(db: Db, where: Fragment): Promise<ManagerListRow[]> {
  return await db<ManagerListRow[]>`
    SELECT m.*, u.username AS creator_username, s.uuid AS assigned_suite_uuid,
      (SELECT COALESCE(jsonb_object_agg(g.group_name, gm.role), '{}'::jsonb)
       FROM group_node_manager gm JOIN groups g ON g.id = gm.group_id WHERE gm.node_manager_id = m.id) AS group_roles
    FROM node_managers m
    JOIN users u ON u.id = m.creator_id
    LEFT JOIN task_suites s ON s.id = m.assigned_task_suite_id
    WHERE ${where}
    ORDER BY m.id`;
}

/** Managers the group holds a role on, filtered, oldest first. */
export async function queryManagers(db: Db, f: ManagerFilter): Promise<ManagerListRow[]> {
  const parts: Fragment[] = [
    db`EXISTS (SELECT 1 FROM group_node_manager q WHERE q.node_manager_id = m.id AND q.group_id = ${f.groupId})`,
  ];
  if (f.state != null) parts.push(db`m.state = ${f.state}`);
  if (f.tags != null) parts.push(db`m.tags @> ${f.tags}::text[]`);
  if (f.labels != null) parts.push(db`m.labels @> ${f.labels}::text[]`);
  return await selectListRows(db, parts.reduce((acc, part) => db`${acc} AND ${part}`));
}

/** One manager with creator name, assigned suite uuid and groups' roles; 404 when absent. */
export async function managerListRow(db: Db, managerId: number): Promise<ManagerListRow> {
  const [row] = await selectListRows(db, db`m.id = ${managerId}`);
  if (!row) throw notFound("manager not found");
  return row;
}

/** Renders a manager row for the wire. */
export function presentManager(row: ManagerListRow): ManagerInfo {
  const groups = Object.entries(row.group_roles)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, code]) => [name, valueOf(GROUP_WORKER_ROLES, code)] as const);
  return {
    manager_uuid: row.uuid,
    creator_username: row.creator_username,
    tags: row.tags,
    labels: row.labels,
    state: valueOf(NODE_MANAGER_STATES, row.state),
    hostname: row.hostname,
    max_workers: row.max_workers,
    last_heartbeat: formatTimestamp(row.last_heartbeat),
    assigned_suite_uuid: row.assigned_suite_uuid,
    lease_expires_at: row.lease_expires_at === null ? null : formatTimestamp(row.lease_expires_at),
    created_at: formatTimestamp(row.created_at),
    updated_at: formatTimestamp(row.updated_at),
    groups: Object.fromEntries(groups),
  };
}

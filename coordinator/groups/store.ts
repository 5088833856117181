/**
 * Data access for groups and memberships: creation under the creator's group
 * quota, details, the caller's roles, and membership changes that always
 * leave a group with at least one Admin.
 */
import type { Db, Sql } from "../db/connect.ts";
import { isUniqueViolation } from "../db/errors.ts";
import { badRequest, conflict, forbidden, notFound } from "../../shared/errors.ts";
import { applyQuotaChange, type QuotaChange } from "../../shared/config/size.ts";
import { codeOf, GROUP_STATES, USER_GROUP_ROLES, type UserGroupRole, valueOf } from "../../shared/wire/common.ts";
import type { GroupQueryInfo } from "../../shared/wire/groups.ts";
import { formatTimestamp } from "../../shared/time.ts";

/** A row of `groups`. */
export interface GroupRow {
  id: number;
  group_name: string;
  creator_id: number;
  state: number;
  task_count: number;
  storage_quota: number;
  storage_used: number;
  created_at: Date;
  updated_at: Date;
}

const ADMIN = codeOf(USER_GROUP_ROLES, "Admin");

/** The named group; 404 when absent. */
export async function getGroupByName(db: Db, name: string): Promise<GroupRow> {
  const [row] = await db<GroupRow[]>`SELECT * FROM groups WHERE group_name = ${name}`;
  if (!row) throw notFound(`group ${name} not found`);
  return row;
}

/** The group with this id; 404 when absent. */
export async function getGroupById(db: Db, id: number): Promise<GroupRow> {
  const [row] = await db<GroupRow[]>`SELECT * FROM groups WHERE id = ${id}`;
  if (!row) throw notFound(`group ${id} not found`);
  return row;
}

/** The user's role in the group, or null when not a member. */
export async function roleInGroup(db: Db, userId: number, groupId: number): Promise<UserGroupRole | null> {
  const [row] = await db<{ role: number }[]>`
    SELECT role FROM user_group WHERE user_id = ${userId} AND group_id = ${groupId}`;
  return row ? valueOf(USER_GROUP_ROLES, row.role) : null;
}

/**
 * Creates a group with the creator as Admin. Counts against the creator's
 * group quota (403 when reached); a name taken by a user or group is a 409.
 */
export async function createGroup(sql: Sql, creatorId: number, name: string): Promise<void> {
  try {
    await sql.begin(async (tx) => {
      const [user] = await tx<{ group_quota: number; group_count: number }[]>`
        SELECT group_quota, group_count FROM users WHERE id = ${creatorId} FOR UPDATE`;
      const [taken] = await tx`
        SELECT 1 FROM groups WHERE group_name = ${name} UNION ALL SELECT 1 FROM users WHERE username = ${name}`;
      if (taken) throw conflict(`group ${name} already exists`);
      if (user.group_count >= user.group_quota) {
        throw forbidden(`group quota exceeded: ${user.group_count} of ${user.group_quota} groups used`);
      }
      const [group] = await tx<{ id: number }[]>`
        INSERT INTO groups (group_name, creator_id) VALUES (${name}, ${creatorId}) RETURNING id`;
      await tx`INSERT INTO user_group (user_id, group_id, role) VALUES (${creatorId}, ${group.id}, ${ADMIN})`;
      await tx`UPDATE users SET group_count = group_count + 1, updated_at = now() WHERE id = ${creatorId}`;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`group ${name} already exists`);
    throw error;
  }
}

/** Group details; `users_in_group` only when `withMembers` (the caller is Admin). */
export async function groupInfo(db: Db, group: GroupRow, withMembers: boolean): Promise<GroupQueryInfo> {
  const [creator] = await db<{ username: string }[]>`SELECT username FROM users WHERE id = ${group.creator_id}`;
  const [workers] = await db<{ count: number }[]>`
    SELECT count(*)::int AS count FROM group_worker WHERE group_id = ${group.id}`;
  let members: Record<string, UserGroupRole> | null = null;
  if (withMembers) {
    const rows = await db<{ username: string; role: number }[]>`
      SELECT u.username, ug.role FROM user_group ug JOIN users u ON u.id = ug.user_id
      WHERE ug.group_id = ${group.id} ORDER BY u.username`;
    members = Object.fromEntries(rows.map((r) => [r.username, valueOf(USER_GROUP_ROLES, r.role)]));
  }
  return {
    group_name: group.group_name,
    creator_username: creator?.username ?? "",
    created_at: formatTimestamp(group.created_at),
    updated_at: formatTimestamp(group.updated_at),
    state: valueOf(GROUP_STATES, group.state),
    task_count: group.task_count,
    storage_quota: group.storage_quota,
    storage_used: group.storage_used,
    worker_count: workers.count,
    users_in_group: members,
  };
}

/** The groups a user belongs to, with roles. */
export async function groupsOfUser(db: Db, userId: number): Promise<Record<string, UserGroupRole>> {
  const rows = await db<{ group_name: string; role: number }[]>`
    SELECT g.group_name, ug.role FROM user_group ug JOIN groups g ON g.id = ug.group_id
    WHERE ug.user_id = ${userId} ORDER BY g.group_name`;
  return Object.fromEntries(rows.map((r) => [r.group_name, valueOf(USER_GROUP_ROLES, r.role)]));
}

async function assertAdminRemains(tx: Db, groupId: number, groupName: string): Promise<void> {
  const [row] = await tx<{ count: number }[]>`
    SELECT count(*)::int AS count FROM user_group WHERE group_id = ${groupId} AND role = ${ADMIN}`;
  if (row.count === 0) throw badRequest(`group ${groupName} must keep at least one Admin`);
}

/** Adds users to a group or changes their roles (all or nothing). */
export async function setMemberRoles(
  sql: Sql,
  group: GroupRow,
  relations: Record<string, UserGroupRole>,
): Promise<void> {
  const names = Object.keys(relations);
  await sql.begin(async (tx) => {
    await tx`SELECT id FROM groups WHERE id = ${group.id} FOR UPDATE`;
    const users = await tx<{ id: number; username: string }[]>`
      SELECT id, username FROM users WHERE username = ANY(${names}) AND state <> 2`;
    const missing = names.filter((n) => !users.some((u) => u.username === n));
    if (missing.length > 0) throw notFound(`users not found: ${missing.join(", ")}`);
    const userIds = users.map((u) => u.id);
    const roles = users.map((u) => codeOf(USER_GROUP_ROLES, relations[u.username]));
    await tx`
      INSERT INTO user_group (user_id, group_id, role)
      SELECT u, ${group.id}, r FROM unnest(${userIds}::bigint[], ${roles}::int[]) AS t(u, r)
      ON CONFLICT (user_id, group_id) DO UPDATE SET role = EXCLUDED.role`;
    await assertAdminRemains(tx, group.id, group.group_name);
  });
}

/** Removes users from a group (unknown names are ignored); returns how many left. */
export async function removeMembers(sql: Sql, group: GroupRow, usernames: string[]): Promise<number> {
  return await sql.begin(async (tx) => {
    await tx`SELECT id FROM groups WHERE id = ${group.id} FOR UPDATE`;
    const removed = await tx`
      DELETE FROM user_group ug USING users u
      WHERE ug.user_id = u.id AND ug.group_id = ${group.id} AND u.username = ANY(${usernames})`;
    await assertAdminRemains(tx, group.id, group.group_name);
    return removed.count;
  });
}

/** Applies a storage quota change under a row lock; returns the new quota in bytes. */
export async function changeStorageQuota(sql: Sql, name: string, change: QuotaChange): Promise<number> {
  return await sql.begin(async (tx) => {
    const [row] = await tx<{ id: number; storage_quota: number }[]>`
      SELECT id, storage_quota FROM groups WHERE group_name = ${name} FOR UPDATE`;
    if (!row) throw notFound(`group ${name} not found`);
    const next = applyQuotaChange(row.storage_quota, change);
    if (next === null) throw badRequest("storage quota would be negative");
    await tx`UPDATE groups SET storage_quota = ${next}, updated_at = now() WHERE id = ${row.id}`;
    return next;
  });
}

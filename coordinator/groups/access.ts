/**
 * Group permission checks shared by every resource that belongs to a group
 * (tasks, artifacts, attachments, workers). Admin users act as Admin of
 * every group.
 */
import type { Db } from "../db/connect.ts";
import { forbidden } from "../../shared/errors.ts";
import type { AuthUser } from "../http/context.ts";
import { USER_GROUP_ROLES, type UserGroupRole } from "../../shared/wire/common.ts";
import { getGroupByName, type GroupRow, roleInGroup } from "./store.ts";

const rank = (role: UserGroupRole) => USER_GROUP_ROLES.indexOf(role);

/** The caller's effective role in a group (admin users: Admin), or null. */
export async function effectiveRole(db: Db, user: AuthUser, groupId: number): Promise<UserGroupRole | null> {
  if (user.admin) return "Admin";
  return await roleInGroup(db, user.id, groupId);
}

/** True when `role` is at least `min`. */
export function roleAtLeast(role: UserGroupRole | null, min: UserGroupRole): boolean {
  return role !== null && rank(role) >= rank(min);
}

/** Loads a group by name (404) and requires the caller to hold at least `min` in it (403). */
export async function groupWithRole(db: Db, user: AuthUser, groupName: string, min: UserGroupRole): Promise<GroupRow> {
  const group = await getGroupByName(db, groupName);
  await requireRole(db, user, group, min);
  return group;
}

/** A group as far as permission checks need it. */
export type GroupRef = Pick<GroupRow, "id" | "group_name">;

/** Requires the caller to hold at least `min` in `group` (403). */
export async function requireRole(db: Db, user: AuthUser, group: GroupRef, min: UserGroupRole): Promise<void> {
  if (!roleAtLeast(await effectiveRole(db, user, group.id), min)) {
    throw forbidden(`${min} role in group ${group.group_name} required`);
  }
}

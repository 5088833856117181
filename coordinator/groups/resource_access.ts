/**
 * Access to resources that groups hold roles on (independent workers and
 * node managers), derived the same way for both: read (any shared group, or
 * the creator), write (user Write+ in a group that has Write+ on the
 * resource: tags, labels) and admin (user Admin in a group that is Admin on
 * the resource: roles, shutdown). Admin users may do everything. Also the
 * group roles a resource gets when it registers.
 */
import type { Db } from "../db/connect.ts";
import { forbidden } from "../../shared/errors.ts";
import type { AuthUser } from "../http/context.ts";
import type { GroupWorkerRole } from "../../shared/wire/common.ts";
import { getGroupByName } from "./store.ts";
import { effectiveRole, roleAtLeast } from "./access.ts";

/** Levels of access to a worker or manager. */
export type ResourceAccess = "read" | "write" | "admin";

/** One group shared by a user and a resource: the user's role code in it and its role code on the resource. */
export interface SharedGroupRoles {
  userRole: number;
  groupRole: number;
}

const RANK: Record<ResourceAccess, number> = { read: 0, write: 1, admin: 2 };

/** The highest access the user has through the shared groups (or as creator), or null. */
export function accessViaSharedGroups(
  user: AuthUser,
  shared: readonly SharedGroupRoles[],
  creatorId: number,
): ResourceAccess | null {
  if (user.admin) return "admin";
  if (shared.some((p) => p.userRole >= 2 && p.groupRole >= 2)) return "admin";
  if (shared.some((p) => p.userRole >= 1 && p.groupRole >= 1)) return "write";
  if (shared.length > 0 || creatorId === user.id) return "read";
  return null;
}

/** Throws 403 naming `what` unless `access` is at least `min`. */
export function requireAccessLevel(access: ResourceAccess | null, min: ResourceAccess, what: string): void {
  if (access === null || RANK[access] < RANK[min]) throw forbidden(`${min} access to ${what} required`);
}

/** A requested group role of a registration (`group` or `group:role`). */
export interface GroupRoleSpec {
  group: string;
  role: GroupWorkerRole;
}

/**
 * The roles (by group id) a newly registered worker or manager gives groups:
 * each requested group (404 when unknown) needs Write from the user (403),
 * and the user's own group always gets Admin.
 */
export async function registrationGroupRoles(
  db: Db,
  user: AuthUser,
  requested: readonly GroupRoleSpec[],
): Promise<Map<number, GroupWorkerRole>> {
  const roles = new Map<number, GroupWorkerRole>();
  for (const spec of requested) {
    const group = await getGroupByName(db, spec.group);
    if (!roleAtLeast(await effectiveRole(db, user, group.id), "Write")) {
      throw forbidden(`Write role in group ${group.group_name} required to serve it`);
    }
    roles.set(group.id, spec.role);
  }
  const own = await getGroupByName(db, user.username);
  roles.set(own.id, "Admin");
  return roles;
}

/**
 * The roles (by group id) a grant on a worker or manager gives the named
 * groups (404 for an unknown one). The caller must hold Write or Admin in
 * every group named (site admins: any group), so nobody can put their own
 * runner into a group they do not belong to and run its tasks (403).
 */
export async function grantableGroupRoles(
  db: Db,
  user: AuthUser,
  relations: Readonly<Record<string, GroupWorkerRole>>,
): Promise<Map<number, GroupWorkerRole>> {
  const roles = new Map<number, GroupWorkerRole>();
  for (const [name, role] of Object.entries(relations)) {
    const group = await getGroupByName(db, name);
    if (!roleAtLeast(await effectiveRole(db, user, group.id), "Write")) {
      throw forbidden(`Write role in group ${group.group_name} required to grant it a role`);
    }
    roles.set(group.id, role);
  }
  return roles;
}

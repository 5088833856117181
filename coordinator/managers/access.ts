/**
 * What a user may do with a node manager, derived from the groups they share
 * exactly as for workers (`groups/resource_access.ts`): read (details),
 * write (tags, labels), admin (group roles, shutdown).
 */
import type { Db } from "../db/connect.ts";
import type { AuthUser } from "../http/context.ts";
import { accessViaSharedGroups, requireAccessLevel, type ResourceAccess } from "../groups/resource_access.ts";
import { type ManagerRow, userAccessToManager } from "./store.ts";

/** The highest access the user has to the manager, or null. */
export async function managerAccess(db: Db, user: AuthUser, manager: ManagerRow): Promise<ResourceAccess | null> {
  if (user.admin) return "admin";
  return accessViaSharedGroups(user, await userAccessToManager(db, user.id, manager.id), manager.creator_id);
}

/** Requires at least `min` access to the manager (403). */
export async function requireManagerAccess(
  db: Db,
  user: AuthUser,
  manager: ManagerRow,
  min: ResourceAccess,
): Promise<void> {
  requireAccessLevel(await managerAccess(db, user, manager), min, `manager ${manager.uuid}`);
}

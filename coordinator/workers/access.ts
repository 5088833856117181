/**
 * What a user may do with a worker, derived from the groups they share:
 * read (any shared group), write (user Write+ in a group that has Write+ on
 * the worker: tags, labels) and admin (user Admin in a group that is Admin
 * on the worker: roles, shutdown). Admin users may do everything.
 */
import type { Db } from "../db/connect.ts";
import type { AuthUser } from "../http/context.ts";
import { accessViaSharedGroups, requireAccessLevel, type ResourceAccess } from "../groups/resource_access.ts";
import { userAccessToWorker, type WorkerRow } from "./store.ts";

/** Levels of access to a worker. */
export type WorkerAccess = ResourceAccess;

/** The highest access the user has to the worker, or null. */
export async function workerAccess(db: Db, user: AuthUser, worker: WorkerRow): Promise<WorkerAccess | null> {
  if (user.admin) return "admin";
  return accessViaSharedGroups(user, await userAccessToWorker(db, user.id, worker.id), worker.creator_id);
}

/** Requires at least `min` access (403). */
export async function requireWorkerAccess(
  db: Db,
  user: AuthUser,
  worker: WorkerRow,
  min: WorkerAccess,
): Promise<void> {
  requireAccessLevel(await workerAccess(db, user, worker), min, `worker ${worker.worker_id}`);
}

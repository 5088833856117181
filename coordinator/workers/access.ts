/**
 * What a user may do with a worker, derived from the groups they share:
 * read (any shared group), write (user Write+ in a group that has Write+ on
 * the worker: tags, labels) and admin (user Admin in a group that is Admin
 * on the worker: roles, shutdown). Admin users may do everything.
 */
import type { Db } from "../db/connect.ts";
import { forbidden } from "../../shared/errors.ts";
import type { AuthUser } from "../http/context.ts";
import { userAccessToWorker, type WorkerRow } from "./store.ts";

/** Levels of access to a worker. */
export type WorkerAccess = "read" | "write" | "admin";

/** The highest access the user has to the worker, or null. */
export async function workerAccess(db: Db, user: AuthUser, worker: WorkerRow): Promise<WorkerAccess | null> {
  if (user.admin) return "admin";
  const pairs = await userAccessToWorker(db, user.id, worker.id);
  if (pairs.some((p) => p.userRole >= 2 && p.groupRole >= 2)) return "admin";
  if (pairs.some((p) => p.userRole >= 1 && p.groupRole >= 1)) return "write";
  if (pairs.length > 0 || worker.creator_id === user.id) return "read";
  return null;
}

const RANK: Record<WorkerAccess, number> = { read: 0, write: 1, admin: 2 };

/** Requires at least `min` access (403). */
export async function requireWorkerAccess(
  db: Db,
  user: AuthUser,
  worker: WorkerRow,
  min: WorkerAccess,
): Promise<void> {
  const access = await workerAccess(db, user, worker);
  if (access === null || RANK[access] < RANK[min]) {
    throw forbidden(`${min} access to worker ${worker.worker_id} required`);
  }
}

/**
 * Authentication middleware: resolves `Authorization: Bearer <token>` to the
 * calling user, rejecting forged, expired and rotated tokens (401) and users
 * that are not Active; `requireAdmin` further demands an admin user (403).
 * Worker and manager tokens stop working (401) once the user who registered
 * the worker or manager is locked or deleted.
 */
import type { MiddlewareHandler } from "hono";
import { forbidden, unauthorized } from "../../shared/errors.ts";
import type { AppDeps, AppEnv, AuthManager } from "../http/context.ts";
import { findUserByName } from "../users/store.ts";
import { findWorkerForAuth } from "../workers/store.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** User state code of an active user. */
const ACTIVE = 0;

/** Worker tokens carry signature 0; the worker row must still exist. */
export const WORKER_TOKEN_SIGNATURE = 0;

/**
 * Resolves a manager token (from an `Authorization` header value) to its
 * manager: valid signature, kind `manager`, current token signature and an
 * existing manager row. Used by REST middleware and the WebSocket upgrade.
 */
export async function authenticateManager(deps: AppDeps, header: string | undefined): Promise<AuthManager> {
  const token = bearerToken(header);
  if (token === null) throw unauthorized("missing bearer token");
  const claims = await deps.keys.verify(token);
  if (claims === null || claims.kind !== "manager" || !UUID.test(claims.sub)) {
    throw unauthorized("invalid or expired manager token");
  }
  const [row] = await deps.sql<{ id: number; token_signature: number; creator_state: number }[]>`
    SELECT m.id, m.token_signature, u.state AS creator_state
    FROM node_managers m JOIN users u ON u.id = m.creator_id WHERE m.uuid = ${claims.sub}`;
  if (!row) throw unauthorized("manager is not registered");
  if (row.token_signature !== claims.sign) throw unauthorized("manager token has been replaced");
  if (row.creator_state !== ACTIVE) throw unauthorized("the user who registered this manager is no longer active");
  return { id: row.id, uuid: claims.sub };
}

/** Requires a valid manager token; stores the manager in `c.var.manager`. */
export function requireManager(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("manager", await authenticateManager(deps, c.req.header("Authorization")));
    await next();
  };
}

/** Requires a valid worker token whose worker is still registered; stores it in `c.var.worker`. */
export function requireWorker(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header("Authorization"));
    if (token === null) throw unauthorized("missing bearer token");
    const claims = await deps.keys.verify(token);
    if (
      claims === null || claims.kind !== "worker" || claims.sign !== WORKER_TOKEN_SIGNATURE || !UUID.test(claims.sub)
    ) {
      throw unauthorized("invalid or expired worker token");
    }
    const worker = await findWorkerForAuth(deps.sql, claims.sub);
    if (worker === null) throw unauthorized("worker has been removed");
    if (worker.creator_state !== ACTIVE) throw unauthorized("the user who registered this worker is no longer active");
    c.set("worker", {
      id: worker.id,
      uuid: worker.worker_id,
      tags: worker.tags,
      state: worker.state,
      assignedTaskId: worker.assigned_task_id,
    });
    await next();
  };
}

/** Extracts the bearer token of a request, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1] : null;
}

/** Requires a valid user token and stores the user in `c.var.user`. */
export function requireUser(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header("Authorization"));
    if (token === null) throw unauthorized("missing bearer token");
    const claims = await deps.keys.verify(token);
    if (claims === null || claims.kind !== "user") throw unauthorized("invalid or expired token");
    const user = await findUserByName(deps.sql, claims.sub);
    if (user === null || user.auth_signature !== claims.sign) throw unauthorized("token has been revoked");
    if (user.state === 2) throw unauthorized("user has been deleted");
    if (user.state !== ACTIVE) throw forbidden(`user ${user.username} is locked`);
    c.set("user", { id: user.id, username: user.username, admin: user.admin });
    await next();
  };
}

/** Requires the authenticated user to be an admin. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.var.user.admin) throw forbidden("admin privileges required");
    await next();
  };
}

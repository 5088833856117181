/**
 * Bounds how long a request waits on a database that stopped answering:
 * the rest of the chain runs under `DatabaseAvailability.within`, so a
 * request stuck on PostgreSQL (packets dropped, a pool waiting for a
 * connection that never comes) is answered 503 `{"msg"}` once a probe finds
 * the database unreachable, instead of hanging. Requests that are merely
 * slow while the database answers are not cut short.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { DatabaseAvailability } from "../db/availability.ts";

/** The middleware; requests for which `exempt` is true (streamed blob uploads) are not bounded. */
export function databaseDeadline(
  database: DatabaseAvailability,
  exempt: (c: Context) => boolean = () => false,
): MiddlewareHandler {
  return async (c, next) => {
    if (exempt(c)) return await next();
    await database.within(next(), { method: c.req.method, path: c.req.path });
  };
}

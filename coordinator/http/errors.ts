/**
 * Maps every failure to the wire error format `{"msg": "..."}`: API errors
 * keep their status, unknown routes are 404, a value the database refuses
 * as data (out of range, unstorable text) is 400 naming the problem, a lost
 * database connection is 503 with `Retry-After`, and
 * anything unexpected is logged once with the request and answered 500
 * without internals.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "../../shared/errors.ts";
import { isDatabaseUnavailable, isDataException } from "../db/errors.ts";
import type { Logger } from "../../shared/log/logger.ts";

/** Builds the error handler; unexpected errors are logged with method and path. */
export function errorHandler(log: Logger): ErrorHandler {
  return (error: Error, c: Context) => {
    if (error instanceof ApiError) {
      return c.json({ msg: error.message }, error.status as 400);
    }
    if (error instanceof HTTPException) {
      return c.json({ msg: error.message || "request failed" }, error.status);
    }
    if (isDataException(error)) {
      log.warn("request carried a value the database refused", { method: c.req.method, path: c.req.path, error });
      return c.json({ msg: `invalid value: ${error.message}` }, 400);
    }
    if (isDatabaseUnavailable(error)) {
      log.warn("database unavailable; request answered 503", { method: c.req.method, path: c.req.path, error });
      c.header("Retry-After", "1");
      return c.json({ msg: "the database is unavailable; retry shortly" }, 503);
    }
    log.error("request failed", { method: c.req.method, path: c.req.path, error });
    return c.json({ msg: "internal server error" }, 500);
  };
}

/** 404 for routes that do not exist. */
export const notFoundHandler: NotFoundHandler = (c) =>
  c.json({ msg: `no route for ${c.req.method} ${c.req.path}` }, 404);

/**
 * Maps every failure to the wire error format `{"msg": "..."}`: API errors
 * keep their status, unknown routes are 404, a value the database refuses
 * as data (out of range, unstorable text) is 400 naming the problem, a lost
 * or unanswered database connection is 503 with `Retry-After` (saying so
 * when the request was given up unanswered; reported to
 * the availability tracker, which logs the outage once rather than each
 * request), and anything unexpected is logged once with the request and
 * answered 500 without internals.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, DATABASE_NO_ANSWER_MESSAGE, DATABASE_UNAVAILABLE_MESSAGE } from "../../shared/errors.ts";
import { DatabaseUnavailableError, isDatabaseUnavailable, isDataException } from "../db/errors.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { DatabaseAvailability } from "../db/availability.ts";

/**
 * Builds the error handler; unexpected errors are logged with method and
 * path. Without `database`, each 503 is logged on its own.
 */
export function errorHandler(log: Logger, database?: DatabaseAvailability): ErrorHandler {
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
      const context = { method: c.req.method, path: c.req.path };
      if (database === undefined) log.warn("database unavailable; request answered 503", { ...context, error });
      else database.failed(error, context);
      c.header("Retry-After", "1");
      const msg = error instanceof DatabaseUnavailableError ? DATABASE_NO_ANSWER_MESSAGE : DATABASE_UNAVAILABLE_MESSAGE;
      return c.json({ msg }, 503);
    }
    log.error("request failed", { method: c.req.method, path: c.req.path, error });
    return c.json({ msg: "internal server error" }, 500);
  };
}

/** 404 for routes that do not exist. */
export const notFoundHandler: NotFoundHandler = (c) =>
  c.json({ msg: `no route for ${c.req.method} ${c.req.path}` }, 404);

/** Recognises PostgreSQL error conditions the data access layer maps to API errors. */
import postgres from "postgres";

/** True for a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof postgres.PostgresError && error.code === "23505";
}

/** True when PostgreSQL chose this statement's transaction as a deadlock victim (SQLSTATE 40P01). */
export function isDeadlock(error: unknown): boolean {
  return error instanceof postgres.PostgresError && error.code === "40P01";
}

/** SQLSTATE raised by the task insert trigger for a Cancelled suite. */
export const CANCELLED_SUITE_SQLSTATE = "MXS01";

/** True when an insert targeted a Cancelled suite (see migration 0003). */
export function isCancelledSuite(error: unknown): error is postgres.PostgresError {
  return error instanceof postgres.PostgresError && error.code === CANCELLED_SUITE_SQLSTATE;
}

/** Code of `DatabaseUnavailableError`. */
export const DATABASE_UNAVAILABLE_CODE = "DATABASE_UNAVAILABLE";

/**
 * The database did not answer in time and a probe found it unreachable
 * (see `availability.ts`): the work waiting on it was given up.
 */
export class DatabaseUnavailableError extends Error {
  readonly code = DATABASE_UNAVAILABLE_CODE;
  constructor(message: string) {
    super(message);
    this.name = "DatabaseUnavailableError";
  }
}

/** Error codes postgres.js and the socket layer give a lost, refused or unanswered database connection. */
const CONNECTION_LOST_CODES = new Set([
  DATABASE_UNAVAILABLE_CODE,
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTCONN",
  "ERR_SOCKET_CLOSED",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
]);

/**
 * True when the database could not be reached or dropped the connection
 * (SQLSTATE class 08; 57P01–57P03: terminated, shutting down, starting up;
 * 53300: too many connections; a socket-level loss or a connection attempt
 * that timed out; or `DatabaseUnavailableError`): a transient condition,
 * answered 503 so the caller retries, never a 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  if (error instanceof postgres.PostgresError) {
    return code.startsWith("08") || /^57P0[123]$/.test(code) || code === "53300";
  }
  return CONNECTION_LOST_CODES.has(code);
}

/**
 * True for a PostgreSQL data exception (SQLSTATE class 22: a value out of
 * range, an unstorable character, a bad interval): the request carried a
 * value the schemas should have refused, so it is the caller's error.
 */
export function isDataException(error: unknown): error is postgres.PostgresError {
  return error instanceof postgres.PostgresError && typeof error.code === "string" && error.code.startsWith("22");
}

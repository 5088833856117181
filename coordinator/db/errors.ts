/** Recognises PostgreSQL error conditions the data access layer maps to API errors. */
import postgres from "postgres";

/** True for a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof postgres.PostgresError && error.code === "23505";
}

/** SQLSTATE raised by the task insert trigger for a Cancelled suite. */
export const CANCELLED_SUITE_SQLSTATE = "MXS01";

/** True when an insert targeted a Cancelled suite (see migration 0003). */
export function isCancelledSuite(error: unknown): error is postgres.PostgresError {
  return error instanceof postgres.PostgresError && error.code === CANCELLED_SUITE_SQLSTATE;
}

/**
 * True for a PostgreSQL data exception (SQLSTATE class 22: a value out of
 * range, an unstorable character, a bad interval): the request carried a
 * value the schemas should have refused, so it is the caller's error.
 */
export function isDataException(error: unknown): error is postgres.PostgresError {
  return error instanceof postgres.PostgresError && typeof error.code === "string" && error.code.startsWith("22");
}

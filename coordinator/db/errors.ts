/** Recognises PostgreSQL error conditions the data access layer maps to API errors. */
import postgres from "postgres";

/** True for a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof postgres.PostgresError && error.code === "23505";
}

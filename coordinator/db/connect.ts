/**
 * The coordinator's PostgreSQL connection pool (npm:postgres). Every data
 * access module takes a `Sql` so tests can point it at their own database.
 */
import postgres from "postgres";

/** A postgres.js connection pool. */
export type Sql = postgres.Sql;
/** A transaction handle inside `sql.begin`. */
export type Tx = postgres.TransactionSql;
/** Either a pool or a transaction: data access functions accept both. */
export type Db = Sql | Tx;

/** Opens a pool on `url`. Notices are dropped; bigint columns come back as numbers. */
export function connect(url: string, max = 10): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    types: {
      // int8 (ids, counters, byte sizes) fits a JS number in every Mitosis use.
      bigint: { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) },
    },
    transform: { undefined: null },
    connection: { application_name: "mitosis-coordinator" },
  });
}

/** A value bound as a jsonb parameter (plain strings would otherwise be encoded as JSON strings). */
export function jsonb(db: Db, value: unknown): ReturnType<Sql["json"]> {
  return db.json(value as postgres.JSONValue);
}

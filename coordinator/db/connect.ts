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

/** Connection options of a pool. */
export interface PoolOptions {
  /** Maximum connections (default 10). */
  max?: number;
  /**
   * Commit without waiting for the WAL flush. Only for statements whose loss
   * in a PostgreSQL crash is harmless (task claims: a lost claim reverts the
   * task to Ready, and delivery is at-least-once anyway).
   */
  asyncCommit?: boolean;
  /** Longest wait for a new connection to be ready, in seconds (default 30). */
  connectTimeoutS?: number;
  /** `application_name` of its connections (default `mitosis-coordinator`, `-dispatch` with `asyncCommit`). */
  applicationName?: string;
}

let driverGuardInstalled = false;

/**
 * postgres.js 3.4 schedules socket writes with `setImmediate`; when the
 * server ends the connection in between (a terminated backend, a PostgreSQL
 * crash), the write runs on a socket it has already dropped and throws
 * `TypeError: Cannot read properties of null (reading 'write')` outside any
 * promise, which would end the process. The query itself fails through its
 * own promise (connection lost), so this one error is logged and dropped.
 */
function guardDriverWriteAfterClose(): void {
  if (driverGuardInstalled) return;
  driverGuardInstalled = true;
  globalThis.addEventListener("error", (event) => {
    const error = event.error;
    if (
      error instanceof TypeError && /reading 'write'/.test(error.message) &&
      /postgres\/src\/connection\.js/.test(error.stack ?? "")
    ) {
      event.preventDefault();
      console.error(JSON.stringify({
        ts: new Date().toISOString(),
        level: "warn",
        msg: "database driver wrote to a closed connection; ignored (the query fails on its own)",
        error: error.message,
      }));
    }
  });
}

/**
 * Delay (seconds) before a pool connection that failed tries to connect
 * again: 50 ms doubling to 1 s, at 50–100 % (postgres.js's own grows to
 * 20 s, which would keep the coordinator waiting long after a database
 * outage ends).
 */
export function reconnectDelayS(retries: number): number {
  return Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2);
}

/** Opens a pool on `url`. Notices are dropped; bigint columns come back as numbers. */
export function connect(url: string, options: PoolOptions | number = {}): Sql {
  guardDriverWriteAfterClose();
  const { max = 10, asyncCommit = false, connectTimeoutS = 30, applicationName } = typeof options === "number"
    ? { max: options }
    : options;
  return postgres(url, {
    max,
    connect_timeout: connectTimeoutS,
    backoff: reconnectDelayS,
    onnotice: () => {},
    types: {
      // int8 (ids, counters, byte sizes) fits a JS number in every Mitosis use.
      bigint: { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) },
    },
    transform: { undefined: null },
    connection: {
      application_name: applicationName ?? (asyncCommit ? "mitosis-coordinator-dispatch" : "mitosis-coordinator"),
      ...(asyncCommit ? { synchronous_commit: "off" } : {}),
    },
  });
}

/** A value bound as a jsonb parameter (plain strings would otherwise be encoded as JSON strings). */
export function jsonb(db: Db, value: unknown): ReturnType<Sql["json"]> {
  return db.json(value as postgres.JSONValue);
}

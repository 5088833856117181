/**
 * What `/metrics` reads from the database at scrape time: active tasks,
 * suites, node managers and independent workers counted by state, and the
 * coordinators' connections to this database by state (`pg_stat_activity`).
 *
 * Each count is a `GROUP BY state` over a table with an index on `state` (or
 * a small table): archived tasks are left out, as their table only grows
 * (throughput comes from the report counters). The reads run in one
 * read-only transaction under a statement timeout.
 */
import type { Sql } from "../db/connect.ts";

/** What is counted by state. */
export type CountedKind = "task" | "suite" | "manager" | "worker";

/** Rows of one kind in one state (a database state code). */
export interface StateCount {
  kind: CountedKind;
  state: number;
  count: number;
}

/** Database connections of one Mitosis application name in one `pg_stat_activity` state. */
export interface ConnectionCount {
  application: string;
  state: string;
  count: number;
}

/** One scrape's reads. */
export interface StateCounts {
  states: StateCount[];
  connections: ConnectionCount[];
}

/** Reads the counts; each statement may take at most `statementTimeoutMs`. */
export async function readStateCounts(sql: Sql, statementTimeoutMs: number): Promise<StateCounts> {
  return await sql.begin("read only", async (tx) => {
    await tx`SELECT set_config('statement_timeout', ${String(statementTimeoutMs)}, true)`;
    const states = await tx<StateCount[]>`
      SELECT 'task' AS kind, state, count(*)::int AS count FROM active_tasks GROUP BY state
      UNION ALL SELECT 'suite', state, count(*)::int FROM task_suites GROUP BY state
      UNION ALL SELECT 'manager', state, count(*)::int FROM node_managers GROUP BY state
      UNION ALL SELECT 'worker', state, count(*)::int FROM workers GROUP BY state`;
    const connections = await tx<ConnectionCount[]>`
      SELECT application_name AS application, coalesce(state, 'unknown') AS state, count(*)::int AS count
      FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE 'mitosis-coordinator%'
      GROUP BY 1, 2`;
    return { states: [...states], connections: [...connections] };
  });
}

/**
 * The database side of a performance run, read from PostgreSQL's own
 * statistics (`pg_stat_statements` is not loaded by the embedded cluster):
 *
 * - `trackFunctions` turns on `track_functions = 'pl'` for one database, so
 *   `functionStats` can read the calls and time of the coordinator's
 *   PL/pgSQL functions (the claim, `claim_suite_tasks`) from
 *   `pg_stat_user_functions`. Backends publish their counts when they exit
 *   (and at most once a second while busy): read them after the coordinator
 *   has stopped.
 * - `DatabaseActivity` samples `pg_stat_activity` of one database: how many
 *   of the coordinator's connections exist and how many run a statement,
 *   per pool (`application_name`), for the pools' saturation.
 */
import { connect } from "../../coordinator/db/connect.ts";

/** The database name in a PostgreSQL URL. */
function databaseName(dbUrl: string): string {
  return decodeURIComponent(new URL(dbUrl).pathname.slice(1));
}

/** Makes new sessions of `dbUrl`'s database count PL/pgSQL function calls (superuser). */
export async function trackFunctions(dbUrl: string): Promise<void> {
  const sql = connect(dbUrl, 1);
  try {
    await sql.unsafe(`ALTER DATABASE "${databaseName(dbUrl).replaceAll('"', '""')}" SET track_functions = 'pl'`);
  } finally {
    await sql.end();
  }
}

/** Calls and time of one function. */
export interface FunctionStats {
  calls: number;
  /** Mean time per call including the functions it calls (ms). */
  meanMs: number;
  /** Total time (ms). */
  totalMs: number;
}

/** `pg_stat_user_functions` of function `name` in `dbUrl`'s database (zeros when never called). */
export async function functionStats(dbUrl: string, name: string): Promise<FunctionStats> {
  const sql = connect(dbUrl, 1);
  try {
    const rows = await sql<{ calls: number; total_time: number }[]>`
      SELECT calls, total_time FROM pg_stat_user_functions WHERE funcname = ${name}`;
    const calls = rows.reduce((sum, r) => sum + Number(r.calls), 0);
    const totalMs = rows.reduce((sum, r) => sum + Number(r.total_time), 0);
    return { calls, totalMs, meanMs: calls === 0 ? NaN : totalMs / calls };
  } finally {
    await sql.end();
  }
}

/** One pool's connections in one sample. */
export interface PoolSample {
  /** Connections open. */
  open: number;
  /** Connections running a statement. */
  active: number;
}

/** Per-pool activity over a run. */
export interface PoolActivity {
  /** The connections' `application_name`. */
  application: string;
  samples: number;
  /** Mean and peak connections running a statement. */
  meanActive: number;
  peakActive: number;
  peakOpen: number;
}

/** Samples the connections to one database every `intervalMs` until stopped. */
export class DatabaseActivity implements AsyncDisposable {
  readonly #sql: ReturnType<typeof connect>;
  readonly #database: string;
  readonly #samples: Map<string, PoolSample>[] = [];
  readonly #loop: Promise<void>;
  #stopped = false;
  #ended: Promise<void> | undefined;

  constructor(dbUrl: string, intervalMs = 250) {
    this.#database = databaseName(dbUrl);
    // Its own session, which the query leaves out; a database in the same cluster, so the views are the same.
    this.#sql = connect(dbUrl, { max: 1, applicationName: "acceptance-activity" });
    this.#loop = this.#run(intervalMs);
  }

  async #run(intervalMs: number): Promise<void> {
    while (!this.#stopped) {
      try {
        const rows = await this.#sql<{ pool: string; open: number; active: number }[]>`
          SELECT application_name AS pool, count(*)::int AS open,
            (count(*) FILTER (WHERE state = 'active'))::int AS active
          FROM pg_stat_activity
          WHERE datname = ${this.#database} AND pid <> pg_backend_pid() AND backend_type = 'client backend'
          GROUP BY application_name`;
        this.#samples.push(new Map(rows.map((r) => [r.pool, { open: r.open, active: r.active }])));
      } catch {
        // the cluster is busy or going away: a sample less
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /** Stops sampling and closes its connection (idempotent). */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#ended ??= this.#loop.then(() => this.#sql.end());
    return this.#ended;
  }

  /** Activity of each pool seen (`application_name`), over every sample taken. */
  pools(): PoolActivity[] {
    const names = new Set(this.#samples.flatMap((s) => [...s.keys()]));
    return [...names].sort().map((application) => {
      const per = this.#samples.map((s) => s.get(application) ?? { open: 0, active: 0 });
      return {
        application,
        samples: per.length,
        meanActive: per.reduce((sum, s) => sum + s.active, 0) / Math.max(1, per.length),
        peakActive: Math.max(0, ...per.map((s) => s.active)),
        peakOpen: Math.max(0, ...per.map((s) => s.open)),
      };
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

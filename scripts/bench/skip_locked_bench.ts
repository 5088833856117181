/**
 * The floor under any PostgreSQL-backed queue on this machine: plain SQL
 * claim + complete of queue rows with `FOR UPDATE SKIP LOCKED`, no
 * application server in between. On a fresh database of the embedded
 * PostgreSQL, N rows are inserted in one statement, then `--loops`
 * connections each repeat, until none is left: claim up to `--batch` Ready
 * rows (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`,
 * one autocommitted statement), then mark them Finished (a second statement).
 * Reports rows/s, the median of `--runs` runs.
 *
 * Run: deno run --allow-all scripts/bench/skip_locked_bench.ts [--rows 5000] [--batch 64] [--loops 4] [--runs 3]
 */
import { parseArgs } from "node:util";
import { connect } from "../../coordinator/db/connect.ts";
import { freshDatabase } from "../../tests/support/postgres.ts";
import { median, printTable } from "./stats.ts";

/** Sizes of a SKIP LOCKED run. */
export interface SkipLockedOptions {
  rows: number;
  /** Rows per claim. */
  batch: number;
  /** Concurrent claim loops, one connection each. */
  loops: number;
}

/** Claims and completes `rows` queue rows on the (empty) database `dbUrl`; rows per second. */
export async function skipLockedRun(dbUrl: string, { rows, batch, loops }: SkipLockedOptions): Promise<number> {
  const sql = connect(dbUrl, loops);
  try {
    await sql`CREATE TABLE queue (
      id bigserial PRIMARY KEY,
      state smallint NOT NULL DEFAULT 0,
      claimed_at timestamptz,
      finished_at timestamptz,
      payload jsonb NOT NULL DEFAULT '{}'
    )`;
    await sql`CREATE INDEX queue_ready ON queue (id) WHERE state = 0`;
    await sql`INSERT INTO queue (payload) SELECT '{"args": ["true"]}' FROM generate_series(1, ${rows})`;
    const started = performance.now();
    const counts = await Promise.all(Array.from({ length: loops }, async () => {
      let done = 0;
      for (;;) {
        const claimed = await sql<{ id: number }[]>`
          UPDATE queue SET state = 1, claimed_at = now()
          WHERE id IN (SELECT id FROM queue WHERE state = 0 ORDER BY id LIMIT ${batch} FOR UPDATE SKIP LOCKED)
          RETURNING id`;
        if (claimed.length === 0) return done;
        const ids = claimed.map((r) => r.id);
        await sql`UPDATE queue SET state = 2, finished_at = now() WHERE id = ANY(${ids}::bigint[])`;
        done += ids.length;
      }
    }));
    const rate = rows / ((performance.now() - started) / 1000);
    const done = counts.reduce((a, b) => a + b, 0);
    const [{ finished }] = await sql<
      { finished: number }[]
    >`SELECT count(*)::int AS finished FROM queue WHERE state = 2`;
    if (done !== rows || finished !== rows) throw new Error(`${done} claimed, ${finished} of ${rows} rows finished`);
    return rate;
  } finally {
    await sql.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: "5000" },
      batch: { type: "string", default: "64" },
      loops: { type: "string", default: "4" },
      runs: { type: "string", default: "3" },
    },
  });
  const options: SkipLockedOptions = {
    rows: Number(values.rows),
    batch: Number(values.batch),
    loops: Number(values.loops),
  };
  const rates: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) rates.push(await skipLockedRun(await freshDatabase(), options));
  printTable(["figure", "median", "runs"], [[
    `SKIP LOCKED claim+complete, batch ${options.batch}, ${options.loops} connections (rows/s)`,
    median(rates).toFixed(0),
    rates.map((r) => r.toFixed(0)).join(" "),
  ]]);
}

if (import.meta.main) {
  await main();
  Deno.exit(0); // stops the shared embedded PostgreSQL (unload handler)
}

/**
 * graphile-worker (npm `graphile-worker`, run in this process under Deno's
 * Node compatibility with its own `pg` pool) as a reference point for the
 * task runner: on a fresh database of the embedded PostgreSQL, it installs
 * its schema, bulk-adds N no-op jobs with `addJobs` (one statement), then
 * runs a worker pool whose task handler does nothing, timed from the start of
 * the runner to the queue being drained (every handler called and no job row
 * left). Batched job fetching (`localQueue`) and batched completion
 * (`completeJobBatchDelay`) are on, as graphile-worker recommends for high
 * throughput. Prints jobs/s (and the bulk-add rate) per configuration.
 *
 * Run: deno run --allow-all scripts/bench/graphile_worker_bench.ts [--jobs 5000] [--runs 3]
 *        [--concurrency 16] [--local-queue 500] [--complete-batch-delay 0] [--sweep]
 */
import { parseArgs } from "node:util";
// @ts-types="./graphile_worker.d.ts"
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import { connect } from "../../coordinator/db/connect.ts";
import { freshDatabase } from "../../tests/support/postgres.ts";
import { median, printTable } from "./stats.ts";

/** How graphile-worker runs the jobs. */
export interface GraphileSettings {
  /** Jobs run at once by the one worker pool (`concurrentJobs`). */
  concurrency: number;
  /** Jobs fetched (and locked) per query (`localQueue.size`; ≤ 1 disables the local queue). */
  localQueue: number;
  /** `completeJobBatchDelay` in ms (-1 disables batched completion). */
  completeBatchDelay: number;
}

/** The settings that gave graphile-worker its best throughput on a 2-CPU machine. */
export const GRAPHILE_DEFAULTS: GraphileSettings = { concurrency: 16, localQueue: 500, completeBatchDelay: 0 };

/** Result of one graphile-worker run. */
export interface GraphileRun {
  /** Jobs per second from the runner's start to the queue being drained. */
  jobsPerS: number;
  /** Jobs per second of the bulk add (`addJobs`, one call). */
  addPerS: number;
}

/** A graphile-worker logger that drops everything but errors (written to stderr). */
const quietLogger = new Logger(() => (level, message) => {
  if (level === "error") console.error(`[graphile-worker] ${message}`);
});

/** Runs `jobs` no-op jobs through graphile-worker on the (empty) database `dbUrl`. */
export async function graphileWorkerRun(dbUrl: string, jobs: number, settings: GraphileSettings): Promise<GraphileRun> {
  const utils = await makeWorkerUtils({ connectionString: dbUrl, logger: quietLogger });
  const sql = connect(dbUrl, 1);
  try {
    await utils.migrate();
    let started = performance.now();
    await utils.addJobs(Array.from({ length: jobs }, () => ({ identifier: "noop", payload: {} })));
    const addPerS = jobs / ((performance.now() - started) / 1000);

    let handled = 0;
    const { promise: allHandled, resolve } = Promise.withResolvers<void>();
    started = performance.now();
    const runner = await run({
      connectionString: dbUrl,
      logger: quietLogger,
      noHandleSignals: true,
      concurrency: settings.concurrency,
      maxPoolSize: Math.max(10, settings.concurrency + 2),
      taskList: {
        noop: () => {
          if (++handled === jobs) resolve();
        },
      },
      preset: {
        worker: {
          localQueue: settings.localQueue > 1 ? { size: settings.localQueue } : undefined,
          completeJobBatchDelay: settings.completeBatchDelay,
        },
      },
    });
    try {
      await allHandled;
      // Drained: the completions (possibly batched) have removed every job row.
      for (;;) {
        const [{ left }] = await sql<
          { left: number }[]
        >`SELECT count(*)::int AS left FROM graphile_worker._private_jobs`;
        if (left === 0) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      const jobsPerS = jobs / ((performance.now() - started) / 1000);
      if (handled !== jobs) throw new Error(`graphile-worker ran ${handled} handlers for ${jobs} jobs`);
      return { jobsPerS, addPerS };
    } finally {
      await runner.stop();
    }
  } finally {
    await sql.end();
    await utils.release();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "5000" },
      runs: { type: "string", default: "3" },
      concurrency: { type: "string", default: String(GRAPHILE_DEFAULTS.concurrency) },
      "local-queue": { type: "string", default: String(GRAPHILE_DEFAULTS.localQueue) },
      "complete-batch-delay": { type: "string", default: String(GRAPHILE_DEFAULTS.completeBatchDelay) },
      sweep: { type: "boolean", default: false },
    },
  });
  const jobs = Number(values.jobs);
  const runs = Number(values.runs);
  const given: GraphileSettings = {
    concurrency: Number(values.concurrency),
    localQueue: Number(values["local-queue"]),
    completeBatchDelay: Number(values["complete-batch-delay"]),
  };
  const configs: GraphileSettings[] = values.sweep
    ? [1, 4, 16, 64].flatMap((concurrency) =>
      [-1, 100, 500].flatMap((localQueue) =>
        [-1, 0].map((completeBatchDelay) => ({ concurrency, localQueue, completeBatchDelay }))
      )
    )
    : [given];
  const rows: (string | number)[][] = [];
  for (const settings of configs) {
    const results: GraphileRun[] = [];
    for (let i = 0; i < runs; i++) results.push(await graphileWorkerRun(await freshDatabase(), jobs, settings));
    rows.push([
      settings.concurrency,
      settings.localQueue,
      settings.completeBatchDelay,
      median(results.map((r) => r.jobsPerS)).toFixed(0),
      results.map((r) => r.jobsPerS.toFixed(0)).join(" "),
      median(results.map((r) => r.addPerS)).toFixed(0),
    ]);
  }
  console.log(`\ngraphile-worker, ${jobs} no-op jobs, median of ${runs} runs\n`);
  printTable(["concurrency", "localQueue", "completeJobBatchDelay", "jobs/s", "runs", "addJobs (jobs/s)"], rows);
}

if (import.meta.main) {
  await main();
  Deno.exit(0); // stops the shared embedded PostgreSQL (unload handler)
}

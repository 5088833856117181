/**
 * The benchmark suite: every headline figure of the task runner, measured in
 * one process tree on ONE embedded PostgreSQL (started on first use, see
 * `tests/support/postgres.ts`; every part gets its own fresh database on it),
 * next to the reference points that bound it:
 *
 * 1. raw spawn rate of `true` from Deno, serial and with 2 spawners
 *    (`manager_e2e_bench.ts` `spawnRate`) — no task runner here can beat it;
 * 2. the full stack end to end: a coordinator process, one `mitosis-manager`
 *    process with `--workers` (16) managed workers, `--tasks` (5,000) no-op
 *    tasks, timed from the manager's connection to the suite turning
 *    Complete; peak RSS of one managed worker and of the manager process
 *    (`realRun`);
 * 3. claim + commit through the coordinator with a scripted manager in this
 *    process and no task processes: `FetchTask(64)` then one `ReportTasks`
 *    completing the batch (`Complete`, as `mitosis-manager` reports), with 4
 *    concurrent fetch loops (`wsFetchRun`);
 * 4. WebSocket `FetchTask(1)` round trip with real claims, p50 and p99, 1,000
 *    sequential requests (`wsFetchRun`);
 * 5. graphile-worker (npm, in this process under Deno's Node compatibility)
 *    draining the same number of no-op jobs (`graphileWorkerRun`, after a
 *    warm-up of 500 jobs);
 * 6. plain-SQL `FOR UPDATE SKIP LOCKED` claim + complete of as many queue
 *    rows, batches of 64 over 4 connections (`skipLockedRun`).
 *
 * Parts 2, 3 and 5 (and 6) run the same number of tasks / jobs / rows. Each
 * figure is the median of `--runs` runs (default 3; `--quick`: 1 run and
 * fewer spawns, under 5 minutes on 2 CPUs). Prints a table, then, as the
 * last line of stdout, one JSON object: `e2e_tasks_per_s`,
 * `raw_spawn_2way_per_s`, `claim_commit_per_s`, `graphile_worker_jobs_per_s`,
 * `fetch_p50_ms`, `fetch_p99_ms`, `worker_rss_mb`, `manager_rss_mb` (RSS in
 * MiB). Progress goes to stderr.
 *
 * Run: deno task bench [--quick] [--runs 3] [--tasks 5000] [--workers 16] [--prefetch 64]
 */
import { parseArgs } from "node:util";
import denoConfig from "../../deno.json" with { type: "json" };
import { freshDatabase } from "../../tests/support/postgres.ts";
import { type RealRun, realRun, spawnRate } from "./manager_e2e_bench.ts";
import { type WsFetchRun, wsFetchRun } from "./ws_fetch_bench.ts";
import { GRAPHILE_DEFAULTS, type GraphileRun, graphileWorkerRun } from "./graphile_worker_bench.ts";
import { skipLockedRun } from "./skip_locked_bench.ts";
import { median, printTable } from "./stats.ts";

/** The figures of the JSON summary line. */
export interface BenchSummary {
  e2e_tasks_per_s: number;
  raw_spawn_2way_per_s: number;
  claim_commit_per_s: number;
  graphile_worker_jobs_per_s: number;
  fetch_p50_ms: number;
  fetch_p99_ms: number;
  worker_rss_mb: number;
  manager_rss_mb: number;
}

/** Everything measured in one run. */
interface Run {
  serial: number;
  twoWay: number;
  skipLocked: number;
  graphile: GraphileRun;
  ws: WsFetchRun;
  real: RealRun;
}

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    tasks: { type: "string", default: "5000" },
    workers: { type: "string", default: "16" },
    prefetch: { type: "string", default: "64" },
  },
});
const quick = values.quick;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const tasks = Number(values.tasks);
const workers = Number(values.workers);
const prefetch = Number(values.prefetch);
const spawns = quick ? 1_000 : 2_000;
const LATENCY_SAMPLES = 1_000;
const CLAIM_LOOPS = 4;
const SQL_BATCH = 64;
const GRAPHILE_WARMUP_JOBS = 500;

const step = (what: string) => console.error(`[bench] ${what}`);
const began = performance.now();

step("warming graphile-worker up");
await graphileWorkerRun(await freshDatabase(), GRAPHILE_WARMUP_JOBS, GRAPHILE_DEFAULTS);
const results: Run[] = [];
for (let i = 0; i < runs; i++) {
  const run = `run ${i + 1}/${runs}`;
  step(`${run}: spawning \`true\``);
  const serial = await spawnRate(spawns, 1);
  const twoWay = await spawnRate(2 * spawns, 2);
  step(`${run}: SKIP LOCKED, ${tasks} rows`);
  const skipLocked = await skipLockedRun(await freshDatabase(), { rows: tasks, batch: SQL_BATCH, loops: CLAIM_LOOPS });
  step(`${run}: graphile-worker, ${tasks} jobs`);
  const graphile = await graphileWorkerRun(await freshDatabase(), tasks, GRAPHILE_DEFAULTS);
  step(`${run}: scripted manager over the WebSocket, ${LATENCY_SAMPLES} + ${tasks} tasks`);
  const ws = await wsFetchRun({ latencySamples: LATENCY_SAMPLES, tasks, loops: CLAIM_LOOPS });
  step(`${run}: full stack, ${tasks} tasks`);
  const real = await realRun({ tasks, workers, prefetch }, (what) => step(`${run}: ${what}`));
  results.push({ serial, twoWay, skipLocked, graphile, ws, real });
}

const pick = (f: (r: Run) => number) => median(results.map(f));
const row = (label: string, f: (r: Run) => number, digits: number): string[] => [
  label,
  pick(f).toFixed(digits),
  results.map((r) => f(r).toFixed(digits)).join(" "),
];
const { concurrency, localQueue, completeBatchDelay } = GRAPHILE_DEFAULTS;
console.log(
  `\n${tasks} no-op tasks per part, ${workers} workers, prefetch ${prefetch}, ${navigator.hardwareConcurrency} CPUs, ` +
    `median of ${runs} run(s)${quick ? " (--quick)" : ""}; Deno ${Deno.version.deno}; ` +
    `${denoConfig.imports["graphile-worker"]} in-process (Node compatibility)\n`,
);
printTable(["figure", "median", "runs"], [
  row(`raw \`true\` spawn rate, serial (spawns/s, ${spawns})`, (r) => r.serial, 0),
  row(`raw \`true\` spawn rate, 2-way (spawns/s, ${2 * spawns})`, (r) => r.twoWay, 0),
  row(`full stack: coordinator + 1 manager × ${workers} workers (tasks/s)`, (r) => r.real.rate, 0),
  row("full stack: / raw 2-way spawn rate", (r) => r.real.rate / r.twoWay, 2),
  row("full stack: managed worker RSS, peak (MiB)", (r) => r.real.workerRssMax, 1),
  row("full stack: manager RSS, peak (MiB)", (r) => r.real.managerRssMax, 1),
  row(
    `scripted manager: claim + ReportTasks(Complete), FetchTask(64), ${CLAIM_LOOPS} loops (tasks/s)`,
    (r) => r.ws.concurrent,
    0,
  ),
  row("scripted manager: claim + ReportTasks(Complete), FetchTask(64), 1 loop (tasks/s)", (r) => r.ws.oneLoop, 0),
  row(`scripted manager: FetchTask(1) round trip p50 (ms, ${LATENCY_SAMPLES} sequential)`, (r) => r.ws.p50, 3),
  row("scripted manager: FetchTask(1) round trip p95 (ms)", (r) => r.ws.p95, 3),
  row("scripted manager: FetchTask(1) round trip p99 (ms)", (r) => r.ws.p99, 3),
  row(
    `graphile-worker: jobs/s (concurrency ${concurrency}, localQueue ${localQueue}, ` +
      `completeJobBatchDelay ${completeBatchDelay})`,
    (r) => r.graphile.jobsPerS,
    0,
  ),
  row("graphile-worker: addJobs bulk insert (jobs/s)", (r) => r.graphile.addPerS, 0),
  row(
    `plain SQL SKIP LOCKED claim+complete, batch ${SQL_BATCH}, ${CLAIM_LOOPS} connections (rows/s)`,
    (r) => r.skipLocked,
    0,
  ),
]);
console.log(`\nwall time ${((performance.now() - began) / 1000).toFixed(0)} s\n`);
const round = (n: number, digits: number) => Number(n.toFixed(digits));
const summary: BenchSummary = {
  e2e_tasks_per_s: round(pick((r) => r.real.rate), 1),
  raw_spawn_2way_per_s: round(pick((r) => r.twoWay), 0),
  claim_commit_per_s: round(pick((r) => r.ws.concurrent), 0),
  graphile_worker_jobs_per_s: round(pick((r) => r.graphile.jobsPerS), 0),
  fetch_p50_ms: round(pick((r) => r.ws.p50), 3),
  fetch_p99_ms: round(pick((r) => r.ws.p99), 3),
  worker_rss_mb: round(pick((r) => r.real.workerRssMax), 1),
  manager_rss_mb: round(pick((r) => r.real.managerRssMax), 1),
};
console.log(JSON.stringify(summary));
Deno.exit(0); // stops the shared embedded PostgreSQL (unload handler)

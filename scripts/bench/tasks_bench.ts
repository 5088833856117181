/**
 * Benchmarks of the task path through a real coordinator process (on the
 * embedded PostgreSQL, loopback HTTP; clients run in this process):
 * - batch submission throughput (10k tasks in batches of 1,000),
 * - claim + Finish + Commit throughput with 8 polling workers,
 * - `POST /tasks` latency under 16 concurrent clients.
 * Each figure is the median of `--runs` runs (default 3). Prints a table.
 *
 * Run: deno run --allow-all scripts/bench/tasks_bench.ts [--runs N]
 */
import { startBenchCoordinator } from "./coordinator.ts";
import { parseArgs } from "node:util";
import { call } from "../../tests/support/http.ts";
import { noopTask, registerWorker } from "../../tests/support/workers_api.ts";
import { median, printTable, quantile } from "./stats.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const runs = Number(values.runs);

async function once() {
  await using bench = await startBenchCoordinator();
  const coord = bench.coord;
  const { token, group } = bench;

  // 1. Batch submission: 10 batches of 1,000.
  const batch = Array.from({ length: 1000 }, () => noopTask(group));
  let started = performance.now();
  for (let i = 0; i < 10; i++) {
    const res = await call(coord.url, "POST", "/tasks/submit", { token, body: { tasks: batch } });
    if (res.status !== 200) throw new Error(res.text);
  }
  const submitRate = 10_000 / ((performance.now() - started) / 1000);

  // 2. Claim + Finish + Commit with 8 workers over the 10k tasks.
  const workers = await Promise.all(Array.from({ length: 8 }, () => registerWorker(coord.url, token)));
  let done = 0;
  started = performance.now();
  await Promise.all(workers.map(async (w) => {
    for (let task = await w.fetch(); task !== null; task = await w.fetch()) {
      await w.complete(task);
      done++;
    }
  }));
  const claimRate = done / ((performance.now() - started) / 1000);

  // 3. POST /tasks latency, 16 concurrent clients × 125 requests.
  const latencies: number[] = [];
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = 0; i < 125; i++) {
      const t0 = performance.now();
      const res = await call(coord.url, "POST", "/tasks", { token, body: noopTask(group) });
      latencies.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(res.text);
    }
  }));
  return { submitRate, claimRate, done, p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95) };
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
if (results.some((r) => r.done !== 10_000)) throw new Error("not every task was committed");
printTable(["figure", "median", "runs"], [
  [
    "batch submit (tasks/s, 10k in batches of 1k)",
    median(results.map((r) => r.submitRate)).toFixed(0),
    results.map((r) => r.submitRate.toFixed(0)).join(" "),
  ],
  [
    "claim+finish+commit, 8 HTTP workers (tasks/s)",
    median(results.map((r) => r.claimRate)).toFixed(0),
    results.map((r) => r.claimRate.toFixed(0)).join(" "),
  ],
  [
    "POST /tasks p50 (ms), 16 clients",
    median(results.map((r) => r.p50)).toFixed(2),
    results.map((r) => r.p50.toFixed(2)).join(" "),
  ],
  [
    "POST /tasks p95 (ms), 16 clients",
    median(results.map((r) => r.p95)).toFixed(2),
    results.map((r) => r.p95.toFixed(2)).join(" "),
  ],
]);
Deno.exit(0);

/**
 * Benchmarks of the node-manager WebSocket (`/ws/managers`) against a real
 * coordinator process (embedded PostgreSQL, loopback; the scripted manager
 * runs in this process and validates every reply with the wire schema):
 * - `FetchTask {max_count: 1}` round-trip latency, 1,000 sequential requests
 *   (each a real claim, committed afterwards) against a suite holding them
 *   plus the tasks of the next step (SPEC §9: p50 < 1 ms, p95 < 10 ms,
 *   p99 < 50 ms);
 * - claim + commit throughput over `--tasks` further tasks (default 9,000):
 *   `FetchTask {max_count: 64}`, then one `ReportTasks` completing the whole
 *   batch (`Complete`: Finish and Commit in one, as `mitosis-manager`
 *   reports); half of them with one fetch loop, the other half with 4
 *   concurrent loops on the same connection.
 * Each figure is the median of `--runs` runs (default 3). Prints a table.
 * The measurement (`wsFetchRun`) is exported for `bench.ts`.
 *
 * Run: deno run --allow-all scripts/bench/ws_fetch_bench.ts [--runs N] [--tasks 9000]
 */
import { createNoopSuite, startBenchCoordinator, suiteState } from "./coordinator.ts";
import { parseArgs } from "node:util";
import { registerManager, WsManager } from "../../tests/support/ws_manager.ts";
import type { ManagedTask } from "../../shared/wire/manager_ws.ts";
import { median, printTable, quantile } from "./stats.ts";

/** Tasks per FetchTask in the claim + commit loops. */
const BATCH = 64;

/** Sizes of a WebSocket benchmark run. */
export interface WsFetchOptions {
  /** Sequential FetchTask(1) requests timed. */
  latencySamples: number;
  /** Tasks claimed and committed in batches after the latency part. */
  tasks: number;
  /** Concurrent fetch loops in the second half of the claim + commit part. */
  loops: number;
}

/** Result of one WebSocket benchmark run. */
export interface WsFetchRun {
  /** FetchTask(1) round trip quantiles (ms). */
  p50: number;
  p95: number;
  p99: number;
  /** Claim + Complete, one fetch loop (tasks/s). */
  oneLoop: number;
  /** Claim + Complete, `loops` concurrent fetch loops (tasks/s). */
  concurrent: number;
}

/**
 * Fetches batches and completes each with one `ReportTasks` until `limit`
 * tasks are done or the suite is drained; returns how many.
 */
export async function claimAndCommit(manager: WsManager, limit = Infinity): Promise<number> {
  let done = 0;
  while (done < limit) {
    const { tasks } = await manager.fetch(Math.min(BATCH, limit - done));
    if (tasks.length === 0) break;
    const { results } = await manager.reportMany(tasks.map((t) => ({
      task_id: t.id,
      attempt: t.attempt,
      op: { Complete: { exit_status: 0, msg: null } },
    })));
    const refused = results.filter((r) => !r.success);
    if (refused.length > 0) throw new Error(`${refused.length} completions refused: ${refused[0].error}`);
    done += tasks.length;
  }
  return done;
}

/**
 * One run on its own coordinator process (fresh database of the shared
 * embedded PostgreSQL); throws unless every task was committed and the suite
 * turned Complete.
 */
export async function wsFetchRun({ latencySamples, tasks, loops }: WsFetchOptions): Promise<WsFetchRun> {
  await using bench = await startBenchCoordinator();
  const coord = bench.coord;
  const { token, group } = bench;
  const total = latencySamples + tasks;
  const suite = await createNoopSuite(coord.url, token, group, total, { worker_count: 16 });

  const creds = await registerManager(coord.url, token);
  const manager = await WsManager.connect(coord.url, creds);
  await manager.heartbeat("Idle");
  await manager.nextPush("SuiteAssigned");

  // 1. Sequential FetchTask(1) latency; the claims are committed afterwards.
  const latencies: number[] = [];
  const held: ManagedTask[] = [];
  for (let i = 0; i < latencySamples; i++) {
    const t0 = performance.now();
    const reply = await manager.fetch(1);
    latencies.push(performance.now() - t0);
    if (reply.task === null) throw new Error("suite ran dry");
    held.push(reply.task);
  }
  await Promise.all(held.map((t) => manager.commit(t)));

  // 2. Claim + commit throughput, one loop over half of the rest.
  let started = performance.now();
  const first = await claimAndCommit(manager, Math.floor(tasks / 2));
  const oneLoop = first / ((performance.now() - started) / 1000);

  // 3. Concurrent loops on the same connection over the other half.
  started = performance.now();
  const counts = await Promise.all(Array.from({ length: loops }, () => claimAndCommit(manager)));
  const second = counts.reduce((a, b) => a + b, 0);
  const concurrent = second / ((performance.now() - started) / 1000);

  const { state_name: state } = await suiteState(coord.url, token, suite);
  await manager.close();
  const committed = latencySamples + first + second;
  if (committed !== total || state !== "Complete") {
    throw new Error(`${committed} of ${total} tasks committed, suite ${state}`);
  }
  return {
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    p99: quantile(latencies, 0.99),
    oneLoop,
    concurrent,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "3" }, tasks: { type: "string", default: "9000" } },
  });
  const options: WsFetchOptions = { latencySamples: 1_000, tasks: Number(values.tasks), loops: 4 };
  const results: WsFetchRun[] = [];
  for (let i = 0; i < Number(values.runs); i++) results.push(await wsFetchRun(options));
  const row = (label: string, pick: (r: WsFetchRun) => number, digits: number) => [
    label,
    median(results.map(pick)).toFixed(digits),
    results.map((r) => pick(r).toFixed(digits)).join(" "),
  ];
  printTable(["figure", "median", "runs"], [
    row("FetchTask(1) round trip p50 (ms), 1,000 sequential", (r) => r.p50, 3),
    row("FetchTask(1) round trip p95 (ms)", (r) => r.p95, 3),
    row("FetchTask(1) round trip p99 (ms)", (r) => r.p99, 3),
    row("claim + ReportTasks(Complete), FetchTask(64), 1 loop (tasks/s)", (r) => r.oneLoop, 0),
    row("claim + ReportTasks(Complete), FetchTask(64), 4 loops (tasks/s)", (r) => r.concurrent, 0),
  ]);
}

if (import.meta.main) {
  await main();
  Deno.exit(0); // stops the shared embedded PostgreSQL (unload handler)
}

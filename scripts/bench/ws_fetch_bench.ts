/**
 * Benchmarks of the node-manager WebSocket (`/ws/managers`) against a real
 * coordinator process (embedded PostgreSQL, loopback; the scripted manager
 * runs in this process and validates every reply with the wire schema):
 * - `FetchTask {max_count: 1}` round-trip latency, 1,000 sequential requests
 *   against a suite with 10k Ready tasks (SPEC §9: p50 < 1 ms, p95 < 10 ms,
 *   p99 < 50 ms);
 * - claim + commit throughput: `FetchTask {max_count: 64}`, then Finish and
 *   Commit of the whole batch pipelined, over the remaining 9k tasks, with
 *   one fetch loop and with 4 concurrent loops.
 * Each figure is the median of `--runs` runs (default 3). Prints a table.
 *
 * Run: deno run --allow-all scripts/bench/ws_fetch_bench.ts [--runs N]
 */
import { startBenchCoordinator } from "./coordinator.ts";
import { parseArgs } from "node:util";
import { call } from "../../tests/support/http.ts";
import { noopTask } from "../../tests/support/workers_api.ts";
import { registerManager, WsManager } from "../../tests/support/ws_manager.ts";
import { median, printTable, quantile } from "./stats.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const runs = Number(values.runs);
const TASKS = 10_000;
const LATENCY_SAMPLES = 1_000;
const BATCH = 64;

/** Fetches batches and commits them (Finish + Commit pipelined per batch) until the suite is drained. */
async function claimAndCommit(manager: WsManager): Promise<number> {
  let done = 0;
  for (;;) {
    const { tasks } = await manager.fetch(BATCH);
    if (tasks.length === 0) return done;
    await Promise.all(tasks.map((t) => manager.commit(t)));
    done += tasks.length;
  }
}

async function once() {
  await using bench = await startBenchCoordinator();
  const coord = bench.coord;
  const { token, group } = bench;
  const created = await call(coord.url, "POST", "/suites", {
    token,
    body: { group_name: group, tags: [], worker_schedule: { worker_count: 16 } },
  });
  if (created.status !== 201) throw new Error(created.text);
  const suite = (created.body as { uuid: string }).uuid;
  const batch = Array.from({ length: 1000 }, () => noopTask(group, { suite_uuid: suite }));
  for (let i = 0; i < TASKS / 1000; i++) {
    const res = await call(coord.url, "POST", "/tasks/submit", { token, body: { tasks: batch } });
    if (res.status !== 200) throw new Error(res.text);
  }

  const creds = await registerManager(coord.url, token);
  const manager = await WsManager.connect(coord.url, creds);
  await manager.heartbeat("Idle");
  await manager.nextPush("SuiteAssigned");

  // 1. Sequential FetchTask(1) latency.
  const latencies: number[] = [];
  const held = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const t0 = performance.now();
    const reply = await manager.fetch(1);
    latencies.push(performance.now() - t0);
    if (reply.task === null) throw new Error("suite ran dry");
    held.push(reply.task);
  }
  await Promise.all(held.map((t) => manager.commit(t)));

  // 2. Claim + commit throughput, one loop, half of the rest.
  const rest = TASKS - LATENCY_SAMPLES;
  let started = performance.now();
  let done = 0;
  while (done < rest / 2) {
    const { tasks } = await manager.fetch(BATCH);
    await Promise.all(tasks.map((t) => manager.commit(t)));
    done += tasks.length;
  }
  const oneLoop = done / ((performance.now() - started) / 1000);

  // 3. Four concurrent loops on the same connection over the other half.
  started = performance.now();
  const counts = await Promise.all([1, 2, 3, 4].map(() => claimAndCommit(manager)));
  const fourLoops = counts.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000);
  done += counts.reduce((a, b) => a + b, 0);

  const info = await call(coord.url, "GET", `/suites/${suite}`, { token });
  const state = (info.body as { state_name: string }).state_name;
  await manager.close();
  return {
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    p99: quantile(latencies, 0.99),
    oneLoop,
    fourLoops,
    committed: done + LATENCY_SAMPLES,
    state,
  };
}

type Run = Awaited<ReturnType<typeof once>>;
const results: Run[] = [];
for (let i = 0; i < runs; i++) results.push(await once());
if (results.some((r) => r.committed !== TASKS || r.state !== "Complete")) {
  throw new Error(`not every task was committed: ${JSON.stringify(results)}`);
}
const row = (label: string, pick: (r: Run) => number, digits: number) => [
  label,
  median(results.map(pick)).toFixed(digits),
  results.map((r) => pick(r).toFixed(digits)).join(" "),
];
printTable(["figure", "median", "runs"], [
  row("FetchTask(1) round trip p50 (ms), 1,000 sequential", (r) => r.p50, 3),
  row("FetchTask(1) round trip p95 (ms)", (r) => r.p95, 3),
  row("FetchTask(1) round trip p99 (ms)", (r) => r.p99, 3),
  row("claim+finish+commit, FetchTask(64), 1 loop (tasks/s)", (r) => r.oneLoop, 0),
  row("claim+finish+commit, FetchTask(64), 4 loops (tasks/s)", (r) => r.fourLoops, 0),
]);
Deno.exit(0);

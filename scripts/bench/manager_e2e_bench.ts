/**
 * End-to-end throughput of no-op tasks (`true`) through node-manager worker
 * pools, next to the rate at which this machine can spawn `true` at all
 * (serially and with one spawner per CPU), which bounds any task runner here:
 *
 * - `pool`: one suite execution (`manager/pool/`) in this process with W real
 *   managed workers over the real `unix` IPC, fed by an in-memory coordinator
 *   link (no coordinator, no database): the manager ↔ worker path and the
 *   execution engine alone;
 * - `real`: the whole stack — a coordinator process (embedded PostgreSQL), a
 *   suite of N tasks submitted in batches of 1,000, one `mitosis-manager`
 *   process with W workers — timed from the manager's connection to the suite
 *   turning Complete; every task must be archived exactly once.
 *
 * Also peak RSS of the workers and of the manager side. Each figure is the
 * median of `--runs` runs.
 *
 * Run: deno run --allow-all scripts/bench/manager_e2e_bench.ts [--stack pool|real|both] [--tasks 5000]
 *        [--workers 16] [--prefetch 64] [--runs 3]
 */
import { startBenchCoordinator } from "./coordinator.ts";
import { parseArgs } from "node:util";
import { startSuiteExecution } from "../../manager/pool/execution.ts";
import { call, createUser } from "../../tests/support/http.ts";
import { spawnManager } from "../../tests/support/manager.ts";
import { unixTransport } from "../../shared/ipc/unix.ts";
import { createLogger } from "../../shared/log/logger.ts";
import { FakeLink } from "../../tests/support/fake_link.ts";
import { median, printTable } from "./stats.ts";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "5000" },
    workers: { type: "string", default: "16" },
    prefetch: { type: "string", default: "64" },
    runs: { type: "string", default: "3" },
    stack: { type: "string", default: "both" },
  },
});
const STACK = values.stack as "pool" | "real" | "both";
const TASKS = Number(values.tasks);
const WORKERS = Number(values.workers);
const PREFETCH = Number(values.prefetch);
const RUNS = Number(values.runs);
const WORKER_MAIN = new URL("../../worker/main.ts", import.meta.url).pathname;
const CPUS = navigator.hardwareConcurrency;

/** Spawns `true` `count` times with `parallel` spawners; spawns per second. */
async function spawnRate(count: number, parallel: number): Promise<number> {
  let left = count;
  const started = performance.now();
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (left-- > 0) {
      const status = await new Deno.Command("true", { stdin: "null", stdout: "null", stderr: "null" }).spawn().status;
      if (!status.success) throw new Error("true failed");
    }
  }));
  return count / ((performance.now() - started) / 1000);
}

/** Resident set size of `pid` in MiB (VmRSS), or 0 when it is gone. */
function rssMiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

interface PoolRun {
  /** Tasks per second from the start of the execution to its end (worker start-up included). */
  total: number;
  /** Tasks per second from the first to the last commit. */
  steady: number;
  workerRssMax: number;
  managerRss: number;
  fetches: number;
}

async function poolRun(): Promise<PoolRun> {
  const link = new FakeLink();
  link.addTasks(Array.from({ length: TASKS }, () => ["true"]));
  const commitTimes: number[] = [];
  const report = link.reportTask.bind(link);
  link.reportTask = async (taskId, attempt, op) => {
    const ack = await report(taskId, attempt, op);
    if (typeof op === "object" && "Commit" in op) commitTimes.push(performance.now());
    return ack;
  };
  const workDir = await Deno.makeTempDir({ prefix: "mitosis-bench-pool-" });
  let workerRssMax = 0;
  let managerRss = 0;
  const started = performance.now();
  const execution = startSuiteExecution({
    suite: link.suite({ worker_count: WORKERS, task_prefetch_count: PREFETCH }),
    link,
    workerCount: WORKERS,
    env: { MITOSIS_LOG_LEVEL: "warn" },
    workDir,
  }, {
    workerBinary: [Deno.execPath(), "run", "--allow-all", "--no-lock", WORKER_MAIN],
    ipc: unixTransport,
    stopGraceMs: 10_000,
    log: createLogger("bench", "warn"),
  });
  const sampler = setInterval(() => {
    for (const pid of execution.workerPids()) workerRssMax = Math.max(workerRssMax, rssMiB(pid));
    managerRss = Math.max(managerRss, Deno.memoryUsage().rss / 2 ** 20);
  }, 200);
  try {
    const summary = await execution.done;
    if (summary.tasksCompleted !== TASKS) throw new Error(`only ${summary.tasksCompleted} of ${TASKS} tasks completed`);
    const duplicates = [...link.commits.values()].filter((c) => c.length !== 1).length;
    if (duplicates > 0) throw new Error(`${duplicates} tasks committed more than once`);
    const ended = performance.now();
    const steadyMs = commitTimes[commitTimes.length - 1] - commitTimes[0];
    return {
      total: TASKS / ((ended - started) / 1000),
      steady: (TASKS - 1) / (steadyMs / 1000),
      workerRssMax,
      managerRss,
      fetches: link.fetchSizes.length,
    };
  } finally {
    clearInterval(sampler);
    await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
  }
}

/** Pids of the managed worker processes (command line holds `--managed`) whose parent is `parent`. */
function managedWorkers(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== parent) continue;
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).includes("--managed")) pids.push(Number(entry.name));
    } catch {
      continue; // exited meanwhile
    }
  }
  return pids;
}

interface RealRun {
  /** Tasks per second from the manager's connection to the suite being Complete. */
  rate: number;
  workerRssMax: number;
  managerRssMax: number;
}

async function realRun(): Promise<RealRun> {
  const step = (what: string) => console.error(`[bench] ${what}`);
  await using bench = await startBenchCoordinator();
  const coord = bench.coord;
  step(`coordinator at ${coord.url}`);
  const admin = bench.token;
  const token = await createUser(coord.url, admin, "bench", "bench-pw");
  const created = await call(coord.url, "POST", "/suites", {
    token,
    body: { group_name: "bench", worker_schedule: { worker_count: WORKERS, task_prefetch_count: PREFETCH } },
  });
  if (created.status !== 201) throw new Error(`suite creation: ${created.status} ${created.text}`);
  const suite = (created.body as { uuid: string }).uuid;
  for (let sent = 0; sent < TASKS; sent += 1_000) {
    const tasks = Array.from({ length: Math.min(1_000, TASKS - sent) }, () => ({
      group_name: "bench",
      suite_uuid: suite,
      task_spec: { args: ["true"] },
    }));
    const res = await call(coord.url, "POST", "/tasks/submit", { token, body: { tasks } });
    if (res.status !== 200) throw new Error(`submit: ${res.status} ${res.text}`);
  }
  step("tasks submitted");
  await using manager = await spawnManager(coord.url, {
    user: "bench",
    password: "bench-pw",
    args: ["--max-workers", String(WORKERS), "--log-level", "warn"],
    waitConnected: false,
  });
  await manager.waitConnected(60_000);
  step("manager connected");
  const started = performance.now();
  let workerRssMax = 0;
  let managerRssMax = 0;
  for (;;) {
    for (const pid of managedWorkers(manager.process.pid)) workerRssMax = Math.max(workerRssMax, rssMiB(pid));
    managerRssMax = Math.max(managerRssMax, rssMiB(manager.process.pid));
    const res = await call(coord.url, "GET", `/suites/${suite}`, { token });
    const info = res.body as { state_name: string; pending_tasks: number };
    if (info.state_name === "Complete") break;
    if (performance.now() - started > 30 * 60_000) throw new Error(`suite not complete: ${info.pending_tasks} pending`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const rate = TASKS / ((performance.now() - started) / 1000);
  const query = await call(coord.url, "POST", "/tasks/query", {
    token,
    body: { group_name: "bench", count: true, states: ["Finished"], exit_status: "= 0" },
  });
  const count = (query.body as { count: number }).count;
  if (count !== TASKS) throw new Error(`${count} of ${TASKS} tasks finished with exit status 0`);
  manager.kill("SIGTERM");
  await manager.waitExit(60_000);
  return { rate, workerRssMax, managerRssMax };
}

const serial: number[] = [];
const parallel: number[] = [];
const pools: PoolRun[] = [];
const reals: RealRun[] = [];
for (let run = 0; run < RUNS; run++) {
  serial.push(await spawnRate(2_000, 1));
  parallel.push(await spawnRate(4_000, CPUS));
  if (STACK !== "real") pools.push(await poolRun());
  if (STACK !== "pool") reals.push(await realRun());
}
const fmt = (n: number) => n.toFixed(0);
const mib = (n: number) => n.toFixed(1);
console.log(
  `\n${TASKS} no-op tasks, ${WORKERS} workers, prefetch ${PREFETCH}, ${CPUS} CPUs, median of ${RUNS} runs\n`,
);
const rows: (string | number)[][] = [
  ["raw `true` spawn rate, serial (spawns/s)", fmt(median(serial))],
  [`raw \`true\` spawn rate, ${CPUS}-way (spawns/s)`, fmt(median(parallel))],
];
if (pools.length > 0) {
  rows.push(
    ["pool: throughput incl. worker start-up (tasks/s)", fmt(median(pools.map((p) => p.total)))],
    ["pool: throughput, first to last commit (tasks/s)", fmt(median(pools.map((p) => p.steady)))],
    ["pool: / raw parallel spawn rate", (median(pools.map((p) => p.steady)) / median(parallel)).toFixed(2)],
    ["pool: worker RSS, peak (MiB)", mib(median(pools.map((p) => p.workerRssMax)))],
    ["pool: manager-side RSS, peak (MiB, this process)", mib(median(pools.map((p) => p.managerRss)))],
    ["pool: FetchTask batches", fmt(median(pools.map((p) => p.fetches)))],
  );
}
if (reals.length > 0) {
  rows.push(
    ["real stack: throughput, connected to Complete (tasks/s)", fmt(median(reals.map((r) => r.rate)))],
    ["real stack: / raw parallel spawn rate", (median(reals.map((r) => r.rate)) / median(parallel)).toFixed(2)],
    ["real stack: worker RSS, peak (MiB)", mib(median(reals.map((r) => r.workerRssMax)))],
    ["real stack: manager RSS, peak (MiB)", mib(median(reals.map((r) => r.managerRssMax)))],
  );
}
printTable(["figure", "value"], rows);
Deno.exit(0); // stops the shared embedded PostgreSQL (unload handler)

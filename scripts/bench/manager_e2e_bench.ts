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
 * median of `--runs` runs. The measurements are exported for `bench.ts`.
 *
 * Run: deno run --allow-all scripts/bench/manager_e2e_bench.ts [--stack pool|real|both] [--tasks 5000]
 *        [--workers 16] [--prefetch 64] [--runs 3]
 */
import { workerCommand } from "../../manager/worker_binary.ts";
import { createNoopSuite, startBenchCoordinator, suiteState } from "./coordinator.ts";
import { parseArgs } from "node:util";
import { startSuiteExecution } from "../../manager/pool/execution.ts";
import { call, createUser } from "../../tests/support/http.ts";
import { spawnManager } from "../../tests/support/manager.ts";
import { unixTransport } from "../../shared/ipc/unix.ts";
import { createLogger } from "../../shared/log/logger.ts";
import { FakeLink } from "../../tests/support/fake_link.ts";
import { median, printTable } from "./stats.ts";

/** Spawns `true` `count` times with `parallel` spawners; spawns per second. */
export async function spawnRate(count: number, parallel: number): Promise<number> {
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
export function rssMiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

/** Size of a no-op run through a worker pool. */
export interface StackOptions {
  /** No-op tasks (`true`) to run. */
  tasks: number;
  /** Managed workers. */
  workers: number;
  /** The suite's `task_prefetch_count`. */
  prefetch: number;
}

/** Result of a `pool` run. */
export interface PoolRun {
  /** Tasks per second from the start of the execution to its end (worker start-up included). */
  total: number;
  /** Tasks per second from the first to the last commit. */
  steady: number;
  workerRssMax: number;
  managerRss: number;
  fetches: number;
}

/** The `pool` stack: one suite execution in this process, real workers, an in-memory coordinator link. */
export async function poolRun({ tasks, workers, prefetch }: StackOptions): Promise<PoolRun> {
  const link = new FakeLink();
  link.addTasks(Array.from({ length: tasks }, () => ["true"]));
  // When each task's result is recorded, whichever report (or batch of reports) carried it.
  const commitTimes: number[] = [];
  const record = link.commits.set.bind(link.commits);
  link.commits.set = (uuid, results) => {
    commitTimes.push(performance.now());
    return record(uuid, results);
  };
  const workDir = await Deno.makeTempDir({ prefix: "mitosis-bench-pool-" });
  let workerRssMax = 0;
  let managerRss = 0;
  const started = performance.now();
  const execution = startSuiteExecution({
    suite: link.suite({ worker_count: workers, task_prefetch_count: prefetch }),
    link,
    workerCount: workers,
    env: { MITOSIS_LOG_LEVEL: "warn" },
    workDir,
  }, {
    // As mitosis-manager runs its workers (V8 flags included).
    workerBinary: workerCommand(undefined),
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
    if (summary.tasksCompleted !== tasks) throw new Error(`only ${summary.tasksCompleted} of ${tasks} tasks completed`);
    const duplicates = [...link.commits.values()].filter((c) => c.length !== 1).length;
    if (duplicates > 0) throw new Error(`${duplicates} tasks committed more than once`);
    const ended = performance.now();
    const steadyMs = commitTimes[commitTimes.length - 1] - commitTimes[0];
    return {
      total: tasks / ((ended - started) / 1000),
      steady: (tasks - 1) / (steadyMs / 1000),
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
export function managedWorkers(parent: number): number[] {
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

/** Result of a `real` run. */
export interface RealRun {
  /** Tasks per second from the manager's connection to the suite being Complete. */
  rate: number;
  /** Peak RSS of any one managed worker (MiB). */
  workerRssMax: number;
  /** Peak RSS of the manager process (MiB). */
  managerRssMax: number;
}

/**
 * The `real` stack: a coordinator process on a fresh database of the shared
 * embedded PostgreSQL, one `mitosis-manager` process with `workers` workers;
 * progress lines go to `step`.
 */
export async function realRun(
  { tasks, workers, prefetch }: StackOptions,
  step: (what: string) => void = (what) => console.error(`[bench] ${what}`),
): Promise<RealRun> {
  await using bench = await startBenchCoordinator();
  const coord = bench.coord;
  step(`coordinator at ${coord.url}`);
  const token = await createUser(coord.url, bench.token, "bench", "bench-pw");
  const suite = await createNoopSuite(coord.url, token, "bench", tasks, {
    worker_count: workers,
    task_prefetch_count: prefetch,
  });
  step(`${tasks} tasks submitted`);
  await using manager = await spawnManager(coord.url, {
    user: "bench",
    password: "bench-pw",
    args: ["--max-workers", String(workers), "--log-level", "warn"],
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
    const info = await suiteState(coord.url, token, suite);
    if (info.state_name === "Complete") break;
    if (performance.now() - started > 30 * 60_000) throw new Error(`suite not complete: ${info.pending_tasks} pending`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const rate = tasks / ((performance.now() - started) / 1000);
  step("suite complete");
  const query = await call(coord.url, "POST", "/tasks/query", {
    token,
    body: { group_name: "bench", count: true, states: ["Finished"], exit_status: "= 0" },
  });
  const count = (query.body as { count: number }).count;
  if (count !== tasks) throw new Error(`${count} of ${tasks} tasks finished with exit status 0`);
  manager.kill("SIGTERM");
  await manager.waitExit(60_000);
  return { rate, workerRssMax, managerRssMax };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tasks: { type: "string", default: "5000" },
      workers: { type: "string", default: "16" },
      prefetch: { type: "string", default: "64" },
      runs: { type: "string", default: "3" },
      stack: { type: "string", default: "both" },
    },
  });
  const stack = values.stack as "pool" | "real" | "both";
  const options: StackOptions = {
    tasks: Number(values.tasks),
    workers: Number(values.workers),
    prefetch: Number(values.prefetch),
  };
  const runs = Number(values.runs);
  const cpus = navigator.hardwareConcurrency;
  const serial: number[] = [];
  const parallel: number[] = [];
  const pools: PoolRun[] = [];
  const reals: RealRun[] = [];
  for (let run = 0; run < runs; run++) {
    serial.push(await spawnRate(2_000, 1));
    parallel.push(await spawnRate(4_000, cpus));
    if (stack !== "real") pools.push(await poolRun(options));
    if (stack !== "pool") reals.push(await realRun(options));
  }
  const fmt = (n: number) => n.toFixed(0);
  const mib = (n: number) => n.toFixed(1);
  console.log(
    `\n${options.tasks} no-op tasks, ${options.workers} workers, prefetch ${options.prefetch}, ${cpus} CPUs, ` +
      `median of ${runs} runs\n`,
  );
  const rows: (string | number)[][] = [
    ["raw `true` spawn rate, serial (spawns/s)", fmt(median(serial))],
    [`raw \`true\` spawn rate, ${cpus}-way (spawns/s)`, fmt(median(parallel))],
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
}

if (import.meta.main) {
  await main();
  Deno.exit(0); // stops the shared embedded PostgreSQL (unload handler)
}

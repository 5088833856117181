/**
 * 8.5.2, mixed workload: independent workers (HTTP) and node managers with
 * managed workers (IPC) on one coordinator at the same time, each kind with
 * its own tasks: a suite for the managers, standalone tasks (no suite_uuid)
 * for the independent workers.
 *
 * Real processes: a `coordinator/main.ts` process on its own database of the
 * harness's embedded PostgreSQL, `manager/main.ts` and `worker/main.ts`
 * processes (tests/support). Every task appends one line to a file named by
 * its uuid saying who ran it: `MIXED_RUNNER` (set per daemon by this case;
 * tasks inherit their worker's environment) and the variables the manager
 * sets for suite work (`MITOSIS_NODE_MANAGER_ID`, `MITOSIS_WORKER_LOCAL_ID`,
 * `MITOSIS_TASK_SUITE_UUID`). Proven from those files and from the
 * coordinator's database (archived state, suite, reporter of each task).
 */
import type { AcceptanceCase, CaseContext, CaseOutcome, Scale } from "../case.ts";
import { connect } from "../../coordinator/db/connect.ts";
import { ADMIN, spawnCoordinator, type SpawnedCoordinator } from "../../tests/support/coordinator.ts";
import { call, createUser, login } from "../../tests/support/http.ts";
import { processesWithEnv, type SpawnedManager, spawnManager } from "../../tests/support/manager.ts";
import { migratedDatabase } from "../../tests/support/postgres.ts";
import { ALICE, createSuite, getSuite, submit } from "../../tests/support/suites.ts";
import { type SpawnedWorker, spawnWorker } from "../../tests/support/worker.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";

/** The size of one run. */
interface MixedScale {
  managers: number;
  workersPerManager: number;
  independentWorkers: number;
  suiteTasks: number;
  standaloneTasks: number;
}

const SCALES: Record<Scale, MixedScale> = {
  quick: { managers: 2, workersPerManager: 2, independentWorkers: 2, suiteTasks: 200, standaloneTasks: 200 },
  full: { managers: 2, workersPerManager: 8, independentWorkers: 5, suiteTasks: 1000, standaloneTasks: 1000 },
};

const LIMIT_S: Record<Scale, number> = { quick: 300, full: 900 };

/** Time kept at the end of the limit for stopping the processes. */
const CLEANUP_RESERVE_S = 45;

const TAG = "mixed-workload";

function describe(s: MixedScale, scale: Scale): string {
  const text = `${s.managers} managers × ${s.workersPerManager} managed workers, ${s.independentWorkers} independent ` +
    `workers, ${s.suiteTasks.toLocaleString("en-US")} suite + ${s.standaloneTasks.toLocaleString("en-US")} ` +
    `standalone tasks`;
  return scale === "full" ? `${text} (the guide's)` : `${text} (guide: 2 × 8, 5, 1,000 + 1,000)`;
}

/** The task every run executes: one line in `<evidence>/<task uuid>` naming who ran it. */
function evidenceTask(evidence: string): string[] {
  return [
    "sh",
    "-c",
    `echo "\${MIXED_RUNNER:--} \${MITOSIS_NODE_MANAGER_ID:--} \${MITOSIS_WORKER_LOCAL_ID:--} ` +
    `\${MITOSIS_TASK_SUITE_UUID:--}" >> "${evidence}/$MITO_TASK_UUID"`,
  ];
}

/** Submits `n` standalone tasks (no suite_uuid) in batches of 500; returns their uuids. */
async function submitStandalone(url: string, token: string, n: number, args: string[]): Promise<string[]> {
  const uuids: string[] = [];
  for (let start = 0; start < n; start += 500) {
    const tasks = Array.from(
      { length: Math.min(500, n - start) },
      () => ({ group_name: ALICE.user, timeout: "2m", task_spec: { args } }),
    );
    const res = await call(url, "POST", "/tasks/submit", { token, body: { tasks } });
    if (res.status !== 200) throw new Error(`standalone submission failed: ${res.status} ${res.text}`);
    for (const result of (res.body as { results: { Ok?: { uuid: string }; Err?: unknown }[] }).results) {
      if (result.Ok === undefined) throw new Error(`a standalone task was refused: ${JSON.stringify(result.Err)}`);
      uuids.push(result.Ok.uuid);
    }
  }
  return uuids;
}

/** One run of one task, from its evidence line. */
interface Run {
  runner: string;
  manager: string;
  localId: string;
  suite: string;
}

/** Reads every evidence file: task uuid → its runs. */
async function readEvidence(evidence: string): Promise<Map<string, Run[]>> {
  const runs = new Map<string, Run[]>();
  for await (const entry of Deno.readDir(evidence)) {
    const lines = (await Deno.readTextFile(`${evidence}/${entry.name}`)).split("\n").filter((l) => l !== "");
    runs.set(
      entry.name,
      lines.map((line) => {
        const [runner, manager, localId, suite] = line.split(" ");
        return { runner, manager, localId, suite };
      }),
    );
  }
  return runs;
}

/** Resolves after `ms`, or rejects when `signal` is aborted. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** How many of each. */
function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

function describeCounts(counts: Map<string, number>): string {
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join(", ");
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Writes what a process printed to the case's log directory. */
async function keepLogs(dir: string, name: string, stdout: string, stderr: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/${name}.stdout.log`, stdout);
  await Deno.writeTextFile(`${dir}/${name}.stderr.log`, stderr);
}

/** Counts `"level":"error"` lines in a JSON log. */
function errorLines(stderr: string): number {
  return stderr.split("\n").filter((line) => line.includes('"level":"error"')).length;
}

async function run(ctx: CaseContext): Promise<CaseOutcome> {
  const s = SCALES[ctx.scale];
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const deadline = started + (LIMIT_S[ctx.scale] - CLEANUP_RESERVE_S) * 1000;
  const evidence = `${ctx.dir}/evidence`;
  const logs = `${ctx.dir}/logs`;
  await Deno.mkdir(evidence, { recursive: true });
  await Deno.mkdir(logs, { recursive: true });
  await Deno.chmod(evidence, 0o777); // tasks may run as another user than this process

  const dbUrl = await migratedDatabase();
  const sql = connect(dbUrl, 2);
  let coord: SpawnedCoordinator | undefined;
  const managers: SpawnedManager[] = [];
  const workers: SpawnedWorker[] = [];
  const checks: string[] = [];
  const failures: string[] = [];
  const check = (ok: boolean, text: string) => {
    checks.push(`${ok ? "ok" : "FAILED"}: ${text}`);
    if (!ok) failures.push(text);
  };
  try {
    coord = await spawnCoordinator([
      "--bind",
      "127.0.0.1:0",
      "--db-url",
      dbUrl,
      "--data-dir",
      `${ctx.dir}/coordinator`,
      "--admin-password",
      ADMIN.password,
      "--log-level",
      "warn",
    ]);
    const url = coord.url;
    ctx.log(`coordinator process ${coord.process.pid} on ${url}`);
    const admin = await login(url, ADMIN.username, ADMIN.password, true);
    const alice = await createUser(url, admin, ALICE.user, ALICE.password);

    // 1–2: the suite's tasks and the standalone tasks, before any worker exists.
    const task = evidenceTask(evidence);
    const suite = await createSuite(url, alice, {
      name: "mixed-workload",
      tags: [TAG],
      worker_count: s.workersPerManager,
      task_prefetch_count: 16,
    });
    const suiteTasks = await submit(url, alice, suite, Array.from({ length: s.suiteTasks }, () => task));
    const standalone = await submitStandalone(url, alice, s.standaloneTasks, task);
    ctx.log(`suite ${suite}: ${suiteTasks.length} tasks; ${standalone.length} standalone tasks`);

    // 3–4: independent workers and node managers, started together.
    const spawnedAt = seconds();
    const [workerStarts, managerStarts] = await Promise.all([
      Promise.allSettled(
        Array.from(
          { length: s.independentWorkers },
          (_, i) => spawnWorker(url, { ...ALICE, env: { MIXED_RUNNER: `independent-${i}` } }),
        ),
      ),
      Promise.allSettled(Array.from({ length: s.managers }, (_, i) =>
        spawnManager(url, {
          ...ALICE,
          args: ["--tags", TAG, "--max-workers", String(s.workersPerManager)],
          env: { MIXED_RUNNER: `manager-${i}` },
        }))),
    ]);
    for (const r of workerStarts) if (r.status === "fulfilled") workers.push(r.value);
    for (const r of managerStarts) if (r.status === "fulfilled") managers.push(r.value);
    const notStarted = [...workerStarts, ...managerStarts].find((r) => r.status === "rejected");
    if (notStarted !== undefined) throw (notStarted as PromiseRejectedResult).reason;
    /** Manager uuid → the MIXED_RUNNER it was given. */
    const managerRunner = new Map<string, string>();
    for (const [i, m] of managers.entries()) managerRunner.set(await m.waitConnected(), `manager-${i}`);
    const upAt = seconds();
    ctx.log(
      `${workers.length} independent workers registered, ${managers.length} managers connected (${
        round(upAt - spawnedAt)
      } s)`,
    );

    // 5: until both kinds are archived, noting when each finished.
    const done: { standalone?: number; suite?: number } = {};
    let counts = { standalone: 0, suite: 0 };
    let lastLog = 0;
    while (done.standalone === undefined || done.suite === undefined) {
      const rows = await sql<{ standalone: boolean; n: number }[]>`
        SELECT task_suite_id IS NULL AS standalone, count(*)::int AS n FROM archived_tasks GROUP BY 1`;
      counts = {
        standalone: rows.find((r) => r.standalone)?.n ?? 0,
        suite: rows.find((r) => !r.standalone)?.n ?? 0,
      };
      if (done.standalone === undefined && counts.standalone >= s.standaloneTasks) done.standalone = seconds();
      if (done.suite === undefined && counts.suite >= s.suiteTasks) done.suite = seconds();
      if (seconds() - lastLog >= 10) {
        lastLog = seconds();
        ctx.log(
          `archived: ${counts.standalone}/${s.standaloneTasks} standalone, ${counts.suite}/${s.suiteTasks} suite`,
        );
      }
      if (performance.now() > deadline) {
        throw new Error(
          `after ${round(seconds())} s only ${counts.standalone}/${s.standaloneTasks} standalone and ` +
            `${counts.suite}/${s.suiteTasks} suite tasks were archived`,
        );
      }
      if (done.standalone === undefined || done.suite === undefined) await pause(250, ctx.signal);
    }
    ctx.log(
      `all archived: standalone after ${round(done.standalone - upAt)} s, suite after ${round(done.suite - upAt)} s`,
    );

    // The suite completes once nothing is pending.
    let info = await getSuite(url, alice, suite);
    while (info.state_name !== "Complete" && performance.now() < deadline) {
      await pause(250, ctx.signal);
      info = await getSuite(url, alice, suite);
    }
    check(
      info.state_name === "Complete" && info.total_tasks === s.suiteTasks && info.pending_tasks === 0,
      `suite ${info.state_name}, ${info.total_tasks} tasks, ${info.pending_tasks} pending`,
    );

    // Who ran what, from the tasks' own files.
    const runs = await readEvidence(evidence);
    const standaloneSet = new Set(standalone);
    const suiteSet = new Set(suiteTasks);
    const unknown = [...runs.keys()].filter((uuid) => !standaloneSet.has(uuid) && !suiteSet.has(uuid));
    const notOnce = [...standalone, ...suiteTasks].filter((uuid) => (runs.get(uuid)?.length ?? 0) !== 1);
    check(
      notOnce.length === 0 && unknown.length === 0,
      `every task ran exactly once: ${runs.size} evidence files for ${standalone.length + suiteTasks.length} tasks; ` +
        `${notOnce.length} ran other than once${
          notOnce.length ? ` (e.g. ${notOnce[0]}: ${runs.get(notOnce[0])?.length ?? 0})` : ""
        }; ` +
        `${unknown.length} unknown`,
    );
    const standaloneRuns = standalone.flatMap((uuid) => runs.get(uuid) ?? []);
    const suiteRuns = suiteTasks.flatMap((uuid) => runs.get(uuid) ?? []);
    const byIndependent = countBy(standaloneRuns.map((r) => r.runner));
    check(
      standaloneRuns.every((r) => r.runner.startsWith("independent-") && r.manager === "-" && r.suite === "-"),
      `independent workers ran only standalone tasks, without suite or manager variables (${
        describeCounts(byIndependent)
      })`,
    );
    const byManagedWorker = countBy(suiteRuns.map((r) => `${r.runner}/worker-${r.localId}`));
    check(
      suiteRuns.every((r) =>
        r.runner.startsWith("manager-") && managerRunner.get(r.manager) === r.runner && r.suite === suite &&
        Number(r.localId) >= 0 && Number(r.localId) < s.workersPerManager
      ),
      `managed workers ran only suite tasks, each with MITOSIS_TASK_SUITE_UUID of the suite, its manager's ` +
        `MITOSIS_NODE_MANAGER_ID and a MITOSIS_WORKER_LOCAL_ID below ${s.workersPerManager} ` +
        `(${describeCounts(byManagedWorker)})`,
    );
    check(
      [...runs.values()].flat().every((r) => r.runner.startsWith("independent-") ? r.suite === "-" : r.suite === suite),
      "no cross-contamination: no independent run carries a suite, no managed run lacks one",
    );

    // What the database says: the guide's validation, per kind.
    const archived = await sql<
      {
        uuid: string;
        standalone: boolean;
        suite: string | null;
        state: number;
        exit_status: number | null;
        reporter: string | null;
      }[]
    >`
      SELECT t.uuid::text, t.task_suite_id IS NULL AS standalone, s.uuid::text AS suite, t.state,
        (t.result->>'exit_status')::int AS exit_status, t.reporter_uuid::text AS reporter
      FROM archived_tasks t LEFT JOIN task_suites s ON s.id = t.task_suite_id`;
    const [{ n: active }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM active_tasks`;
    const byUuid = new Map(archived.map((row) => [row.uuid, row]));
    const workerUuids = new Set(workers.map((w) => w.uuid));
    const finished = (uuid: string) => {
      const row = byUuid.get(uuid);
      return row !== undefined && row.state === TaskStateCode.Finished && row.exit_status === 0;
    };
    check(
      active === 0 && standalone.every(finished) && suiteTasks.every(finished),
      `every task archived Finished with exit status 0: ${
        archived.filter((r) => r.state === TaskStateCode.Finished).length
      }` +
        ` of ${archived.length} archived rows; ${active} active tasks left`,
    );
    check(
      standalone.every((uuid) => byUuid.get(uuid)?.standalone === true) &&
        suiteTasks.every((uuid) => byUuid.get(uuid)?.suite === suite),
      "the database tracks both kinds: standalone tasks with task_suite_id NULL, suite tasks with the suite's",
    );
    const standaloneReporters = countBy(standalone.map((uuid) => byUuid.get(uuid)?.reporter ?? "none"));
    const suiteReporters = countBy(suiteTasks.map((uuid) => byUuid.get(uuid)?.reporter ?? "none"));
    check(
      [...standaloneReporters.keys()].every((r) => workerUuids.has(r)),
      `every standalone task was reported by an independent worker (${standaloneReporters.size} reporters)`,
    );
    check(
      [...suiteReporters.keys()].every((r) => managerRunner.has(r)),
      `every suite task was reported by a manager (${
        [...suiteReporters].map(([r, n]) => `${managerRunner.get(r) ?? r}: ${n}`).join(", ")
      })`,
    );

    // The daemons stop cleanly and leave nothing of the suite running.
    const stopped = await Promise.all([...workers.map((w) => w.stop()), ...managers.map((m) => m.stop())]);
    check(stopped.every((code) => code === 0), `workers and managers exit 0 on SIGTERM (codes ${stopped.join(", ")})`);
    const left = processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite);
    check(left.length === 0, `no process of the suite left (${left.length})`);
    const errors = [...workers.map((w) => errorLines(w.stderr())), ...managers.map((m) => errorLines(m.stderr()))];
    checks.push(`error-level log lines of the workers and managers: ${errors.reduce((a, b) => a + b, 0)}`);

    const standaloneS = done.standalone - upAt;
    const suiteS = done.suite - upAt;
    const figures = {
      standalone_tasks_per_s: round(s.standaloneTasks / standaloneS, 2),
      suite_tasks_per_s: round(s.suiteTasks / suiteS, 2),
      total_s: round(seconds()),
      standalone_s: round(standaloneS),
      suite_s: round(suiteS),
      startup_s: round(upAt - spawnedAt),
    };
    return {
      status: failures.length === 0 ? "pass" : "fail",
      ...(failures.length === 0 ? {} : { reason: failures.join("; ") }),
      scale: describe(s, ctx.scale),
      checks,
      figures,
    };
  } finally {
    await Promise.allSettled([...workers.map((w) => w.stop()), ...managers.map((m) => m.stop())]);
    for (const [i, w] of workers.entries()) await keepLogs(logs, `worker-${i}`, w.stdout(), w.stderr());
    for (const [i, m] of managers.entries()) await keepLogs(logs, `manager-${i}`, m.stdout(), m.stderr());
    await Promise.allSettled([...workers, ...managers].map((p) => p[Symbol.asyncDispose]()));
    if (coord !== undefined) {
      const exited = coord.stop();
      const hung = setTimeout(() => coord?.process.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(hung);
      await keepLogs(logs, "coordinator", "", coord.stderr());
    }
    await sql.end({ timeout: 5 });
  }
}

/** The case. */
export const cases: AcceptanceCase[] = [{
  id: "8.5.2",
  title: "Mixed workload (independent + managed workers)",
  limitS: LIMIT_S,
  run,
}];

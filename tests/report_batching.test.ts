/**
 * Batched task reports: `ReportTasks` answers each report on its own (a
 * refused report in a batch fails alone), the completion pipeline applies
 * the reports of several managers at once exactly once with the suite's
 * counters right, and an acknowledged report survives PostgreSQL being
 * SIGKILLed right after the acknowledgement.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, spawnCoordinator, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask } from "./support/workers_api.ts";
import { startScriptedManager, type WsManager } from "./support/ws_manager.ts";
import { startEmbeddedPostgres } from "../coordinator/db/embedded.ts";
import { connect } from "../coordinator/db/connect.ts";
import { createLogger } from "../shared/log/logger.ts";
import { readProcStat } from "../shared/exec/proc_stat.ts";
import type { ManagedTask } from "../shared/wire/manager_ws.ts";
import { TaskStateCode } from "../shared/wire/tasks.ts";

/** Creates a suite in `group` and submits `n` no-op tasks to it; returns the suite uuid. */
async function suiteWithTasks(url: string, token: string, group: string, n: number): Promise<string> {
  const created = await call(url, "POST", "/suites", {
    token,
    body: { group_name: group, tags: [], worker_schedule: { worker_count: 1 } },
  });
  if (created.status !== 201) throw new Error(`suite creation failed: ${created.status} ${created.text}`);
  const suite = (created.body as { uuid: string }).uuid;
  for (let done = 0; done < n; done += 1000) {
    const tasks = Array.from({ length: Math.min(1000, n - done) }, () => noopTask(group, { suite_uuid: suite }));
    const res = await call(url, "POST", "/tasks/submit", { token, body: { tasks } });
    if (res.status !== 200) throw new Error(`submit failed: ${res.status} ${res.text}`);
  }
  return suite;
}

/** Fetches until `n` tasks are held (in batches of up to 500). */
async function fetchAll(manager: WsManager, n: number): Promise<ManagedTask[]> {
  const tasks: ManagedTask[] = [];
  while (tasks.length < n) {
    const reply = await manager.fetch(Math.min(500, n - tasks.length));
    if (reply.tasks.length === 0) throw new Error(`only ${tasks.length} of ${n} tasks could be fetched`);
    tasks.push(...reply.tasks);
  }
  return tasks;
}

/** Completes `tasks` in ReportTasks messages of `per` reports, all sent at once; returns the accepted uuids. */
async function completeAll(manager: WsManager, tasks: ManagedTask[], per: number): Promise<string[]> {
  const chunks: ManagedTask[][] = [];
  for (let i = 0; i < tasks.length; i += per) chunks.push(tasks.slice(i, i + per));
  const replies = await Promise.all(chunks.map((chunk) =>
    manager.reportMany(chunk.map((t) => ({
      task_id: t.id,
      attempt: t.attempt,
      op: { Complete: { exit_status: 0, msg: null } },
    })))
  ));
  return replies.flatMap((reply, i) => reply.results.flatMap((r, j) => r.success ? [chunks[i][j].uuid] : []));
}

test("ReportTasks answers each report on its own: refused ones (stale attempt, not held) change nothing", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  await using manager = await startScriptedManager(coord.url, alice);
  const suite = await suiteWithTasks(coord.url, alice, "alice", 6);
  assertEquals((await manager.nextPush("SuiteAssigned")).suite_uuid, suite);
  const [a, b, c, d, e] = await fetchAll(manager, 5);
  const [unclaimed] = await coord.sql<
    { id: number }[]
  >`SELECT id FROM active_tasks WHERE state = ${TaskStateCode.Ready}`;

  const reply = await manager.reportMany([
    { task_id: a.id, attempt: a.attempt, op: { Complete: { exit_status: 0, msg: null } } },
    { task_id: b.id, attempt: b.attempt + 1, op: { Complete: { exit_status: 0, msg: null } } },
    { task_id: unclaimed.id, op: { Commit: { exit_status: 0, msg: null } } },
    { task_id: c.id, attempt: c.attempt, op: "Finish" },
    { task_id: c.id, attempt: c.attempt, op: { Commit: { exit_status: 3, msg: null } } },
    { task_id: d.id, attempt: d.attempt, op: "Cancel" },
    { task_id: e.id, attempt: e.attempt, op: "Finish" },
  ]);
  assertEquals(reply.results.map((r) => r.success), [true, false, false, true, true, true, true]);
  assertEquals(reply.results[1].error, `task ${b.id} (attempt ${b.attempt + 1}) is not held by this manager`);
  assertEquals(reply.results[2].error, `task ${unclaimed.id} is not held by this manager`);
  assertTrue(reply.results.every((r) => r.retry !== true));

  const archived = await coord.sql<{ uuid: string; state: number; exit_status: number }[]>`
    SELECT uuid, state, (result->>'exit_status')::int AS exit_status FROM archived_tasks ORDER BY id`;
  assertEquals(archived.map((r) => [r.uuid, r.state, r.exit_status]), [[a.uuid, 3, 0], [c.uuid, 3, 3]]);
  const active = await coord.sql<{ uuid: string; state: number }[]>`
    SELECT uuid, state FROM active_tasks WHERE uuid IN (${b.uuid}, ${d.uuid}, ${e.uuid}) ORDER BY id`;
  assertEquals(active.map((r) => r.state), [2, 4, 3], "b still Running, d Cancelled, e Finished");
  const [{ pending }] = await coord.sql<{ pending: number }[]>`
    SELECT pending_tasks AS pending FROM task_suites WHERE uuid = ${suite}`;
  assertEquals(pending, 4);
});

test("3 managers complete 3,000 tasks in concurrent ReportTasks: each archived once, the suite Complete", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const managers = await Promise.all([0, 1, 2].map(() => startScriptedManager(coord.url, alice)));
  try {
    const suite = await suiteWithTasks(coord.url, alice, "alice", 3000);
    for (const m of managers) assertEquals((await m.nextPush("SuiteAssigned")).suite_uuid, suite);
    const held = await Promise.all(managers.map((m) => fetchAll(m, 1000)));
    const accepted = await Promise.all(managers.map((m, i) => completeAll(m, held[i], 25)));
    assertEquals(accepted.flat().length, 3000);
    const [counts] = await coord.sql<{ archived: number; distinct: number; active: number }[]>`
      SELECT (SELECT count(*) FROM archived_tasks)::int AS archived,
        (SELECT count(DISTINCT uuid) FROM archived_tasks)::int AS distinct,
        (SELECT count(*) FROM active_tasks)::int AS active`;
    assertEquals(counts, { archived: 3000, distinct: 3000, active: 0 });
    const [row] = await coord.sql<{ state: number; pending: number }[]>`
      SELECT state, pending_tasks AS pending FROM task_suites WHERE uuid = ${suite}`;
    assertEquals(row, { state: 2, pending: 0 });
  } finally {
    for (const m of managers) await m.close();
  }
});

/** SIGKILLs a postmaster and every process it started (a crash: nothing in shared memory survives). */
function killPostgres(dataDir: string): void {
  const postmaster = Number(Deno.readTextFileSync(`${dataDir}/postmaster.pid`).split("\n")[0]);
  const children: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (Number.isInteger(pid) && readProcStat(pid)?.ppid === postmaster) children.push(pid);
  }
  for (const pid of [postmaster, ...children]) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

test("acknowledged reports survive PostgreSQL being SIGKILLed right after the acknowledgement", async () => {
  const base = await Deno.makeTempDir({ prefix: "mitosis-durability-" });
  await Deno.chmod(base, 0o777);
  const pgLog = createLogger("durability-postgres", "warn");
  const dataDir = `${base}/pg`;
  const cluster = await startEmbeddedPostgres(dataDir, pgLog);
  let restarted: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
  const coord = await spawnCoordinator([
    "--bind",
    "127.0.0.1:0",
    "--db-url",
    cluster.url,
    "--data-dir",
    `${base}/coordinator`,
    "--admin-password",
    ADMIN.password,
    "--log-level",
    "warn",
  ]);
  try {
    const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
    await using manager = await startScriptedManager(coord.url, admin);
    const suite = await suiteWithTasks(coord.url, admin, ADMIN.username, 800);
    assertEquals((await manager.nextPush("SuiteAssigned")).suite_uuid, suite);
    const tasks = await fetchAll(manager, 800);
    const acknowledged = await completeAll(manager, tasks, 20);
    killPostgres(dataDir);
    assertEquals(acknowledged.length, 800);

    await coord.stop();
    restarted = await startEmbeddedPostgres(dataDir, pgLog, cluster.port);
    const sql = connect(restarted.url, 1);
    try {
      const rows = await sql<{ uuid: string }[]>`SELECT uuid FROM archived_tasks WHERE uuid = ANY(${acknowledged})`;
      assertEquals(rows.length, acknowledged.length, "every acknowledged task is archived after the crash");
    } finally {
      await sql.end({ timeout: 1 });
    }
  } finally {
    await coord.stop();
    if (restarted) await restarted.stop();
    else cluster.killSync();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});

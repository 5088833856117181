/**
 * A node manager's liveness under faults, on real processes (coordinator,
 * PostgreSQL, manager, managed workers):
 *
 * - a manager killed with SIGKILL and restarted on the same state dir
 *   declares no held task (`HeldTasks` first on its connection), so every
 *   task the dead process held is Ready again at once and the suite
 *   completes without waiting for any timeout;
 * - a report the coordinator cannot record (its database connections
 *   terminated) is sent again, never turned into a re-run of its task;
 * - SIGTERM with the coordinator unreachable: the manager exits 0 within
 *   `worker_stop_grace` plus the delivery time; a second signal exits at once;
 * - a manager cut off past the coordinator's heartbeat timeout starts none
 *   of its buffered tasks (the coordinator made them Ready again): its
 *   assignment lease lapsed, so it dropped its buffer and waits for the
 *   coordinator to confirm its suite;
 * - the same after a freeze (SIGSTOP). There the coordinator's
 *   `SuiteReclaimed`, already waiting in the socket, usually stops the pool
 *   before a worker asks for a task, so this one also passes on a manager
 *   without the lease; it guards the resume path.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import type { TestCoordinator } from "./support/coordinator.ts";
import { processesWithEnv, spawnManager } from "./support/manager.ts";
import { ALICE, appendedLines, countBy, createSuite, eventually, setupSuites, submit } from "./support/suites.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";
import { call } from "./support/http.ts";
import type { SuiteInfo } from "../shared/wire/suites.ts";
import { test } from "./support/test.ts";
import { connect } from "../coordinator/db/connect.ts";
import { NodeManagerStateCode } from "../shared/wire/managers.ts";
import { TaskStateCode } from "../shared/wire/tasks.ts";

/** Archived rows of a suite's tasks. */
async function archivedTasks(coord: TestCoordinator, suite: string) {
  return await coord.sql<{ uuid: string; state: number; attempt: number; exit_status: number }[]>`
    SELECT t.uuid, t.state, t.attempt, (t.result->>'exit_status')::int AS exit_status
    FROM archived_tasks t JOIN task_suites s ON s.id = t.task_suite_id WHERE s.uuid = ${suite}`;
}

/** Active tasks held by the manager `uuid` (claimed, not committed), with their last update. */
async function heldBy(coord: TestCoordinator, uuid: string) {
  return await coord.sql<{ uuid: string; updated_at: Date }[]>`
    SELECT t.uuid, t.updated_at FROM active_tasks t JOIN node_managers m ON m.id = t.assigned_manager
    WHERE m.uuid = ${uuid} AND t.state = ${TaskStateCode.Running}`;
}

/**
 * Waits for the suite to be Complete. While the coordinator's database
 * connections are being terminated it may answer 503 (never 500): retried.
 */
async function suiteComplete(coord: TestCoordinator, token: string, suite: string, timeoutMs: number): Promise<void> {
  await eventually("the suite to complete", async () => {
    const res = await call(coord.url, "GET", `/suites/${suite}`, { token });
    if (res.status === 503) return false;
    assertEquals(res.status, 200, res.text);
    return (res.body as SuiteInfo).state_name === "Complete";
  }, timeoutMs);
}

/** SIGKILLs every process of the suite (workers and tasks left by a killed manager). */
function killSuiteProcesses(suite: string): void {
  for (const pid of processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function addressOf(url: string): { hostname: string; port: number } {
  const parsed = new URL(url);
  return { hostname: parsed.hostname, port: Number(parsed.port) };
}

test("a manager killed with SIGKILL and restarted: the tasks it held are Ready within 5 s of its reconnection and the suite completes", async () => {
  // Auto-close far away: nothing but the restarted manager's HeldTasks can free the dead process's tasks.
  const { coord, alice } = await setupSuites({ suite_auto_close: 3_600_000 });
  await using _coord = coord;
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-restart-" });
  try {
    const suite = await createSuite(coord.url, alice, { worker_count: 4, task_prefetch_count: 20 });
    // Until the test creates `go`, every task stays running (the first process's are killed with it); after that,
    // each finishes at once.
    const tasks = await submit(
      coord.url,
      alice,
      suite,
      Array.from(
        { length: 28 },
        () => ["sh", "-c", `echo "$MITO_TASK_UUID" >> ${dir}/starts; [ -e ${dir}/go ] || sleep 60`],
      ),
    );
    const args = ["--max-workers", "4"];
    const first = await spawnManager(coord.url, { ...ALICE, dir, args });
    const uuid = await first.waitConnected();
    await eventually("4 running and 16 buffered tasks", async () => {
      return (await appendedLines(`${dir}/starts`)).length >= 4 && (await heldBy(coord, uuid)).length === 20;
    }, 60_000);
    first.kill("SIGKILL");
    assertTrue((await first.waitExit(10_000)) !== null, "the manager died");
    killSuiteProcesses(suite);
    await Deno.writeTextFile(`${dir}/go`, "");
    const held = await heldBy(coord, uuid);
    assertEquals(held.length, 20);

    await using second = await spawnManager(coord.url, { ...ALICE, dir, args });
    assertEquals(await second.waitConnected(), uuid, "same identity");
    const connectedAt = Date.now();
    // Released (Ready, maybe claimed again since): none keeps the dead process's claim.
    await eventually("the dead process's tasks to be released", async () => {
      const rows = await coord.sql<{ uuid: string; updated_at: Date }[]>`
        SELECT uuid, updated_at FROM active_tasks WHERE uuid = ANY(${held.map((r) => r.uuid)}::uuid[])`;
      const before = new Map(held.map((r) => [r.uuid, r.updated_at.getTime()]));
      return rows.every((r) => r.updated_at.getTime() !== before.get(r.uuid));
    }, 5_000);
    assertTrue(Date.now() - connectedAt <= 6_000, "released within 5 s of the connection");
    const declared = await second.waitForLog(
      (l) => l.msg === "declaring held tasks to the coordinator",
      5_000,
      "HeldTasks",
    );
    assertEquals(declared.count, 0);

    await suiteComplete(coord, alice, suite, 120_000);
    const archived = await archivedTasks(coord, suite);
    assertEquals(new Set(archived.map((t) => t.uuid)), new Set(tasks));
    assertEquals(archived.length, tasks.length, "no task committed twice");
    for (const task of archived) assertEquals([task.state, task.exit_status], [TaskStateCode.Finished, 0]);
    assertEquals(await second.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("a report the coordinator fails to record (its database connections terminated) is sent again, not re-run", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-dberr-" });
  const killer = connect(coord.dbUrl, 1);
  // postgres.js under Deno lets some errors of a terminated connection escape (a write after the server's FIN, the
  // termination notice itself); in this in-process coordinator they are expected, not a test failure.
  const expected = (event: PromiseRejectionEvent | ErrorEvent) => {
    const error = "reason" in event ? event.reason : event.error;
    const text = String((error as Error)?.message ?? error);
    if (/terminating connection|ended by the other party|ECONNRESET|write after end|connection/i.test(text)) {
      event.preventDefault();
    }
  };
  globalThis.addEventListener("unhandledrejection", expected);
  globalThis.addEventListener("error", expected);
  try {
    const suite = await createSuite(coord.url, alice, { worker_count: 4, task_prefetch_count: 16 });
    const tasks = await submit(
      coord.url,
      alice,
      suite,
      Array.from({ length: 80 }, () => ["sh", "-c", `sleep 0.1; echo "$MITO_TASK_UUID" >> ${dir}/done`]),
    );
    await using manager = await spawnManager(coord.url, { ...ALICE, args: ["--max-workers", "4"] });
    await manager.waitConnected();
    await eventually("the burst of reports to begin", async () => (await appendedLines(`${dir}/done`)).length >= 4);
    // Terminate the coordinator's database connections again and again while the reports flow (not its LISTEN
    // connections: postgres.js re-listens on its own, and an error there is the coordinator's, not the manager's).
    let terminations = 0;
    while ((await appendedLines(`${dir}/done`)).length < tasks.length && terminations < 100) {
      await killer`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND query NOT ILIKE 'listen%'`;
      terminations++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await suiteComplete(coord, alice, suite, 120_000);

    const lines = await appendedLines(`${dir}/done`);
    const twice = [...countBy(lines)].filter(([, n]) => n > 1).map(([task]) => task);
    assertEquals(twice, [], "tasks that ran twice");
    assertEquals(new Set(lines), new Set(tasks));
    const archived = await archivedTasks(coord, suite);
    assertEquals(archived.length, tasks.length);
    for (const task of archived) {
      // A claim whose reply was lost with a terminated connection is claimed again later (a higher attempt); what
      // must not happen is a second run, checked above through the tasks' own records.
      assertEquals([task.state, task.exit_status], [TaskStateCode.Finished, 0]);
      assertTrue(task.attempt >= 1);
    }
    const reRuns = manager.logs().filter((l) =>
      l.msg === "task given up by its worker without a result; running it again"
    );
    assertEquals(reRuns, []);
    assertTrue(
      manager.logs().some((l) =>
        typeof l.msg === "string" && l.msg.endsWith("failed at the coordinator; sending it again")
      ),
      "some report met a database error and was sent again",
    );
    assertEquals(await manager.stop(), 0);
  } finally {
    globalThis.removeEventListener("unhandledrejection", expected);
    globalThis.removeEventListener("error", expected);
    await killer.end();
    await Deno.remove(dir, { recursive: true });
  }
});

test("SIGTERM 2 s after the coordinator became unreachable: the manager exits 0 within worker_stop_grace + 15 s", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  await using proxy = startTcpProxy(addressOf(coord.url));
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-stopcut-" });
  try {
    const suite = await createSuite(coord.url, alice, { worker_count: 2, task_prefetch_count: 8 });
    await submit(
      coord.url,
      alice,
      suite,
      Array.from({ length: 40 }, () => ["sh", "-c", `sleep 1; echo "$MITO_TASK_UUID" >> ${dir}/done`]),
    );
    const graceS = 2;
    await using manager = await spawnManager(proxy.url, {
      ...ALICE,
      args: ["--max-workers", "2", "--worker-stop-grace", `${graceS}s`],
    });
    await manager.waitConnected();
    await eventually("two tasks to finish", async () => (await appendedLines(`${dir}/done`)).length >= 2, 60_000);
    proxy.cut();
    await manager.waitForLog((l) => l.msg === "WebSocket connection lost", 10_000, "the lost connection");
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // the scenario: the coordinator gone for 2 s
    const signalledAt = Date.now();
    manager.kill("SIGTERM");
    const code = await manager.waitExit((graceS + 15) * 1_000);
    assertEquals(code, 0, `exit within ${graceS + 15} s:\n${manager.stderr().slice(-4000)}`);
    assertTrue(Date.now() - signalledAt <= (graceS + 15) * 1_000);
    assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("a second signal while stopping with the coordinator unreachable exits at once", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  await using proxy = startTcpProxy(addressOf(coord.url));
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-stopcut-" });
  try {
    const suite = await createSuite(coord.url, alice, { worker_count: 2, task_prefetch_count: 8 });
    await submit(
      coord.url,
      alice,
      suite,
      Array.from({ length: 10 }, () => ["sh", "-c", `echo "$MITO_TASK_UUID" >> ${dir}/starts; sleep 60`]),
    );
    await using manager = await spawnManager(proxy.url, {
      ...ALICE,
      args: ["--max-workers", "2", "--worker-stop-grace", "60s"],
    });
    await manager.waitConnected();
    await eventually("two tasks to start", async () => (await appendedLines(`${dir}/starts`)).length >= 2, 60_000);
    proxy.cut();
    await manager.waitForLog((l) => l.msg === "WebSocket connection lost", 10_000, "the lost connection");
    manager.kill("SIGTERM");
    await manager.waitForLog(
      (l) => l.msg === "stopping gracefully: running tasks finish, then cleanup",
      10_000,
      "the stop",
    );
    const signalledAt = Date.now();
    manager.kill("SIGTERM");
    assertEquals(await manager.waitExit(10_000), 130, manager.stderr().slice(-4000));
    assertTrue(Date.now() - signalledAt <= 10_000);
    assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("a manager frozen past the heartbeat timeout starts none of its buffered tasks when it resumes", async () => {
  const { coord, alice } = await setupSuites({ manager_heartbeat_timeout: 3_000 });
  await using _coord = coord;
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-sigstop-" });
  const starts = `${dir}/starts`;
  try {
    const suite = await createSuite(coord.url, alice, {
      worker_count: 2,
      task_prefetch_count: 8,
      env_preparation: { args: ["sh", "-c", `echo prep >> ${starts}`] },
    });
    // Tasks take 0.5 s until the manager resumes (work is still buffered when it freezes), no time after.
    const tasks = await submit(
      coord.url,
      alice,
      suite,
      Array.from(
        { length: 30 },
        () => ["sh", "-c", `echo "$MITO_TASK_UUID" >> ${starts}; [ -e ${dir}/fast ] || sleep 0.5`],
      ),
    );
    await using manager = await spawnManager(coord.url, {
      ...ALICE,
      args: ["--max-workers", "2", "--heartbeat-interval", "1s"],
    });
    const uuid = await manager.waitConnected();
    await eventually("four tasks to start", async () => (await appendedLines(starts)).length >= 5, 60_000);
    manager.kill("SIGSTOP");
    try {
      await eventually("the coordinator to take the frozen manager Offline", async () => {
        const [row] = await coord.sql<{ state: number }[]>`SELECT state FROM node_managers WHERE uuid = ${uuid}`;
        return row.state === NodeManagerStateCode.Offline;
      }, 30_000);
    } finally {
      manager.kill("SIGCONT");
    }
    await Deno.writeTextFile(`${dir}/fast`, "");
    const atResume = (await appendedLines(starts)).length;
    const logsAtResume = manager.logs().length;
    await suiteComplete(coord, alice, suite, 120_000);

    // After the resume, the next start must be the new run's preparation: no buffered task ran before it.
    const after = (await appendedLines(starts)).slice(atResume);
    const prep = after.indexOf("prep");
    assertEquals(after.slice(0, prep === -1 ? after.length : prep), [], "tasks started after the resume");
    // Nor was any handed to a worker before the manager took the suite again.
    const resumed = manager.logs().slice(logsAtResume);
    const again = resumed.findIndex((l) => l.msg === "manager state changed" && l.to === "Preparing");
    const handed = resumed.slice(0, again === -1 ? resumed.length : again)
      .filter((l) => l.msg === "task handed to worker").map((l) => l.task_uuid);
    assertEquals(handed, [], "tasks handed to workers after the resume, before the suite was taken again");
    const archived = await archivedTasks(coord, suite);
    assertEquals(archived.length, tasks.length, "each task committed once");
    assertEquals(new Set(archived.map((t) => t.uuid)), new Set(tasks));
    for (const task of archived) assertEquals([task.state, task.exit_status], [TaskStateCode.Finished, 0]);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("a manager cut off past the heartbeat timeout starts none of its buffered tasks until the coordinator confirms its suite", async () => {
  const { coord, alice } = await setupSuites({ manager_heartbeat_timeout: 3_000 });
  await using _coord = coord;
  await using proxy = startTcpProxy(addressOf(coord.url));
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-lease-" });
  const starts = `${dir}/starts`;
  try {
    const suite = await createSuite(coord.url, alice, {
      worker_count: 2,
      task_prefetch_count: 20,
      env_preparation: { args: ["sh", "-c", `echo prep >> ${starts}`] },
    });
    // Tasks take 1 s until the connection is restored (work is still buffered while cut off), no time after.
    const tasks = await submit(
      coord.url,
      alice,
      suite,
      Array.from(
        { length: 40 },
        () => ["sh", "-c", `echo "$MITO_TASK_UUID" >> ${starts}; [ -e ${dir}/fast ] || sleep 1`],
      ),
    );
    await using manager = await spawnManager(proxy.url, {
      ...ALICE,
      args: ["--max-workers", "2", "--heartbeat-interval", "1s"],
    });
    const uuid = await manager.waitConnected();
    await eventually("four tasks to start", async () => (await appendedLines(starts)).length >= 5, 60_000);
    proxy.cut();
    await eventually("the coordinator to take the cut-off manager Offline", async () => {
      const [row] = await coord.sql<{ state: number }[]>`SELECT state FROM node_managers WHERE uuid = ${uuid}`;
      return row.state === NodeManagerStateCode.Offline;
    }, 30_000);
    const atOffline = (await appendedLines(starts)).length;
    // Stay cut off a while: the buffered tasks are Ready at the coordinator, the manager must not start them.
    await manager.waitForLog(
      (l) => l.msg === "suite assignment not confirmed by the coordinator; no task handed out",
      10_000,
      "a fetch refused for lack of confirmation",
    );
    proxy.restore();
    await Deno.writeTextFile(`${dir}/fast`, "");
    await suiteComplete(coord, alice, suite, 120_000);

    const after = (await appendedLines(starts)).slice(atOffline);
    const prep = after.indexOf("prep");
    assertEquals(after.slice(0, prep === -1 ? after.length : prep), [], "tasks started while Offline");
    const archived = await archivedTasks(coord, suite);
    assertEquals(archived.length, tasks.length, "each task committed once");
    assertEquals(new Set(archived.map((t) => t.uuid)), new Set(tasks));
    for (const task of archived) assertEquals([task.state, task.exit_status], [TaskStateCode.Finished, 0]);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

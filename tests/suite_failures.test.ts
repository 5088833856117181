/**
 * Failure scenarios on real processes (seed 8.3.1–8.3.3): managed workers
 * crashing in every way SPEC §5.5 classifies, recorded in
 * `task_execution_failures` through the real coordinator; the network
 * between manager and coordinator cut briefly (the suite resumes) and for
 * longer than the heartbeat timeout (the suite is reclaimed and taken
 * again); the coordinator restarted mid-suite. Tasks append their uuid to a
 * file when they finish, which proves none ran twice to completion.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { livingProcesses, uniqueSleep } from "./support/exec.ts";
import { processesWithEnv, spawnManager } from "./support/manager.ts";
import { freshDatabase } from "./support/postgres.ts";
import {
  ALICE,
  appendedLines,
  countBy,
  createSuite,
  eventually,
  freePort,
  getSuite,
  managerIdle,
  ONE_RUN,
  setupSuites,
  submit,
  suiteComplete,
  transitions,
  transitionsUntilIdle,
} from "./support/suites.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";
import { test } from "./support/test.ts";
import { ADMIN } from "./support/coordinator.ts";
import { createUser, login } from "./support/http.ts";
import { TaskStateCode } from "../shared/wire/tasks.ts";
import type { CoordinatorConfig } from "../coordinator/http/context.ts";

const REPO = new URL("..", import.meta.url).pathname;

/** Archived rows of a suite's tasks. */
async function archivedTasks(coord: TestCoordinator, suite: string) {
  return await coord.sql<{ uuid: string; state: number; attempt: number; exit_status: number; detail: string }[]>`
    SELECT t.uuid, t.state, t.attempt, (t.result->>'exit_status')::int AS exit_status,
      coalesce(t.result->>'detail', '') AS detail
    FROM archived_tasks t JOIN task_suites s ON s.id = t.task_suite_id WHERE s.uuid = ${suite}`;
}

/**
 * Tasks that sleep briefly (unless the file `fastFlag` exists: a test creates it once the slow part of its scenario
 * is over), then append their uuid to `file`.
 */
function finishingTasks(n: number, file: string, seconds = 0.2, fastFlag?: string): string[][] {
  const pause = fastFlag === undefined ? `sleep ${seconds}` : `[ -e ${fastFlag} ] || sleep ${seconds}`;
  return Array.from({ length: n }, () => ["sh", "-c", `${pause}; echo "$MITO_TASK_UUID" >> ${file}`]);
}

/**
 * Every task in `uuids` appears exactly once in `lines`; `explain` adds what is known about tasks that ran twice
 * (e.g. the manager's log lines about them) to the failure.
 */
function assertEachRanOnce(lines: string[], uuids: string[], explain?: (twice: string[]) => string): void {
  const counts = countBy(lines);
  const twice = [...counts].filter(([, n]) => n > 1).map(([uuid]) => uuid);
  assertEquals(
    twice,
    [],
    `tasks that ran to completion twice${twice.length > 0 && explain ? `\n${explain(twice)}` : ""}`,
  );
  assertEquals(new Set(lines), new Set(uuids));
}

test("8.3.1: workers killed by SIGKILL, SIGSEGV, SIGABRT or exiting non-zero: recorded, respawned, aborted at the thresholds", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-crash-" });
  try {
    // The real worker behind a wrapper that exits 3 when its worker's task left a flag (a worker failing on its own).
    const wrapper = `${dir}/mitosis-worker`;
    await Deno.writeTextFile(
      wrapper,
      `#!/bin/sh\n"${Deno.execPath()}" run --allow-all --config "${REPO}deno.json" "${REPO}worker/main.ts" "$@" &\n` +
        `pid=$!\nwait $pid\nrc=$?\n[ -e "${dir}/exit3-$pid" ] && exit 3\nexit $rc\n`,
      { mode: 0o755 },
    );
    const marker = uniqueSleep(60);
    const suite = await createSuite(coord.url, alice, { worker_count: 4, task_prefetch_count: 4 });
    const normal = await submit(coord.url, alice, suite, finishingTasks(20, `${dir}/done`));
    const [sigkill, sigsegv, sigabrt, exit3, killedOnce] = await submit(coord.url, alice, suite, [
      ["sh", "-c", `kill -KILL $MITOSIS_WORKER_PID; sleep ${marker}`],
      // Deno survives the first SIGSEGV sent by kill(2) (its fault handler returns), not the second.
      ["sh", "-c", `kill -SEGV $MITOSIS_WORKER_PID; sleep 0.3; kill -SEGV $MITOSIS_WORKER_PID; sleep ${marker}`],
      ["sh", "-c", `kill -ABRT $MITOSIS_WORKER_PID; sleep ${marker}`],
      ["sh", "-c", `touch "${dir}/exit3-$MITOSIS_WORKER_PID"; kill -TERM $MITOSIS_WORKER_PID; sleep ${marker}`],
      // Killed from outside on its first run (below); the retry finishes.
      ["sh", "-c", `[ -e "${dir}/killed" ] || sleep ${marker}; echo "$MITO_TASK_UUID" >> ${dir}/done`],
    ]);

    await using manager = await spawnManager(coord.url, {
      ...ALICE,
      args: ["--max-workers", "4", "--worker-binary", wrapper],
    });
    const uuid = await manager.waitConnected();
    // Kill the worker running the long first attempt of `killedOnce` with SIGKILL from outside, once that attempt
    // sleeps (written earlier, the flag could reach its shell before its test and let that attempt finish too).
    const victim = await eventually("the task to be killed from outside to sleep", () => {
      for (const pid of processesWithEnv("MITO_TASK_UUID", killedOnce)) {
        let cmdline: string, environ: string[];
        try {
          cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
          environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
        } catch {
          continue; // exited meanwhile
        }
        if (!cmdline.startsWith(`sleep\0${marker}`)) continue;
        const worker = environ.find((e) => e.startsWith("MITOSIS_WORKER_PID="))?.split("=")[1];
        if (worker !== undefined) return Number(worker);
      }
      return null;
    }, 90_000);
    await Deno.writeTextFile(`${dir}/killed`, "");
    Deno.kill(victim, "SIGKILL");

    const done = await suiteComplete(coord.url, alice, suite, 180_000);
    assertEquals([done.total_tasks, done.pending_tasks], [25, 0]);

    // One failure row per crashing task on this manager, counting each crash; aborted at the thresholds.
    const failures = new Map(
      (await coord.sql<{ task_uuid: string; failure_count: number; error_messages: string[]; aborted: boolean }[]>`
        SELECT task_uuid, failure_count, error_messages, aborted_at IS NOT NULL AS aborted
        FROM task_execution_failures`).map((r) => [r.task_uuid, r]),
    );
    const expected: [string, number, boolean, string][] = [
      [sigkill, 3, true, "SIGKILL"],
      [sigsegv, 2, true, "SIGSEGV"],
      [sigabrt, 3, true, "SIGABRT"],
      [exit3, 3, true, "exited with code 3"],
      [killedOnce, 1, false, "SIGKILL"],
    ];
    assertEquals(failures.size, expected.length);
    for (const [uuid, count, aborted, cause] of expected) {
      const row = failures.get(uuid)!;
      assertEquals(
        [row.failure_count, row.aborted],
        [count, aborted],
        `failures of the ${cause} task: ${JSON.stringify(row)}`,
      );
      // One message per crash, then the abort's.
      const crashes = row.error_messages.filter((m) => !m.startsWith("aborted: "));
      assertEquals(crashes.length, count, JSON.stringify(row));
      for (const message of crashes) assertIncludes(message, cause);
      assertEquals(row.error_messages.length - crashes.length, aborted ? 1 : 0, JSON.stringify(row));
      if (aborted) assertIncludes(row.error_messages.at(-1)!, `${count} crashes (abort threshold ${count})`);
    }

    // Aborted everywhere it may run (this manager is the only one): finalised as Cancelled naming the crash.
    const archived = new Map((await archivedTasks(coord, suite)).map((t) => [t.uuid, t]));
    assertEquals(archived.size, 25);
    for (const [uuid, , , cause] of expected.slice(0, 4)) {
      assertEquals(archived.get(uuid)!.state, TaskStateCode.Cancelled);
      assertIncludes(archived.get(uuid)!.detail, "aborted on every eligible manager");
      assertIncludes(archived.get(uuid)!.detail, cause);
    }
    // The suite went on: every other task finished once, the one killed from outside on its retry.
    for (const uuid of [...normal, killedOnce]) {
      assertEquals([archived.get(uuid)!.state, archived.get(uuid)!.exit_status], [TaskStateCode.Finished, 0]);
    }
    assertEachRanOnce(
      await appendedLines(`${dir}/done`),
      [...normal, killedOnce],
      (twice) =>
        twice.map((uuid) =>
          `${uuid}${uuid === killedOnce ? " (the task killed from outside)" : ""}:\n` +
          manager.logs().filter((l) => JSON.stringify(l).includes(uuid)).map((l) => JSON.stringify(l)).join("\n")
        ).join("\n"),
    );
    // Respawned after each crash: 4 first workers, then one per crash except when nothing was left to run.
    const spawned = manager.logs().filter((l) => l.msg === "managed worker spawned").length;
    assertTrue(spawned >= 4 + 8, `workers spawned: ${spawned}`);
    await managerIdle(coord.url, alice, uuid);
    assertEquals(await livingProcesses(marker), []);
    assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Where a test coordinator listens, for the proxy. */
function addressOf(url: string): { hostname: string; port: number } {
  const parsed = new URL(url);
  return { hostname: parsed.hostname, port: Number(parsed.port) };
}

test("8.3.2: a short network cut: tasks keep running, reports are sent after reconnection, the suite resumes", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  await using proxy = startTcpProxy(addressOf(coord.url));
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-netcut-" });
  try {
    const suite = await createSuite(coord.url, alice, { worker_count: 2, task_prefetch_count: 16 });
    const tasks = await submit(coord.url, alice, suite, finishingTasks(40, `${dir}/done`, 0.3, `${dir}/fast`));
    await using manager = await spawnManager(proxy.url, { ...ALICE, args: ["--max-workers", "2"] });
    const uuid = await manager.waitConnected();
    await eventually("five tasks to finish", async () => (await appendedLines(`${dir}/done`)).length >= 5);

    proxy.cut();
    await manager.waitForLog((l) => l.msg === "WebSocket connection failed", 30_000, "a failed attempt");
    const atCut = (await appendedLines(`${dir}/done`)).length;
    await eventually("tasks to go on while disconnected", async () => {
      return (await appendedLines(`${dir}/done`)).length >= atCut + 3;
    }, 30_000);
    proxy.restore();
    await manager.waitForLog((l) => l.msg === "WebSocket reconnected", 90_000, "the reconnection");
    await Deno.writeTextFile(`${dir}/fast`, ""); // the rest of the suite runs without sleeping

    await eventually(
      "the suite to complete",
      async () => (await getSuite(coord.url, alice, suite)).state_name === "Complete",
      120_000,
    );
    // Resumed, not reclaimed: one run, every task committed once on its first attempt.
    assertEachRanOnce(await appendedLines(`${dir}/done`), tasks);
    const archived = await archivedTasks(coord, suite);
    assertEquals(archived.length, tasks.length);
    for (const task of archived) {
      assertEquals([task.state, task.exit_status, task.attempt], [TaskStateCode.Finished, 0, 1]);
    }
    assertEquals(await transitionsUntilIdle(manager, suite), [...ONE_RUN]);
    assertEquals(manager.logs().filter((l) => l.msg === "suite reclaimed by the coordinator; stopping its work"), []);
    await managerIdle(coord.url, alice, uuid);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("8.3.2: a cut longer than the heartbeat timeout: Offline, tasks back to Ready, SuiteReclaimed on reconnection, suite taken again", async () => {
  const { coord, alice } = await setupSuites({ manager_heartbeat_timeout: 3_000 });
  await using _coord = coord;
  await using proxy = startTcpProxy(addressOf(coord.url));
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-netcut-" });
  try {
    const suite = await createSuite(coord.url, alice, {
      worker_count: 2,
      task_prefetch_count: 8,
      env_preparation: { args: ["sh", "-c", `echo prep >> ${dir}/hooks`] },
    });
    const tasks = await submit(coord.url, alice, suite, finishingTasks(60, `${dir}/done`, 0.3, `${dir}/fast`));
    await using manager = await spawnManager(proxy.url, {
      ...ALICE,
      // Reconnection attempts at most 1 s apart: the manager is back well within the restarted coordinator's grace.
      args: ["--max-workers", "2", "--heartbeat-interval", "1s", "--reconnect-max-delay", "1s"],
    });
    const uuid = await manager.waitConnected();
    await eventually("five tasks to finish", async () => (await appendedLines(`${dir}/done`)).length >= 5);

    proxy.cut();
    // The coordinator marks it Offline, releases the suite and puts its tasks back to Ready.
    await eventually("the manager to go Offline", async () => {
      const [row] = await coord.sql<{ state: number; assigned: string | null }[]>`
        SELECT state, assigned_task_suite_id AS assigned FROM node_managers WHERE uuid = ${uuid}`;
      return row.state === 4 && row.assigned === null;
    }, 30_000);
    const held = await coord.sql`SELECT 1 FROM active_tasks t JOIN node_managers m ON m.id = t.assigned_manager
      WHERE m.uuid = ${uuid}`;
    assertEquals(held.length, 0);
    proxy.restore();

    await manager.waitForLog((l) => l.msg === "WebSocket reconnected", 90_000, "the reconnection");
    await manager.waitForLog(
      (l) => l.msg === "suite reclaimed by the coordinator; stopping its work",
      30_000,
      "the reclaimed suite",
    );
    await Deno.writeTextFile(`${dir}/fast`, ""); // the rest of the suite runs without sleeping
    await eventually(
      "the suite to complete",
      async () => (await getSuite(coord.url, alice, suite)).state_name === "Complete",
      120_000,
    );
    // The first run stopped, then the manager took the suite again (preparing again) and finished it.
    const seen = transitions(manager.logs(), suite);
    assertEquals(seen.slice(0, 2), ["Idle→Preparing", "Preparing→Executing"]);
    assertEquals(seen.filter((t) => t === "Idle→Preparing").length, 2, seen.join(", "));
    assertEquals(await appendedLines(`${dir}/hooks`), ["prep", "prep"]);
    const archived = await archivedTasks(coord, suite);
    assertEquals(archived.length, tasks.length);
    for (const task of archived) assertEquals([task.state, task.exit_status], [TaskStateCode.Finished, 0]);
    assertTrue(archived.some((t) => t.attempt > 1), "the reclaimed tasks ran again on a later attempt");
    // Every task finished at least once (those running when the suite was reclaimed may have finished twice).
    assertEquals(new Set(await appendedLines(`${dir}/done`)), new Set(tasks));
    await managerIdle(coord.url, alice, uuid);
    assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** How a coordinator-restart scenario runs. */
interface RestartScenario {
  tasks: number;
  prefetch: number;
  /** Coordinator settings (besides bind, database and data dir, which the restart keeps). */
  coordinator?: Partial<CoordinatorConfig>;
  managerArgs: string[];
  /** Waits while the coordinator is down (after tasks were seen finishing without it). */
  whileDown?: (stoppedAt: number) => Promise<unknown>;
}

/**
 * A suite runs on a real manager; the coordinator stops mid-suite, stays down
 * while tasks finish without it, and starts again on the same address and
 * database. The suite must complete with every task run once, archived
 * Finished at attempt 1, and the manager Idle. Returns the manager's logs.
 */
async function coordinatorRestart(o: RestartScenario): Promise<Record<string, unknown>[]> {
  const overrides = {
    ...o.coordinator,
    bind: `127.0.0.1:${freePort()}`,
    db_url: await freshDatabase(),
    data_dir: await Deno.makeTempDir({ prefix: "mitosis-test-coord-" }),
  };
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-restart-" });
  let coord: TestCoordinator | null = await startTestCoordinator(overrides);
  try {
    const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
    const alice = await createUser(coord.url, admin, ALICE.user, ALICE.password);
    const suite = await createSuite(coord.url, alice, { worker_count: 2, task_prefetch_count: o.prefetch });
    const tasks = await submit(coord.url, alice, suite, finishingTasks(o.tasks, `${dir}/done`, 0.3, `${dir}/fast`));
    await using manager = await spawnManager(coord.url, { ...ALICE, args: o.managerArgs });
    const uuid = await manager.waitConnected();
    await eventually("five tasks to finish", async () => (await appendedLines(`${dir}/done`)).length >= 5);

    await coord.stop();
    coord = null;
    const stoppedAt = Date.now();
    await manager.waitForLog((l) => l.msg === "WebSocket connection failed", 30_000, "a failed attempt");
    const down = (await appendedLines(`${dir}/done`)).length;
    await eventually("tasks to go on without the coordinator", async () => {
      return (await appendedLines(`${dir}/done`)).length > down;
    }, 30_000);
    await o.whileDown?.(stoppedAt);
    coord = await startTestCoordinator(overrides);
    await manager.waitForLog((l) => l.msg === "WebSocket reconnected", 90_000, "the reconnection");
    await Deno.writeTextFile(`${dir}/fast`, ""); // the rest of the suite runs without sleeping

    const live = coord;
    await eventually(
      "the suite to complete",
      async () => (await getSuite(live.url, alice, suite)).state_name === "Complete",
      120_000,
    );
    assertEachRanOnce(await appendedLines(`${dir}/done`), tasks);
    const archived = await archivedTasks(live, suite);
    assertEquals(archived.length, tasks.length);
    for (const task of archived) {
      assertEquals([task.state, task.exit_status, task.attempt], [TaskStateCode.Finished, 0, 1], task.uuid);
    }
    assertEquals(transitions(manager.logs(), suite).filter((t) => t === "Idle→Preparing").length, 1);
    await managerIdle(live.url, alice, uuid);
    assertEquals(await manager.stop(), 0);
    return manager.logs();
  } finally {
    await coord?.stop();
    await Deno.remove(overrides.data_dir, { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

test("8.3.3: the coordinator restarts mid-suite: the manager reconnects and resumes, no task lost or run twice", async () => {
  await coordinatorRestart({ tasks: 50, prefetch: 16, managerArgs: ["--max-workers", "2"] });
});

test("a coordinator down longer than manager_heartbeat_timeout: after its restart the manager's results are accepted, none runs again", async () => {
  const logs = await coordinatorRestart({
    tasks: 40,
    prefetch: 8,
    coordinator: { manager_heartbeat_timeout: 3_000 },
    // Reconnection attempts at most 1 s apart: the manager is back well within the restarted coordinator's grace.
    managerArgs: ["--max-workers", "2", "--heartbeat-interval", "1s", "--reconnect-max-delay", "1s"],
    // Stay down past the heartbeat timeout: every heartbeat clock in the database is stale at the restart.
    whileDown: (stoppedAt) =>
      eventually("the outage to outlast the heartbeat timeout", () => Date.now() - stoppedAt > 4_500, 10_000),
  });
  assertEquals(
    logs.filter((l) => l.msg === "suite reclaimed by the coordinator; stopping its work").length,
    0,
    "the suite was not reclaimed from the manager",
  );
});

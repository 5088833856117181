/**
 * `manager/main.ts` as a real process against a real coordinator: one
 * manager per state dir (lock), the identity kept and reused across
 * restarts, preparation hooks that fail (exit 1, timeout, signal) leaving
 * the suite to others with no worker spawned, hook order around the tasks
 * and a failing cleanup, reconnection after the coordinator was unreachable,
 * and stopping (SIGTERM, a second signal, `Shutdown` from the coordinator)
 * without leaving a process behind.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import {
  ALICE,
  createSuite,
  eventually,
  freePort,
  getManager,
  getSuite,
  managerIdle,
  ONE_RUN,
  setupSuites as setup,
  submit,
  transitions,
  transitionsUntilIdle,
} from "./support/suites.ts";
import { livingProcesses, uniqueSleep } from "./support/exec.ts";
import { processesWithEnv, spawnManager } from "./support/manager.ts";
import { startScriptedManager } from "./support/ws_manager.ts";
import { freshDatabase } from "./support/postgres.ts";
import { test } from "./support/test.ts";

test("manager --help lists its flags and a bad --ipc is refused", async () => {
  const main = new URL("../manager/main.ts", import.meta.url).pathname;
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", main, ...args],
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await run(["--help"]);
  assertEquals(help.code, 0);
  const text = new TextDecoder().decode(help.stdout);
  for (const flag of ["--coordinator", "--max-workers, --worker-count", "--state-dir", "--worker-binary", "--ipc"]) {
    assertIncludes(text, flag);
  }
  const bad = await run(["--ipc", "carrier-pigeon", "--state-dir", await Deno.makeTempDir()]);
  assertEquals(bad.code, 2);
  assertIncludes(new TextDecoder().decode(bad.stderr), "manager.ipc");
});

test("a second manager on the same state dir exits non-zero naming the lock", async () => {
  const { coord } = await setup();
  await using _coord = coord;
  await using first = await spawnManager(coord.url, ALICE);
  await using second = await spawnManager(coord.url, { ...ALICE, dir: first.dir, waitConnected: false });
  const code = await second.waitExit(60_000);
  assertEquals(code, 1, second.stderr());
  assertIncludes(second.stderr(), `another mitosis-manager (pid ${first.process.pid}) is running with this state dir`);
  assertIncludes(second.stderr(), `${first.stateDir}/manager.lock`);
  // The first one is unaffected.
  assertEquals(await first.waitExit(500), null);
  assertEquals(await first.stop(), 0);
});

test("the manager keeps its token in the state dir and reuses it after a restart", async () => {
  const { coord, alice } = await setup();
  await using _coord = coord;
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-manager-" });
  try {
    let uuid: string;
    {
      await using manager = await spawnManager(coord.url, { ...ALICE, dir, args: ["--tags", "gpu,a100"] });
      uuid = await manager.waitConnected();
      const stat = await Deno.stat(`${manager.stateDir}/identity.json`);
      assertEquals((stat.mode ?? 0) & 0o777, 0o600);
      const stored = JSON.parse(await Deno.readTextFile(`${manager.stateDir}/identity.json`));
      assertEquals(stored.manager_uuid, uuid);
      assertEquals(stored.coordinator_addr, coord.url);
      const info = await getManager(coord.url, alice, uuid);
      assertEquals(info.tags, ["gpu", "a100"]);
      assertEquals(info.max_workers, navigator.hardwareConcurrency);
      await eventually(
        "the manager to be Idle",
        async () => (await getManager(coord.url, alice, uuid)).state === "Idle",
      );
      assertEquals(await manager.stop(), 0);
    }
    // Restart without credentials: the stored token is enough.
    await using again = await spawnManager(coord.url, { dir });
    assertEquals(await again.waitConnected(), uuid);
    const list = await call(coord.url, "GET", "/managers?count=true", { token: alice });
    assertEquals((list.body as { count: number }).count, 1);
    assertEquals(await again.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Registers a manager over REST with a short-lived token and writes it as the identity of a new sandbox. */
async function shortLivedIdentity(url: string, alice: string): Promise<{ dir: string; uuid: string; token: string }> {
  const res = await call(url, "POST", "/managers", { token: alice, body: { lifetime: "1h" } });
  assertEquals(res.status, 201, res.text);
  const { manager_uuid: uuid, token } = res.body as { manager_uuid: string; token: string };
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-manager-" });
  await Deno.mkdir(`${dir}/state`, { recursive: true });
  const identity = { manager_uuid: uuid, token, coordinator_addr: url, registered_at: new Date().toISOString() };
  await Deno.writeTextFile(`${dir}/state/identity.json`, JSON.stringify(identity), { mode: 0o600 });
  return { dir, uuid, token };
}

test("a token with less than 24 h left is refreshed and stored", async () => {
  const { coord, alice } = await setup();
  await using _coord = coord;
  const { dir, uuid, token } = await shortLivedIdentity(coord.url, alice);
  try {
    await using manager = await spawnManager(coord.url, { dir });
    assertEquals(await manager.waitConnected(), uuid);
    await manager.waitForLog((l) => l.msg === "manager token refreshed", 30_000, "the refresh");
    const stored = JSON.parse(await Deno.readTextFile(`${manager.stateDir}/identity.json`));
    assertEquals(stored.manager_uuid, uuid);
    assertTrue(stored.token !== token);
    // The old token is revoked, the new one works.
    assertEquals((await call(coord.url, "GET", "/ws/managers", { token })).status, 401);
    assertEquals((await call(coord.url, "GET", "/ws/managers", { token: stored.token })).status, 400);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("a token the coordinator rejects makes the manager register again with the user credentials", async () => {
  const { coord, alice } = await setup();
  await using _coord = coord;
  const { dir, uuid, token } = await shortLivedIdentity(coord.url, alice);
  try {
    // Someone refreshes the stored token: the manager's copy is revoked.
    const refreshed = await call(coord.url, "POST", `/managers/${uuid}/refresh-token`, { token });
    assertEquals(refreshed.status, 200, refreshed.text);
    await using manager = await spawnManager(coord.url, { ...ALICE, dir });
    const again = await manager.waitConnected();
    assertTrue(again !== uuid);
    await manager.waitForLog((l) => l.msg === "WebSocket connection failed", 1_000, "the refused attempt");
    const stored = JSON.parse(await Deno.readTextFile(`${manager.stateDir}/identity.json`));
    assertEquals(stored.manager_uuid, again);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("failed preparation hooks (exit 1, timeout, signal) leave the suites to others and spawn no worker", async () => {
  const { coord, alice } = await setup();
  await using _coord = coord;
  const duration = uniqueSleep(30);
  // Highest priority first, so the manager meets them in this order.
  const exit1 = await createSuite(coord.url, alice, {
    name: "exit-1",
    priority: 3,
    env_preparation: { args: ["sh", "-c", "echo preparing; echo broken >&2; exit 1"] },
  });
  const timeout = await createSuite(coord.url, alice, {
    name: "timeout",
    priority: 2,
    env_preparation: { args: ["sleep", duration], timeout: "1s" },
  });
  const signal = await createSuite(coord.url, alice, {
    name: "signal",
    priority: 1,
    env_preparation: { args: ["sh", "-c", "kill -9 $$"] },
  });
  const suites = [exit1, timeout, signal];
  for (const suite of suites) await submit(coord.url, alice, suite, [["true"], ["true"]]);

  await using manager = await spawnManager(coord.url, ALICE);
  const uuid = await manager.waitConnected();
  const failures = await eventually("three preparation failures", async () => {
    const rows = await coord.sql<{ uuid: string; prepare_error: string }[]>`
      SELECT s.uuid, m.prepare_error FROM task_suite_managers m JOIN task_suites s ON s.id = m.task_suite_id
      WHERE m.prepare_failed_at IS NOT NULL`;
    return rows.length === 3 && new Map(rows.map((r) => [r.uuid, r.prepare_error]));
  });
  assertIncludes(failures.get(exit1)!, "preparation hook exited with code 1");
  assertIncludes(failures.get(exit1)!, "broken");
  assertIncludes(failures.get(timeout)!, "preparation hook timed out after 1s");
  assertIncludes(failures.get(signal)!, "preparation hook was killed by signal 9");

  // Idle, nothing assigned; every task still Ready and never claimed; the suites are still open.
  await eventually("the manager to be Idle", async () => {
    const info = await getManager(coord.url, alice, uuid);
    return info.state === "Idle" && info.assigned_suite_uuid === null;
  });
  for (const suite of suites) {
    const info = await getSuite(coord.url, alice, suite);
    assertEquals([info.state_name, info.pending_tasks], ["Open", 2]);
    assertEquals(transitions(manager.logs(), suite), ["Idle→Preparing", "Preparing→Idle"]);
    assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
    const hooksLog = await Deno.readTextFile(`${manager.stateDir}/suites/${suite}/hooks.log`);
    assertIncludes(hooksLog, "preparation hook failed:");
  }
  const claimed = await coord.sql`SELECT 1 FROM active_tasks WHERE attempt > 0 OR state <> 1`;
  assertEquals(claimed.length, 0);
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
  assertEquals(manager.logs().filter((l) => l.msg === "suite execution started").length, 0);

  // Another manager still gets them.
  const other = await startScriptedManager(coord.url, alice);
  const assigned = await other.nextPush("SuiteAssigned", 15_000);
  assertTrue(suites.includes(assigned.suite_uuid));
  await other.close();
  assertEquals(await manager.stop(), 0);
});

test("preparation resources are downloaded into the work dir before the hook runs; a missing one fails it", async () => {
  const { coord, alice } = await setup();
  await using _coord = coord;
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-hooks-" });
  try {
    const script = new TextEncoder().encode(`echo "ran $MITOSIS_TASK_SUITE_UUID in $(pwd)" > ${out}/ran\nexit 7\n`);
    const grant = await call(coord.url, "POST", "/groups/alice/attachments", {
      token: alice,
      body: { key: "scripts/setup.sh", content_length: script.length },
    });
    assertEquals(grant.status, 200, grant.text);
    const put = await fetch((grant.body as { url: string }).url, { method: "PUT", body: script });
    await put.body?.cancel();
    assertEquals(put.status, 200);
    const withScript = await createSuite(coord.url, alice, {
      priority: 2,
      env_preparation: {
        args: ["sh", "setup.sh"],
        resources: [{ remote_file: { Attachment: { key: "scripts/setup.sh" } }, local_path: "setup.sh" }],
      },
    });
    const missing = await createSuite(coord.url, alice, {
      priority: 1,
      env_preparation: {
        args: ["true"],
        resources: [{ remote_file: { Attachment: { key: "scripts/absent.sh" } }, local_path: "absent.sh" }],
      },
    });
    await submit(coord.url, alice, withScript, [["true"]]);
    await submit(coord.url, alice, missing, [["true"]]);
    await using manager = await spawnManager(coord.url, ALICE);
    await manager.waitConnected();
    const failures = await eventually("two preparation failures", async () => {
      const rows = await coord.sql<{ uuid: string; prepare_error: string }[]>`
        SELECT s.uuid, m.prepare_error FROM task_suite_managers m JOIN task_suites s ON s.id = m.task_suite_id
        WHERE m.prepare_failed_at IS NOT NULL`;
      return rows.length === 2 && new Map(rows.map((r) => [r.uuid, r.prepare_error]));
    });
    assertIncludes(failures.get(withScript)!, "preparation hook exited with code 7");
    assertEquals(
      await Deno.readTextFile(`${out}/ran`),
      `ran ${withScript} in ${manager.stateDir}/suites/${withScript}\n`,
    );
    assertIncludes(failures.get(missing)!, "preparation hook resources could not be downloaded: ResourceNotFound");
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

test("hooks run in order around the suite's tasks, with the context variables; a failing cleanup still completes", async () => {
  const { coord, alice } = await setup();
  await using _coord = coord;
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-hooks-" });
  try {
    const suite = await createSuite(coord.url, alice, {
      name: "ordered",
      worker_count: 2,
      env_preparation: {
        args: [
          "sh",
          "-c",
          `echo "prep $MITOSIS_TASK_SUITE_UUID $MITOSIS_TASK_SUITE_NAME $MITOSIS_GROUP_NAME ` +
          `$MITOSIS_WORKER_COUNT $MITOSIS_NODE_MANAGER_ID $SUITE_FLAVOUR" >> ${out}/order; ` +
          `test -z "$MITOSIS_PASSWORD"`,
        ],
        envs: { SUITE_FLAVOUR: "vanilla" },
      },
      env_cleanup: { args: ["sh", "-c", `echo cleanup >> ${out}/order; exit 3`] },
    });
    const tasks = Array.from(
      { length: 6 },
      (_, i) => ["sh", "-c", `echo "task ${i} $SUITE_FLAVOUR $MITOSIS_TASK_SUITE_UUID" >> ${out}/order`],
    );
    await submit(coord.url, alice, suite, tasks);

    await using manager = await spawnManager(coord.url, { ...ALICE, args: ["--max-workers", "2"] });
    const uuid = await manager.waitConnected();
    await eventually(
      "the suite to complete",
      async () => (await getSuite(coord.url, alice, suite)).state_name === "Complete",
    );
    await managerIdle(coord.url, alice, uuid);
    const seen = await transitionsUntilIdle(manager, suite);
    const lines = (await Deno.readTextFile(`${out}/order`)).trim().split("\n");
    assertEquals(lines.length, 8, lines.join("\n"));
    assertEquals(lines[0], `prep ${suite} ordered alice 2 ${uuid} vanilla`);
    assertEquals(lines.slice(1, 7).map((l) => l.replace(/^task \d+ /, "")), Array(6).fill(`vanilla ${suite}`));
    assertEquals(lines[7], "cleanup");
    assertEquals(seen, [...ONE_RUN]);
    const hooksLog = await Deno.readTextFile(`${manager.stateDir}/suites/${suite}/hooks.log`);
    assertIncludes(hooksLog, "preparation hook succeeded");
    assertIncludes(hooksLog, "cleanup hook failed: cleanup hook exited with code 3");
    const done = await manager.waitForLog((l) => l.msg === "suite done on this manager", 5_000, "the suite's end");
    assertEquals([done.tasks_completed, done.cleanup_error], [6, "cleanup hook exited with code 3"]);
    assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
    // The work dir keeps only the hook log.
    const left = await Array.fromAsync(Deno.readDir(`${manager.stateDir}/suites/${suite}`));
    assertEquals(left.map((e) => e.name), ["hooks.log"]);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

test("an unreachable coordinator: the manager retries with backoff and reconnects when it is back", async () => {
  const port = freePort();
  const dbUrl = await freshDatabase();
  const dataDir = await Deno.makeTempDir({ prefix: "mitosis-test-coord-" });
  const sandbox = await Deno.makeTempDir({ prefix: "mitosis-test-manager-" });
  const overrides = { bind: `127.0.0.1:${port}`, db_url: dbUrl, data_dir: dataDir };
  const url = `http://127.0.0.1:${port}`;
  try {
    let coord: TestCoordinator | null = await startTestCoordinator(overrides);
    const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
    const alice = await createUser(coord.url, admin, ALICE.user, ALICE.password);

    // Connected, then the coordinator goes away and comes back: the session resumes.
    const manager = await spawnManager(url, { ...ALICE, dir: sandbox });
    const uuid = await manager.waitConnected();
    await coord.stop();
    coord = null;
    await manager.waitForLog((l) => l.msg === "WebSocket connection failed", 30_000, "a failed attempt");
    coord = await startTestCoordinator(overrides);
    await manager.waitForLog((l) => l.msg === "WebSocket reconnected", 90_000, "the reconnection");
    await eventually("a heartbeat after reconnection", async () => {
      const rows = await coord!.sql`SELECT 1 FROM node_managers WHERE uuid = ${uuid} AND state = 0
        AND last_heartbeat > now() - interval '5 seconds'`;
      return rows.length === 1;
    });
    assertEquals(await manager.stop(), 0);

    // Started while the coordinator is down: it keeps trying, then connects with its stored identity.
    await coord.stop();
    coord = null;
    await using restarted = await spawnManager(url, { dir: sandbox, waitConnected: false });
    await restarted.waitForLog((l) => l.msg === "WebSocket connection failed", 60_000, "a failed attempt");
    assertEquals(restarted.stdout(), "");
    coord = await startTestCoordinator(overrides);
    assertEquals(await restarted.waitConnected(90_000), uuid);
    const info = await getManager(url, alice, uuid);
    assertEquals(info.state, "Idle");
    assertEquals(await restarted.stop(), 0);
    await coord.stop();
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(sandbox, { recursive: true }).catch(() => {});
  }
});

test("SIGTERM stops the manager during preparation: the hook is killed, the suite given back, nothing left", async () => {
  const { coord, alice } = await setup();
  await using _coord = coord;
  const duration = uniqueSleep(300);
  const suite = await createSuite(coord.url, alice, { env_preparation: { args: ["sleep", duration] } });
  await submit(coord.url, alice, suite, [["true"]]);
  await using manager = await spawnManager(coord.url, ALICE);
  const uuid = await manager.waitConnected();
  await eventually("the preparation hook to run", async () => (await livingProcesses(`sleep ${duration}`)).length > 0);
  manager.kill("SIGTERM");
  assertEquals(await manager.waitExit(60_000), 0, manager.stderr());
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
  assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
  // SuiteCompleted released the assignment at once; the preparation did not count as failed.
  await eventually("the release", async () => (await getManager(coord.url, alice, uuid)).assigned_suite_uuid === null);
  const failed = await coord.sql`SELECT 1 FROM task_suite_managers WHERE prepare_failed_at IS NOT NULL`;
  assertEquals(failed.length, 0);
  assertEquals((await getSuite(coord.url, alice, suite)).pending_tasks, 1);
});

test("SIGTERM while executing lets running tasks finish, runs cleanup and leaves no process behind", async () => {
  const { coord, alice } = await setup();
  await using _coord = coord;
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-hooks-" });
  try {
    const duration = uniqueSleep(1);
    const suite = await createSuite(coord.url, alice, {
      worker_count: 2,
      env_cleanup: { args: ["sh", "-c", `echo cleanup >> ${out}/order`] },
    });
    const tasks = await submit(
      coord.url,
      alice,
      suite,
      Array.from({ length: 6 }, () => ["sh", "-c", `sleep ${duration} && echo task >> ${out}/order`]),
    );
    await using manager = await spawnManager(coord.url, { ...ALICE, args: ["--max-workers", "2"] });
    const uuid = await manager.waitConnected();
    const sleeping = async () =>
      (await livingProcesses(`sleep ${duration}`)).filter((line) => line.split(/\s+/)[2] === "sleep").length;
    await eventually("two tasks to run", async () => await sleeping() >= 2);
    manager.kill("SIGTERM");
    assertEquals(await manager.waitExit(90_000), 0, manager.stderr());
    assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
    assertEquals(await livingProcesses(`sleep ${duration}`), []);
    const lines = (await Deno.readTextFile(`${out}/order`)).trim().split("\n");
    assertTrue(lines.filter((l) => l === "task").length >= 2, lines.join("\n"));
    assertEquals(lines.at(-1), "cleanup");
    // Finished tasks are committed, the others are Ready again; the manager holds nothing.
    await eventually(
      "the release",
      async () => (await getManager(coord.url, alice, uuid)).assigned_suite_uuid === null,
    );
    const held = await coord.sql`SELECT 1 FROM active_tasks WHERE state <> 1`;
    assertEquals(held.length, 0);
    const pending = (await getSuite(coord.url, alice, suite)).pending_tasks;
    assertEquals(pending, tasks.length - lines.filter((l) => l === "task").length);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

test("a second SIGTERM forces the stop: a hook ignoring SIGTERM is killed at once", async () => {
  const { coord, alice } = await setup();
  await using _coord = coord;
  const duration = uniqueSleep(300);
  const suite = await createSuite(coord.url, alice, {
    env_preparation: { args: ["sh", "-c", `trap '' TERM; sleep ${duration}`] },
  });
  await submit(coord.url, alice, suite, [["true"]]);
  await using manager = await spawnManager(coord.url, ALICE);
  await manager.waitConnected();
  await eventually("the preparation hook to run", async () => (await livingProcesses(`sleep ${duration}`)).length > 0);
  manager.kill("SIGTERM");
  await manager.waitForLog((l) => l.msg === "stopping gracefully: running tasks finish, then cleanup", 10_000, "stop");
  manager.kill("SIGTERM");
  assertEquals(await manager.waitExit(30_000), 130, manager.stderr());
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
});

test("Shutdown from the coordinator stops an idle manager", async () => {
  const { coord, admin } = await setup();
  await using _coord = coord;
  await using manager = await spawnManager(coord.url, ALICE);
  const uuid = await manager.waitConnected();
  await eventually("the manager to be Idle", async () => {
    const rows = await coord.sql`SELECT 1 FROM node_managers WHERE uuid = ${uuid} AND state = 0`;
    return rows.length === 1;
  });
  const res = await call(coord.url, "POST", `/managers/${uuid}/shutdown`, { token: admin, body: { op: "Graceful" } });
  assertEquals(res.status, 200, res.text);
  assertEquals(await manager.waitExit(30_000), 0, manager.stderr());
  await manager.waitForLog((l) => l.msg === "manager stopped", 1_000, "the stop");
});

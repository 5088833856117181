/**
 * `POST /managers/{uuid}/shutdown` from request to exit: the request stays
 * pending until a manager process that was sent it exits, so a manager
 * started again afterwards serves suites; a request made while the manager
 * is disconnected is delivered when it connects (on any coordinator, Force
 * staying Force); a manager draining after a graceful shutdown, even one
 * that reconnects meanwhile, is not assigned a suite.
 */
import { assertEquals } from "./support/assert.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import {
  ALICE,
  createSuite,
  eventually,
  getSuite,
  managerIdle,
  ONE_RUN,
  setupSuites as setup,
  submit,
  transitionsUntilIdle,
} from "./support/suites.ts";
import { spawnManager } from "./support/manager.ts";
import { registerManager, startScriptedManager, WsManager } from "./support/ws_manager.ts";
import { test } from "./support/test.ts";

/** Whether the manager has a shutdown pending. */
async function shutdownPending(coord: TestCoordinator, uuid: string): Promise<boolean> {
  const [row] = await coord.sql<{ shutdown_requested: boolean }[]>`
    SELECT shutdown_requested FROM node_managers WHERE uuid = ${uuid}`;
  return row.shutdown_requested;
}

/** The suite assigned to the manager (its database id), or null. */
async function assignedSuiteId(coord: TestCoordinator, uuid: string): Promise<number | null> {
  const [row] = await coord.sql<{ assigned_task_suite_id: number | null }[]>`
    SELECT assigned_task_suite_id FROM node_managers WHERE uuid = ${uuid}`;
  return row.assigned_task_suite_id;
}

async function requestShutdown(url: string, token: string, uuid: string, op: "Graceful" | "Force"): Promise<void> {
  const res = await call(url, "POST", `/managers/${uuid}/shutdown`, { token, body: { op } });
  assertEquals(res.status, 200, res.text);
}

/** Registers a manager over REST as alice and writes it as the identity of a new sandbox. */
async function registeredSandbox(url: string, alice: string): Promise<{ dir: string; uuid: string }> {
  const { uuid, token } = await registerManager(url, alice);
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-manager-" });
  await Deno.mkdir(`${dir}/state`, { recursive: true });
  const identity = { manager_uuid: uuid, token, coordinator_addr: url, registered_at: new Date().toISOString() };
  await Deno.writeTextFile(`${dir}/state/identity.json`, JSON.stringify(identity), { mode: 0o600 });
  return { dir, uuid };
}

test("a manager stopped with the shutdown endpoint and started again with its state dir runs a new suite", async () => {
  const { coord, admin, alice } = await setup();
  await using _coord = coord;
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-manager-" });
  try {
    let uuid: string;
    {
      await using manager = await spawnManager(coord.url, { ...ALICE, dir });
      uuid = await manager.waitConnected();
      await managerIdle(coord.url, alice, uuid);
      await requestShutdown(coord.url, admin, uuid, "Graceful");
      assertEquals(await manager.waitExit(30_000), 0, manager.stderr());
    }
    // Its connection closed on exit: the request is done.
    await eventually("the shutdown request to end", async () => !(await shutdownPending(coord, uuid)));

    await using again = await spawnManager(coord.url, { dir });
    assertEquals(await again.waitConnected(), uuid);
    const suite = await createSuite(coord.url, alice, { worker_count: 1 });
    await submit(coord.url, alice, suite, [["true"]]);
    assertEquals(await transitionsUntilIdle(again, suite), [...ONE_RUN]);
    const done = await again.waitForLog((l) => l.msg === "suite done on this manager", 5_000, "the suite's end");
    assertEquals(done.tasks_completed, 1);
    assertEquals((await getSuite(coord.url, alice, suite)).pending_tasks, 0);
    assertEquals(await again.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("a shutdown requested while the manager is disconnected is delivered when it connects", async () => {
  const { coord, admin, alice } = await setup();
  await using _coord = coord;
  const { dir, uuid } = await registeredSandbox(coord.url, alice);
  try {
    await requestShutdown(coord.url, admin, uuid, "Graceful");
    assertEquals(await shutdownPending(coord, uuid), true);
    // It may stop before it prints its connected line.
    await using manager = await spawnManager(coord.url, { dir, waitConnected: false });
    assertEquals(await manager.waitExit(60_000), 0, manager.stderr());
    await manager.waitForLog((l) => l.msg === "WebSocket connected" && l.manager_uuid === uuid, 1_000, "a connection");
    const stop = await manager.waitForLog(
      (l) => l.msg === "stopping gracefully: running tasks finish, then cleanup",
      1_000,
      "the stop",
    );
    assertEquals(stop.source, "coordinator");
    // Delivered and carried out: the next start serves suites.
    await eventually("the shutdown request to end", async () => !(await shutdownPending(coord, uuid)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("a Force shutdown requested on one coordinator reaches the manager connecting to another, as Force", async () => {
  const first = await startTestCoordinator();
  await using _first = first;
  await using second = await startTestCoordinator({
    db_url: first.dbUrl,
    access_token_private_path: `${first.dataDir}/private.pem`,
    access_token_public_path: `${first.dataDir}/public.pem`,
  });
  const admin = await login(first.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(first.url, admin, "alice");
  const creds = await registerManager(first.url, alice);
  await requestShutdown(first.url, admin, creds.uuid, "Graceful");
  await requestShutdown(first.url, admin, creds.uuid, "Force");
  await requestShutdown(first.url, admin, creds.uuid, "Graceful");

  const onB = await WsManager.connect(second.url, creds);
  // Sent once the manager has spoken (a real one declares its held tasks first).
  await onB.heartbeat("Idle");
  assertEquals(await onB.nextPush("Shutdown"), { type: "Shutdown", graceful: false });
  await onB.close();
  await eventually("the shutdown request to end", async () => !(await shutdownPending(first, creds.uuid)));

  // Started again: no Shutdown, and it is assigned a suite.
  await using again = await WsManager.connect(second.url, creds);
  await again.heartbeat("Idle");
  const suite = await createSuite(first.url, alice, {});
  await submit(first.url, alice, suite, [["true"]]);
  assertEquals((await again.nextPush("SuiteAssigned")).suite_uuid, suite);
  assertEquals(again.queued("Shutdown"), []);
});

test("a manager draining after a graceful shutdown is not assigned a suite, even after reconnecting", async () => {
  const { coord, admin, alice } = await setup();
  await using _coord = coord;
  const first = await createSuite(coord.url, alice, {});
  await submit(coord.url, alice, first, [["true"]]);
  const draining = await startScriptedManager(coord.url, alice);
  const creds = { uuid: draining.uuid, token: draining.token };
  assertEquals((await draining.nextPush("SuiteAssigned")).suite_uuid, first);
  await draining.suiteStarted(first);
  const [task] = (await draining.fetch(1)).tasks;

  await requestShutdown(coord.url, admin, creds.uuid, "Graceful");
  assertEquals(await draining.nextPush("Shutdown"), { type: "Shutdown", graceful: true });
  // A second suite waits while the running task finishes and the first suite completes on this manager.
  const second = await createSuite(coord.url, alice, {});
  await submit(coord.url, alice, second, [["true"]]);
  await draining.commit(task);
  await draining.suiteCompleted(first, 1);
  await draining.heartbeat("Idle");

  // Its connection drops and it reconnects, still stopping: the request is sent again.
  await draining.close(4001);
  const reconnected = await WsManager.connect(coord.url, creds);
  await reconnected.heartbeat("Idle");
  assertEquals(await reconnected.nextPush("Shutdown"), { type: "Shutdown", graceful: true });

  // A manager connecting now is assigned the second suite, by a pass that also saw the draining one Idle.
  await using other = await startScriptedManager(coord.url, alice);
  assertEquals((await other.nextPush("SuiteAssigned")).suite_uuid, second);
  assertEquals(await assignedSuiteId(coord, creds.uuid), null);
  assertEquals(reconnected.queued("SuiteAssigned"), []);
  assertEquals(await shutdownPending(coord, creds.uuid), true);

  // It exits; started again, it is assigned the suite.
  await reconnected.close();
  await eventually("the shutdown request to end", async () => !(await shutdownPending(coord, creds.uuid)));
  await using restarted = await WsManager.connect(coord.url, creds);
  await restarted.heartbeat("Idle");
  assertEquals((await restarted.nextPush("SuiteAssigned")).suite_uuid, second);
  assertEquals(restarted.queued("Shutdown"), []);
});

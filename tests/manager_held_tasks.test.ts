/**
 * `HeldTasks`: on every (re)connection a manager declares the tasks it still
 * holds, and the coordinator returns every other task held in its name to
 * Ready at once (a restarted process holds none).
 */
import { assertEquals } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask } from "./support/workers_api.ts";
import { registerManager, WsManager } from "./support/ws_manager.ts";

test("a reconnecting manager's undeclared held tasks go back to Ready; declared ones stay held", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const suite = await call(coord.url, "POST", "/suites", {
    token: alice,
    body: { group_name: "alice", tags: ["gpu"], worker_schedule: { worker_count: 1 } },
  });
  const suiteUuid = (suite.body as { uuid: string }).uuid;
  const submitted = await call(coord.url, "POST", "/tasks/submit", {
    token: alice,
    body: { tasks: Array.from({ length: 6 }, () => noopTask("alice", { suite_uuid: suiteUuid })) },
  });
  assertEquals(submitted.status, 200, submitted.text);
  const creds = await registerManager(coord.url, alice, { tags: ["gpu"] });
  const first = await WsManager.connect(coord.url, creds);
  await first.heartbeat("Idle");
  assertEquals((await first.nextPush("SuiteAssigned", 10_000)).suite_uuid, suiteUuid);
  const claimed = await first.fetch(5, suiteUuid);
  assertEquals(claimed.tasks.length, 5);
  await first[Symbol.asyncDispose]();

  // The new connection (a restarted process would declare none) keeps two.
  await using second = await WsManager.connect(coord.url, creds);
  const kept = claimed.tasks.slice(0, 2).map((t) => t.uuid);
  const ack = await second.request({ type: "HeldTasks", task_uuids: kept });
  assertEquals(ack.type, "Ack");
  assertEquals((ack as { success: boolean }).success, true);
  const rows = await coord.sql<{ uuid: string; state: number; held: boolean }[]>`
    SELECT uuid, state, assigned_manager IS NOT NULL AS held FROM active_tasks ORDER BY id`;
  const byUuid = new Map(rows.map((r) => [r.uuid, r]));
  for (const task of claimed.tasks) {
    const row = byUuid.get(task.uuid)!;
    const keep = kept.includes(task.uuid);
    assertEquals({ state: row.state, held: row.held }, keep ? { state: 2, held: true } : { state: 1, held: false });
  }
  // A declared task's report is still accepted.
  await second.commit(claimed.tasks[0]);
  const [archived] = await coord.sql`SELECT count(*)::int AS n FROM archived_tasks WHERE uuid = ${kept[0]}`;
  assertEquals(archived.n, 1);
  // Bad input: a non-uuid is an Error naming the field, and nothing changes.
  const bad = await second.requestWithId(99, { type: "HeldTasks", task_uuids: ["nope"] } as never);
  assertEquals(bad.type, "Error");
  const [still] = await coord.sql`SELECT state FROM active_tasks WHERE uuid = ${kept[1]}`;
  assertEquals(still.state, 2);
});

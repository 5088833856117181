import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";
import { parseTimestamp } from "../shared/time.ts";

test("workers can be queried, inspected, retagged, relabelled and given roles", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const bob = await createUser(coord.url, admin, "bob");
  const w1 = await registerWorker(coord.url, alice, { tags: ["gpu"], labels: ["rack1"] });
  const w2 = await registerWorker(coord.url, alice, { tags: ["cpu"] });
  const query = await call(coord.url, "POST", "/workers/query", { token: alice, body: { tags: ["gpu"] } });
  assertEquals(query.status, 200, query.text);
  const found = query.body as { count: number; workers: { worker_id: string; labels: string[] }[]; group_name: string };
  assertEquals(found.count, 1);
  assertEquals(found.workers[0].worker_id, w1.uuid);
  assertEquals(found.workers[0].labels, ["rack1"]);
  assertEquals(found.group_name, "alice");
  const counted = await call(coord.url, "POST", "/workers/query", { token: alice, body: { count: true } });
  assertEquals((counted.body as { count: number; workers: unknown[] }).count, 2);

  const info = await call(coord.url, "GET", `/workers/${w1.uuid}`, { token: alice });
  const body = info.body as { info: Record<string, unknown>; groups: Record<string, string> };
  assertEquals(body.groups, { alice: "Admin" });
  assertEquals(body.info.state, "Normal");
  assertEquals(body.info.assigned_task_id, null);
  assertTrue(parseTimestamp(body.info.last_heartbeat as string) !== null);
  assertEquals((await call(coord.url, "GET", `/workers/${w1.uuid}`, { token: bob })).status, 403);

  assertEquals(
    (await call(coord.url, "PUT", `/workers/${w2.uuid}/tags`, { token: alice, body: { tags: ["cpu", "big"] } }))
      .status,
    200,
  );
  assertEquals(
    (await call(coord.url, "PUT", `/workers/${w2.uuid}/labels`, { token: alice, body: { labels: ["l"] } }))
      .status,
    200,
  );
  assertEquals(
    (await call(coord.url, "PUT", `/workers/${w2.uuid}/tags`, { token: bob, body: { tags: [] } })).status,
    403,
  );
  const [row] = await coord.sql`SELECT tags, labels FROM workers WHERE worker_id = ${w2.uuid}`;
  assertEquals({ ...row }, { tags: ["cpu", "big"], labels: ["l"] });

  // Roles: alice shares her worker with bob's group (she needs Write there first), then removes it again.
  assertEquals(
    (await call(coord.url, "PUT", "/groups/bob/users", { token: bob, body: { relations: { alice: "Write" } } }))
      .status,
    200,
  );
  assertEquals(
    (await call(coord.url, "PUT", `/workers/${w1.uuid}/groups`, {
      token: alice,
      body: { relations: { bob: "write" } },
    })).status,
    200,
  );
  const bobQuery = await call(coord.url, "POST", "/workers/query", { token: bob, body: { group_name: "bob" } });
  assertEquals((bobQuery.body as { count: number }).count, 1);
  await call(coord.url, "POST", "/tasks", { token: bob, body: noopTask("bob") });
  assertTrue((await w1.fetch()) !== null, "bob's task runs on the shared worker");
  assertEquals(
    (await call(coord.url, "DELETE", `/workers/${w1.uuid}/groups?groups=bob`, { token: alice })).status,
    200,
  );
  const after = await call(coord.url, "GET", `/workers/${w1.uuid}`, { token: alice });
  assertEquals((after.body as { groups: unknown }).groups, { alice: "Admin" });
  assertEquals(
    (await call(coord.url, "PUT", `/workers/${w1.uuid}/groups`, {
      token: alice,
      body: { relations: { nogroup: "Read" } },
    })).status,
    404,
  );
});

test("workers shut down by filter and by list; admins cancel any worker", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const bob = await createUser(coord.url, admin, "bob");
  const gpu1 = await registerWorker(coord.url, alice, { tags: ["gpu"] });
  await registerWorker(coord.url, alice, { tags: ["gpu"] });
  const cpu = await registerWorker(coord.url, alice, { tags: ["cpu"] });
  const bobs = await registerWorker(coord.url, bob);
  const byFilter = await call(coord.url, "POST", "/workers/shutdown", {
    token: alice,
    body: { tags: ["gpu"], op: "Force" },
  });
  assertEquals(byFilter.body, { shutdown_count: 2, group_name: "alice" });
  const missing = crypto.randomUUID();
  const byList = await call(coord.url, "POST", "/workers/shutdown/list", {
    token: alice,
    body: { uuids: [cpu.uuid, bobs.uuid, missing, gpu1.uuid], op: "Graceful" },
  });
  assertEquals(byList.body, { shutdown_count: 1, failed_uuids: [bobs.uuid, missing, gpu1.uuid] });
  assertEquals((await call(coord.url, "DELETE", `/admin/workers/${bobs.uuid}?op=force`, { token: alice })).status, 403);
  assertEquals(
    (await call(coord.url, "DELETE", `/admin/workers/${bobs.uuid}/?op=force`, { token: admin })).status,
    200,
  );
  const [n] = await coord.sql`SELECT count(*)::int AS n FROM workers`;
  assertEquals(n.n, 0);
  assertEquals((await call(coord.url, "DELETE", `/admin/workers/${bobs.uuid}`, { token: admin })).status, 404);
});

test("a worker unregisters itself, and its token then answers 401", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const worker = await registerWorker(coord.url, admin, { lifetime: "1h" });
  assertEquals((await call(coord.url, "POST", "/workers/heartbeat", { token: worker.token })).status, 200);
  assertEquals((await call(coord.url, "DELETE", "/workers", { token: worker.token })).status, 200);
  assertEquals((await call(coord.url, "POST", "/workers/heartbeat", { token: worker.token })).status, 401);
  assertEquals((await call(coord.url, "GET", "/workers/tasks", { token: worker.token })).status, 401);
});

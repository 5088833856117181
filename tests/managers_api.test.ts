import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { insertSuite, registerManager } from "./support/managers_api.ts";
import { WsManager } from "./support/ws_manager.ts";
import { registerWorker } from "./support/workers_api.ts";
import { ManagerInfoSchema, ManagersQueryRespSchema } from "../shared/wire/managers.ts";
import { parseTimestamp } from "../shared/time.ts";
import { MitosisClient } from "../shared/client/client.ts";

/** A coordinator with alice, bob and group `team` (alice Write, bob Read), created by the admin. */
async function setup(): Promise<{ coord: TestCoordinator; admin: string; alice: string; bob: string }> {
  const coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const bob = await createUser(coord.url, admin, "bob");
  assertEquals((await call(coord.url, "POST", "/groups", { token: admin, body: { group_name: "team" } })).status, 200);
  const members = await call(coord.url, "PUT", "/groups/team/users", {
    token: admin,
    body: { relations: { alice: "Write", bob: "Read" } },
  });
  assertEquals(members.status, 200, members.text);
  return { coord, admin, alice, bob };
}

/** The TagMatched / UserSpecified links of a manager, as suite uuids. */
async function linkedSuites(coord: TestCoordinator, managerUuid: string): Promise<string[]> {
  const rows = await coord.sql<{ uuid: string }[]>`
    SELECT s.uuid FROM task_suite_managers tsm
    JOIN task_suites s ON s.id = tsm.task_suite_id JOIN node_managers m ON m.id = tsm.node_manager_id
    WHERE m.uuid = ${managerUuid} ORDER BY s.id`;
  return rows.map((r) => r.uuid);
}

const heartbeat = { state: "Idle", metrics: { active_workers: 0 } };

test("a manager registers with a user token and its manager token works; groups need Write", async () => {
  const { coord, admin, alice, bob } = await setup();
  await using _ = coord;
  const res = await call(coord.url, "POST", "/managers", {
    token: alice,
    body: { tags: ["gpu", "gpu"], labels: ["rack1"], groups: ["team"], hostname: "node-1", max_workers: 8 },
  });
  assertEquals(res.status, 201, res.text);
  const { manager_uuid: uuid, token } = res.body as { manager_uuid: string; token: string };
  const [row] = await coord.sql`
    SELECT state, tags, labels, hostname, max_workers, shutdown_requested,
      extract(epoch FROM token_expires_at - now())::int AS expires_in FROM node_managers WHERE uuid = ${uuid}`;
  assertEquals(
    [row.state, row.tags, row.labels, row.hostname, row.max_workers, row.shutdown_requested],
    [4, ["gpu"], ["rack1"], "node-1", 8, false],
  );
  assertTrue(Math.abs(row.expires_in - 7 * 86_400) < 60, `token lifetime defaults to 7d, got ${row.expires_in}s`);

  const info = await call(coord.url, "GET", `/managers/${uuid}`, { token: alice });
  assertEquals(info.status, 200, info.text);
  const parsed = ManagerInfoSchema.parse(info.body);
  assertEquals(parsed.groups, { alice: "Admin", team: "Write" });
  assertEquals([parsed.state, parsed.creator_username, parsed.assigned_suite_uuid], ["Offline", "alice", null]);
  assertTrue(parseTimestamp(parsed.created_at) !== null);

  const beat = await call(coord.url, "POST", "/managers/heartbeat", { token, body: heartbeat });
  assertEquals(beat.status, 200, beat.text);
  assertEquals(beat.body, { assigned_suite_uuid: null });

  // Defaults: max_workers 1, no hostname; a requested role is kept.
  const plain = await registerManager(coord.url, alice, { groups: ["team:read"] });
  const plainInfo = ManagerInfoSchema.parse(
    (await call(coord.url, "GET", `/managers/${plain.uuid}`, { token: alice }))
      .body,
  );
  assertEquals([plainInfo.max_workers, plainInfo.hostname, plainInfo.tags], [1, null, []]);
  assertEquals(plainInfo.groups, { alice: "Admin", team: "Read" });

  // Write in each requested group is required; unknown groups are 404.
  const readOnly = await call(coord.url, "POST", "/managers", { token: bob, body: { groups: ["team"] } });
  assertEquals(readOnly.status, 403, readOnly.text);
  assertIncludes((readOnly.body as { msg: string }).msg, "team");
  assertEquals((await call(coord.url, "POST", "/managers", { token: bob, body: { groups: ["nogroup"] } })).status, 404);
  assertEquals((await call(coord.url, "POST", "/managers", { token: admin, body: { groups: ["team"] } })).status, 201);
  const [count] = await coord.sql`SELECT count(*)::int AS n FROM node_managers`;
  assertEquals(count.n, 3, "refused registrations leave no row");

  // Token kinds do not cross: user tokens on manager endpoints and the reverse are 401.
  const worker = await registerWorker(coord.url, alice);
  for (
    const [method, path, wrong] of [
      ["POST", "/managers/heartbeat", alice],
      ["POST", "/managers/heartbeat", worker.token],
      ["POST", `/managers/${uuid}/refresh-token`, alice],
      ["GET", "/managers", token],
      ["POST", "/managers/query", token],
      ["POST", "/managers", token],
      ["GET", `/managers/${uuid}`, token],
      ["PUT", `/managers/${uuid}/tags`, token],
      ["POST", `/managers/${uuid}/shutdown`, token],
      ["GET", "/workers/tasks", token],
      ["GET", "/auth", token],
    ] as const
  ) {
    const r = await call(coord.url, method, path, { token: wrong, body: method === "GET" ? undefined : {} });
    assertEquals(r.status, 401, `${method} ${path}: ${r.text}`);
    assertTrue(typeof (r.body as { msg?: unknown }).msg === "string", r.text);
  }
  assertEquals((await call(coord.url, "POST", "/managers/heartbeat", { body: heartbeat })).status, 401);
});

test("managers are listed by group with state, tag and label filters, and read through shared groups", async () => {
  const { coord, admin, alice, bob } = await setup();
  await using _ = coord;
  const gpu = await registerManager(coord.url, alice, { tags: ["gpu", "a100"], labels: ["rack1"], groups: ["team"] });
  const cpu = await registerManager(coord.url, alice, { tags: ["cpu"] });
  await coord.sql`UPDATE node_managers SET state = 0 WHERE uuid = ${cpu.uuid}`;

  const uuids = (body: unknown) => ManagersQueryRespSchema.parse(body).managers.map((m) => m.manager_uuid).sort();
  const all = await call(coord.url, "GET", "/managers", { token: alice });
  assertEquals(all.status, 200, all.text);
  assertEquals(uuids(all.body), [gpu.uuid, cpu.uuid].sort());
  assertEquals((all.body as { count: number; group_name: string }).group_name, "alice");
  for (
    const [query, expected] of [
      ["?state=Idle", [cpu.uuid]],
      ["?state=Offline", [gpu.uuid]],
      ["?tags=gpu,a100", [gpu.uuid]],
      ["?tags=gpu&tags=cpu", []],
      ["?labels=rack1", [gpu.uuid]],
      ["?group_name=team", [gpu.uuid]],
      ["?group_name=team&state=Idle", []],
    ] as const
  ) {
    const r = await call(coord.url, "GET", `/managers${query}`, { token: alice });
    assertEquals(r.status, 200, `${query}: ${r.text}`);
    assertEquals(uuids(r.body), [...expected], query);
  }
  const counted = await call(coord.url, "GET", "/managers?count=true", { token: alice });
  assertEquals([(counted.body as { count: number }).count, (counted.body as { managers: [] }).managers], [2, []]);
  const posted = await call(coord.url, "POST", "/managers/query", {
    token: alice,
    body: { group_name: "alice", state: "Offline", tags: ["gpu"], labels: ["rack1"] },
  });
  assertEquals(uuids(posted.body), [gpu.uuid]);
  const postCount = await call(coord.url, "POST", "/managers/query", { token: alice, body: { count: true } });
  assertEquals(postCount.body, { count: 2, managers: [], group_name: "alice" });

  // Bob reads team (Read) but not alice's group; the admin reads any group.
  assertEquals(uuids((await call(coord.url, "GET", "/managers?group_name=team", { token: bob })).body), [gpu.uuid]);
  assertEquals((await call(coord.url, "GET", "/managers?group_name=alice", { token: bob })).status, 403);
  assertEquals((await call(coord.url, "GET", "/managers?group_name=nogroup", { token: bob })).status, 404);
  assertEquals(uuids((await call(coord.url, "GET", "/managers?group_name=alice", { token: admin })).body).length, 2);

  // Details: shared group (bob via team), the creator, the admin; others 403; unknown 404.
  assertEquals((await call(coord.url, "GET", `/managers/${gpu.uuid}`, { token: bob })).status, 200);
  const denied = await call(coord.url, "GET", `/managers/${cpu.uuid}`, { token: bob });
  assertEquals(denied.status, 403, denied.text);
  assertIncludes((denied.body as { msg: string }).msg, cpu.uuid);
  assertEquals((await call(coord.url, "GET", `/managers/${cpu.uuid}`, { token: admin })).status, 200);
  assertEquals((await call(coord.url, "GET", `/managers/${crypto.randomUUID()}`, { token: alice })).status, 404);
  assertEquals(
    (await call(coord.url, "DELETE", `/managers/${cpu.uuid}/groups?groups=alice`, { token: alice })).status,
    200,
  );
  const creatorOnly = await call(coord.url, "GET", `/managers/${cpu.uuid}`, { token: alice });
  assertEquals(creatorOnly.status, 200, "the creator still reads a manager no group of hers holds");
  assertEquals(ManagerInfoSchema.parse(creatorOnly.body).groups, {});
});

test("tags, labels and group roles change a manager's suite matches", async () => {
  const { coord, admin, alice, bob } = await setup();
  await using _ = coord;
  const gpuSuite = await insertSuite(coord.sql, "alice", ["gpu"]);
  const teamSuite = await insertSuite(coord.sql, "team", []);
  const manager = await registerManager(coord.url, alice, { tags: ["cpu"] });
  assertEquals(await linkedSuites(coord, manager.uuid), [], "no suite matches at registration");
  const matchedAtStart = await registerManager(coord.url, alice, { tags: ["gpu"], groups: ["team"] });
  assertEquals(await linkedSuites(coord, matchedAtStart.uuid), [gpuSuite.uuid, teamSuite.uuid]);

  const put = (path: string, token: string, body: unknown) =>
    call(coord.url, "PUT", `/managers/${manager.uuid}${path}`, { token, body });
  assertEquals((await put("/tags", alice, { tags: ["cpu", "gpu"] })).status, 200);
  assertEquals(await linkedSuites(coord, manager.uuid), [gpuSuite.uuid]);
  assertEquals((await put("/labels", alice, { labels: ["l1", "l2"] })).status, 200);
  const [row] = await coord.sql`SELECT tags, labels FROM node_managers WHERE uuid = ${manager.uuid}`;
  assertEquals({ ...row }, { tags: ["cpu", "gpu"], labels: ["l1", "l2"] });

  assertEquals((await put("/groups", alice, { relations: { team: "write" } })).status, 200);
  assertEquals(await linkedSuites(coord, manager.uuid), [gpuSuite.uuid, teamSuite.uuid]);
  assertEquals((await put("/groups", alice, { relations: { team: "Read" } })).status, 200);
  assertEquals(await linkedSuites(coord, manager.uuid), [gpuSuite.uuid], "Read does not serve a group's suites");
  assertEquals((await put("/tags", alice, { tags: ["cpu"] })).status, 200);
  assertEquals(await linkedSuites(coord, manager.uuid), []);
  assertEquals((await put("/tags", alice, { tags: ["gpu"] })).status, 200);
  const remove = await call(coord.url, "DELETE", `/managers/${manager.uuid}/groups?groups=alice,team`, {
    token: alice,
  });
  assertEquals(remove.status, 200, remove.text);
  assertEquals(await linkedSuites(coord, manager.uuid), []);
  assertEquals((await put("/groups", alice, { relations: { alice: "Admin" } })).status, 403, "creator only reads now");
  assertEquals((await put("/groups", admin, { relations: { alice: "Admin" } })).status, 200);
  assertEquals(await linkedSuites(coord, manager.uuid), [gpuSuite.uuid]);
  assertEquals((await put("/groups", alice, { relations: { nogroup: "Read" } })).status, 404);

  // Bob: no access at all, then Write access through team (tags, labels) but not Admin (roles, shutdown).
  assertEquals((await put("/tags", bob, { tags: [] })).status, 403);
  await call(coord.url, "PUT", "/groups/team/users", { token: admin, body: { relations: { bob: "Write" } } });
  assertEquals((await put("/groups", admin, { relations: { team: "Write" } })).status, 200);
  assertEquals((await put("/labels", bob, { labels: ["bob"] })).status, 200);
  assertEquals((await put("/groups", bob, { relations: { bob: "Admin" } })).status, 403);
  const bobShutdown = await call(coord.url, "POST", `/managers/${manager.uuid}/shutdown`, {
    token: bob,
    body: { op: "Force" },
  });
  assertEquals(bobShutdown.status, 403, bobShutdown.text);
  const bobRemove = await call(coord.url, "DELETE", `/managers/${manager.uuid}/groups?groups=team`, { token: bob });
  assertEquals(bobRemove.status, 403);
});

test("shutdown: Graceful flags the manager; Force also requeues its tasks and releases its suite; both push", async () => {
  const { coord, alice, bob } = await setup();
  await using _ = coord;
  const suite = await insertSuite(coord.sql, "alice", []);
  await using graceful = await WsManager.connect(coord.url, await registerManager(coord.url, alice));
  await using force = await WsManager.connect(coord.url, await registerManager(coord.url, alice));
  const [m] = await coord.sql<{ id: number }[]>`SELECT id FROM node_managers WHERE uuid = ${force.uuid}`;
  const [g] = await coord.sql<{ id: number }[]>`SELECT id FROM node_managers WHERE uuid = ${graceful.uuid}`;
  await coord.sql`UPDATE node_managers SET state = 2, assigned_task_suite_id = ${suite.id},
    lease_expires_at = now() + interval '1 minute' WHERE id IN (${m.id}, ${g.id})`;
  const taskUuid = crypto.randomUUID();
  const otherUuid = crypto.randomUUID();
  await coord.sql`
    INSERT INTO active_tasks (creator_id, group_id, task_id, uuid, state, timeout, spec, task_suite_id,
      assigned_manager)
    SELECT g.creator_id, g.id, x.n, x.u::uuid, 2, 600, ${coord.sql.json({ args: ["true"] })}, ${suite.id}, x.m
    FROM groups g, (VALUES (1, ${taskUuid}, ${m.id}::bigint), (2, ${otherUuid}, ${g.id}::bigint)) AS x(n, u, m)
    WHERE g.group_name = 'alice'`;

  const denied = await call(coord.url, "POST", `/managers/${force.uuid}/shutdown`, {
    token: bob,
    body: { op: "Force" },
  });
  assertEquals(denied.status, 403, denied.text);
  const gracefulRes = await call(coord.url, "POST", `/managers/${graceful.uuid}/shutdown`, {
    token: alice,
    body: { op: "Graceful" },
  });
  assertEquals(gracefulRes.status, 200, gracefulRes.text);
  assertEquals(await graceful.nextPush("Shutdown"), { type: "Shutdown", graceful: true });
  const forceRes = await call(coord.url, "POST", `/managers/${force.uuid}/shutdown`, {
    token: alice,
    body: { op: "force" },
  });
  assertEquals(forceRes.status, 200, forceRes.text);
  assertEquals(await force.nextPush("Shutdown"), { type: "Shutdown", graceful: false });
  assertEquals(force.queued("Shutdown").length + graceful.queued("Shutdown").length, 0, "one push each");

  const managers = await coord.sql`
    SELECT uuid, shutdown_requested, assigned_task_suite_id, lease_expires_at IS NULL AS no_lease
    FROM node_managers ORDER BY id`;
  assertEquals(managers.map((r) => ({ ...r })), [
    { uuid: graceful.uuid, shutdown_requested: true, assigned_task_suite_id: suite.id, no_lease: false },
    { uuid: force.uuid, shutdown_requested: true, assigned_task_suite_id: null, no_lease: true },
  ]);
  const tasks = await coord.sql`
    SELECT uuid, state, assigned_manager, attempt FROM active_tasks ORDER BY task_id`;
  assertEquals(tasks.map((r) => ({ ...r })), [
    // Back to Ready with its attempt unchanged: the next claim increments it.
    { uuid: taskUuid, state: 1, assigned_manager: null, attempt: 0 },
    { uuid: otherUuid, state: 2, assigned_manager: g.id, attempt: 0 },
  ]);
  assertEquals(
    (await call(coord.url, "POST", `/managers/${crypto.randomUUID()}/shutdown`, { token: alice, body: {} })).status,
    404,
  );
});

test("refresh-token: refused while more than 24 h remain; otherwise a new token replaces the old one", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const longLived = await registerManager(coord.url, alice);
  const early = await call(coord.url, "POST", `/managers/${longLived.uuid}/refresh-token`, {
    token: longLived.token,
  });
  assertEquals(early.status, 400, early.text);
  assertIncludes((early.body as { msg: string }).msg, "still valid for 6d23h");

  const shortLived = await registerManager(coord.url, alice, { lifetime: "1h" });
  const [before] = await coord.sql`
    SELECT extract(epoch FROM token_expires_at - now())::int AS s FROM node_managers WHERE uuid = ${shortLived.uuid}`;
  assertTrue(Math.abs(before.s - 3600) < 60, `lifetime 1h stored, got ${before.s}s`);
  const otherManager = await call(coord.url, "POST", `/managers/${shortLived.uuid}/refresh-token`, {
    token: longLived.token,
  });
  assertEquals(otherManager.status, 403, otherManager.text);

  const refreshed = await call(coord.url, "POST", `/managers/${shortLived.uuid}/refresh-token`, {
    token: shortLived.token,
  });
  assertEquals(refreshed.status, 200, refreshed.text);
  const { token } = refreshed.body as { token: string };
  assertTrue(token !== shortLived.token);
  const [after] = await coord.sql`
    SELECT extract(epoch FROM token_expires_at - now())::int AS s FROM node_managers WHERE uuid = ${shortLived.uuid}`;
  assertTrue(Math.abs(after.s - 7 * 86_400) < 60, `refreshed tokens live access_token_expires_in, got ${after.s}s`);
  assertEquals((await call(coord.url, "POST", "/managers/heartbeat", { token, body: heartbeat })).status, 200);
  const old = await call(coord.url, "POST", "/managers/heartbeat", { token: shortLived.token, body: heartbeat });
  assertEquals(old.status, 401, old.text);
  const oldRefresh = await call(coord.url, "POST", `/managers/${shortLived.uuid}/refresh-token`, {
    token: shortLived.token,
  });
  assertEquals(oldRefresh.status, 401);
});

test("sdk: client.managers registers, queries, inspects, changes and shuts down managers", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const client = new MitosisClient({ baseUrl: coord.url, token: alice });
  const { manager_uuid: uuid, token } = await client.managers.register({ tags: ["gpu"], groups: ["team:Admin"] });
  assertTrue(token.length > 0);
  assertEquals((await client.managers.query({ group_name: "team" })).managers.map((m) => m.manager_uuid), [uuid]);
  await client.managers.replaceTags(uuid, ["gpu", "a100"]);
  await client.managers.replaceLabels(uuid, ["rack"]);
  await client.managers.updateGroups(uuid, { team: "Write" });
  await client.managers.removeGroups(uuid, ["team"]);
  const info = await client.managers.get(uuid);
  assertEquals([info.tags, info.labels, info.groups], [["gpu", "a100"], ["rack"], { alice: "Admin" }]);
  assertEquals((await client.managers.query({ state: "Offline", count: true })).count, 1);
  await client.managers.shutdown(uuid, "Force");
  const [row] = await coord.sql`SELECT shutdown_requested FROM node_managers WHERE uuid = ${uuid}`;
  assertEquals(row.shutdown_requested, true);
});

test("every manager endpoint answers bad input with 400 and a msg", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const manager = await registerManager(coord.url, alice);
  const m = `/managers/${manager.uuid}`;
  const cases: [string, string, string, unknown][] = [
    ["POST", "/managers", alice, "{not json"],
    ["POST", "/managers", alice, ""],
    ["POST", "/managers", alice, []],
    ["POST", "/managers", alice, { tags: "gpu" }],
    ["POST", "/managers", alice, { tags: [""] }],
    ["POST", "/managers", alice, { groups: ["team:boss"] }],
    ["POST", "/managers", alice, { groups: ["bad name"] }],
    ["POST", "/managers", alice, { max_workers: 0 }],
    ["POST", "/managers", alice, { max_workers: 1.5 }],
    ["POST", "/managers", alice, { hostname: "" }],
    ["POST", "/managers", alice, { lifetime: "soon" }],
    ["POST", "/managers", alice, { lifetime: "0s" }],
    ["POST", "/managers/heartbeat", manager.token, {}],
    ["POST", "/managers/heartbeat", manager.token, "nope"],
    ["POST", "/managers/heartbeat", manager.token, { state: "Sleeping" }],
    ["POST", "/managers/heartbeat", manager.token, { state: "Idle", assigned_suite_uuid: "x" }],
    ["POST", "/managers/heartbeat", manager.token, { state: "Idle", metrics: { active_workers: -1 } }],
    ["GET", "/managers?state=Sleeping", alice, undefined],
    ["GET", "/managers?state=idle", alice, undefined],
    ["GET", "/managers?group_name=bad%20name", alice, undefined],
    ["GET", "/managers?count=maybe", alice, undefined],
    ["POST", "/managers/query", alice, "[1"],
    ["POST", "/managers/query", alice, null],
    ["POST", "/managers/query", alice, { state: "x" }],
    ["POST", "/managers/query", alice, { tags: [] }],
    ["POST", "/managers/query", alice, { count: "yes" }],
    ["GET", "/managers/not-a-uuid", alice, undefined],
    ["POST", "/managers/not-a-uuid/shutdown", alice, { op: "Graceful" }],
    ["POST", `${m}/shutdown`, alice, { op: "Later" }],
    ["POST", `${m}/shutdown`, alice, "x"],
    ["PUT", "/managers/123/tags", alice, { tags: [] }],
    ["PUT", `${m}/tags`, alice, { tags: "gpu" }],
    ["PUT", `${m}/tags`, alice, { tags: [""] }],
    ["PUT", `${m}/tags`, alice, {}],
    ["PUT", `${m}/labels`, alice, { labels: 1 }],
    ["PUT", `${m}/groups`, alice, { relations: {} }],
    ["PUT", `${m}/groups`, alice, { relations: { team: "boss" } }],
    ["PUT", `${m}/groups`, alice, { relations: { "bad name": "Read" } }],
    ["DELETE", `${m}/groups`, alice, undefined],
    ["DELETE", `${m}/groups?groups=bad!name`, alice, undefined],
    ["DELETE", "/managers/xyz/groups?groups=alice", alice, undefined],
    ["POST", "/managers/not-a-uuid/refresh-token", manager.token, undefined],
  ];
  for (const [method, path, token, body] of cases) {
    const res = await call(coord.url, method, path, { token, body });
    const label = `${method} ${path} ${JSON.stringify(body)}`;
    assertEquals(res.status, 400, `${label}: ${res.status} ${res.text}`);
    const msg = (res.body as { msg?: unknown } | null)?.msg;
    assertTrue(typeof msg === "string" && msg.length > 0, `${label}: ${res.text}`);
  }
  const [row] = await coord.sql`SELECT count(*)::int AS n FROM node_managers`;
  assertEquals(row.n, 1, "no bad registration created a manager");
});

test("GET /managers/tasks/{uuid}: a manager reads any task's state and result (for watch); others are refused", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const { token } = await registerManager(coord.url, alice);
  const submitted = await call(coord.url, "POST", "/tasks", {
    token: alice,
    body: { group_name: "alice", timeout: "1m", task_spec: { args: ["true"] } },
  });
  assertEquals(submitted.status, 200, submitted.text);
  const uuid = (submitted.body as { uuid: string }).uuid;

  const ready = await call(coord.url, "GET", `/managers/tasks/${uuid}`, { token });
  assertEquals(ready.status, 200, ready.text);
  const view = ready.body as { uuid: string; state: string; result: unknown; spec: { args: string[] } };
  assertEquals([view.uuid, view.state, view.result, view.spec.args], [uuid, "Ready", null, ["true"]]);
  // Once archived, the result comes with it.
  const worker = await registerWorker(coord.url, alice);
  const task = (await worker.fetch())!;
  await worker.complete(task, 3 << 8);
  const done = await call(coord.url, "GET", `/managers/tasks/${uuid}`, { token });
  assertEquals([(done.body as typeof view).state, (done.body as typeof view).result], [
    "Finished",
    { exit_status: 3 << 8, msg: null },
  ]);

  assertEquals((await call(coord.url, "GET", `/managers/tasks/${crypto.randomUUID()}`, { token })).status, 404);
  assertEquals((await call(coord.url, "GET", `/managers/tasks/${uuid}`, { token: alice })).status, 401);
  const bad = await call(coord.url, "GET", "/managers/tasks/not-a-uuid", { token });
  assertEquals(bad.status, 400);
  assertIncludes(bad.text, "msg");
});

import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";

async function setup(overrides = {}) {
  const coord = await startTestCoordinator(overrides);
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  return { coord, admin, alice };
}

const submit = async (url: string, token: string, body: Record<string, unknown>) => {
  const res = await call(url, "POST", "/tasks", { token, body });
  if (res.status !== 200) throw new Error(res.text);
  return (res.body as { uuid: string }).uuid;
};

test("a task with tags is only given to workers whose tags include them", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const gpuTask = await submit(coord.url, alice, noopTask("alice", { tags: ["gpu"] }));
  const plain = await registerWorker(coord.url, alice);
  assertEquals(await plain.fetch(), null);
  const cpuOnly = await registerWorker(coord.url, alice, { tags: ["cpu"] });
  assertEquals(await cpuOnly.fetch(), null);
  const gpu = await registerWorker(coord.url, alice, { tags: ["gpu", "cuda"] });
  assertEquals((await gpu.fetch())!.uuid, gpuTask);
  const untagged = await submit(coord.url, alice, noopTask("alice"));
  assertEquals((await plain.fetch())!.uuid, untagged);
});

test("a worker of group A never gets group B's tasks", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const bob = await createUser(coord.url, admin, "bob");
  await submit(coord.url, bob, noopTask("bob"));
  const aliceWorker = await registerWorker(coord.url, alice);
  assertEquals(await aliceWorker.fetch(), null);
  // Registering for a group the user cannot write is refused.
  const refused = await call(coord.url, "POST", "/workers", { token: alice, body: { tags: [], groups: ["bob"] } });
  assertEquals(refused.status, 403);
  // Bob shares his group with the worker: now it may run bob's task.
  const roles = await call(coord.url, "PUT", `/workers/${aliceWorker.uuid}/groups`, {
    token: bob,
    body: { relations: { bob: "Write" } },
  });
  assertEquals(roles.status, 403, "bob has no admin relation to alice's worker");
  // Alice administers her worker but has no role in bob's group: she cannot put it there.
  const outsider = await call(coord.url, "PUT", `/workers/${aliceWorker.uuid}/groups`, {
    token: alice,
    body: { relations: { bob: "Write" } },
  });
  assertEquals(outsider.status, 403, outsider.text);
  assertEquals(await aliceWorker.fetch(), null);
  // Once bob makes her a Write member, she may share her worker with his group.
  const member = await call(coord.url, "PUT", "/groups/bob/users", {
    token: bob,
    body: { relations: { alice: "Write" } },
  });
  assertEquals(member.status, 200, member.text);
  const shared = await call(coord.url, "PUT", `/workers/${aliceWorker.uuid}/groups`, {
    token: alice,
    body: { relations: { bob: "Write" } },
  });
  assertEquals(shared.status, 200);
  const first = await aliceWorker.fetch();
  assertTrue(first !== null);
  await aliceWorker.complete(first!);
  // Removed from the group, her worker stops serving it although the group→worker role is still there.
  await submit(coord.url, bob, noopTask("bob"));
  const removed = await call(coord.url, "DELETE", "/groups/bob/users?users=alice", { token: bob });
  assertEquals(removed.status, 200, removed.text);
  assertEquals(await aliceWorker.fetch(), null);
  const [row] = await coord.sql`SELECT count(*)::int AS n FROM group_worker gw JOIN groups g ON g.id = gw.group_id
    WHERE g.group_name = 'bob'`;
  assertEquals(row.n, 1);
});

test("higher priority first, then older first", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const low = await submit(coord.url, alice, noopTask("alice", { priority: 1 }));
  const highOld = await submit(coord.url, alice, noopTask("alice", { priority: 9 }));
  const highNew = await submit(coord.url, alice, noopTask("alice", { priority: 9 }));
  const mid = await submit(coord.url, alice, noopTask("alice", { priority: 5 }));
  const worker = await registerWorker(coord.url, alice);
  const order: string[] = [];
  for (let task = await worker.fetch(); task !== null; task = await worker.fetch()) {
    order.push(task.uuid);
    await worker.complete(task);
  }
  assertEquals(order, [highOld, highNew, mid, low]);
});

test("commit archives the task with its reporter; downstream tasks turn Ready after it", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const upstream = await submit(coord.url, alice, noopTask("alice"));
  const worker = await registerWorker(coord.url, alice);
  const task = (await worker.fetch())!;
  assertEquals(task.timeout, "10m");
  assertEquals(task.upstream_task_uuid, null);
  const sub = await worker.report(task.id, { Submit: noopTask("alice", { labels: ["child"] }) });
  assertEquals(sub.status, 200);
  const [child] = await coord.sql`SELECT uuid, state, upstream_task_uuid FROM active_tasks WHERE labels = '{child}'`;
  assertEquals(child.state, 0);
  assertEquals(child.upstream_task_uuid, upstream);
  // Another worker: one asking while it holds a task is given that task again (a reply it may have lost).
  assertEquals(await (await registerWorker(coord.url, alice)).fetch(), null, "a Pending task is not dispatched");
  const other = await worker.report(task.id, { Submit: noopTask("bob") });
  assertEquals(other.status, 400);
  // Submitting again (a retried attempt) answers the same downstream task: still one child.
  const again = await worker.report(task.id, { Submit: noopTask("alice", { labels: ["child"] }) });
  assertEquals([again.status, again.body], [sub.status, sub.body]);
  assertEquals((await coord.sql`SELECT 1 FROM active_tasks WHERE upstream_task_uuid = ${upstream}`).length, 1);
  await worker.complete(task, 0);
  const [archived] = await coord.sql`SELECT state, reporter_uuid, result, downstream_task_uuid FROM archived_tasks
    WHERE uuid = ${upstream}`;
  assertEquals({ ...archived }, {
    state: 3,
    reporter_uuid: worker.uuid,
    result: { exit_status: 0, msg: null },
    downstream_task_uuid: child.uuid,
  });
  const next = (await worker.fetch())!;
  assertEquals(next.uuid, child.uuid);
  assertEquals(next.upstream_task_uuid, upstream);
});

test("reports about a task not assigned to the reporting worker are rejected and change nothing", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const uuid = await submit(coord.url, alice, noopTask("alice"));
  const owner = await registerWorker(coord.url, alice);
  const intruder = await registerWorker(coord.url, alice);
  const task = (await owner.fetch())!;
  for (
    const op of ["Finish", "Cancel", { Commit: { exit_status: 0 } }, {
      Upload: { content_type: "result", content_length: 1 },
    }]
  ) {
    const res = await intruder.report(task.id, op);
    assertEquals(res.status, 404, JSON.stringify(op));
  }
  const [row] = await coord.sql`SELECT state, assigned_worker FROM active_tasks WHERE uuid = ${uuid}`;
  assertEquals(row.state, 2);
  const [artifacts] = await coord.sql`SELECT count(*)::int AS n FROM artifacts`;
  assertEquals(artifacts.n, 0);
  const bad = await call(coord.url, "POST", "/workers/tasks", {
    token: owner.token,
    body: { id: task.id, op: "Explode" },
  });
  assertEquals(bad.status, 400);
  assertEquals(
    (await call(coord.url, "GET", "/workers/tasks", { token: alice })).status,
    401,
    "user token is no worker token",
  );
});

test("a silent worker is removed after heartbeat_timeout and its task runs elsewhere; its late report is refused", async () => {
  const { coord, alice } = await setup({ heartbeat_timeout: 1500 });
  await using _ = coord;
  const uuid = await submit(coord.url, alice, noopTask("alice"));
  const dead = await registerWorker(coord.url, alice);
  const task = (await dead.fetch())!;
  const survivor = await registerWorker(coord.url, alice);
  const deadline = Date.now() + 10_000;
  let again = null;
  while (again === null && Date.now() < deadline) {
    await call(coord.url, "POST", "/workers/heartbeat", { token: survivor.token });
    await new Promise((r) => setTimeout(r, 200));
    again = await survivor.fetch();
  }
  assertTrue(again !== null, "task was not returned to Ready");
  assertEquals(again!.uuid, uuid);
  const late = await dead.report(task.id, { Commit: { exit_status: 0 } });
  assertEquals(late.status, 401);
  const [row] = await coord.sql`SELECT state, assigned_worker FROM active_tasks WHERE uuid = ${uuid}`;
  assertEquals(row.state, 2);
  const [w] = await coord.sql`SELECT count(*)::int AS n FROM workers WHERE worker_id = ${dead.uuid}`;
  assertEquals(w.n, 0);
});

test("graceful shutdown waits for the running task; force returns it to Ready", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  await submit(coord.url, alice, noopTask("alice"));
  await submit(coord.url, alice, noopTask("alice"));
  const idle = await registerWorker(coord.url, alice);
  const busy = await registerWorker(coord.url, alice);
  const forced = await registerWorker(coord.url, alice);
  const task = (await busy.fetch())!;
  const forcedTask = (await forced.fetch())!;
  assertEquals((await call(coord.url, "DELETE", `/workers/${idle.uuid}?op=graceful`, { token: alice })).status, 200);
  assertEquals((await call(coord.url, "DELETE", `/workers/${busy.uuid}`, { token: alice })).status, 200);
  assertEquals((await call(coord.url, "DELETE", `/workers/${forced.uuid}?op=Force`, { token: alice })).status, 200);
  assertEquals((await call(coord.url, "DELETE", `/workers/${busy.uuid}?op=later`, { token: alice })).status, 400);
  const rows = await coord.sql`SELECT worker_id, state FROM workers ORDER BY id`;
  assertEquals(rows.map((r) => ({ ...r })), [{ worker_id: busy.uuid, state: 1 }]);
  assertEquals(await busy.fetch(), null, "a worker shutting down gets no new task");
  await busy.complete(task);
  assertEquals((await call(coord.url, "POST", "/workers/heartbeat", { token: busy.token })).status, 401);
  const [requeued] = await coord.sql`SELECT state, assigned_worker FROM active_tasks WHERE id = ${forcedTask.id}`;
  assertEquals({ ...requeued }, { state: 1, assigned_worker: null });
});

test("8 workers claiming 800 tasks concurrently commit every task exactly once", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  // 100 claims per worker on average: the point is that they race, not how many there are.
  const tasks = Array.from({ length: 800 }, () => noopTask("alice"));
  const res = await call(coord.url, "POST", "/tasks/submit", { token: alice, body: { tasks } });
  assertEquals(res.status, 200);
  const workers = await Promise.all(Array.from({ length: 8 }, () => registerWorker(coord.url, alice)));
  const seen = new Map<string, number>();
  await Promise.all(workers.map(async (worker) => {
    for (let task = await worker.fetch(); task !== null; task = await worker.fetch()) {
      seen.set(task.uuid, (seen.get(task.uuid) ?? 0) + 1);
      await worker.complete(task);
    }
  }));
  assertEquals(seen.size, 800);
  assertTrue([...seen.values()].every((n) => n === 1), "a task was claimed twice");
  const [archived] = await coord.sql`SELECT count(*)::int AS n, count(DISTINCT uuid)::int AS d FROM archived_tasks`;
  assertEquals({ ...archived }, { n: 800, d: 800 });
  const [active] = await coord.sql`SELECT count(*)::int AS n FROM active_tasks`;
  assertEquals(active.n, 0);
});

import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";

async function setup() {
  const coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  return { coord, admin, alice };
}

test("submitting fills defaults for labels, timeout, priority and the spec, and numbers tasks per group", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const first = await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice") });
  assertEquals(first.status, 200, first.text);
  const second = await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice") });
  assertEquals((first.body as { task_id: number }).task_id, 1);
  assertEquals((second.body as { task_id: number }).task_id, 2);
  const uuid = (first.body as { uuid: string }).uuid;
  const [row] = await coord
    .sql`SELECT tags, labels, timeout, priority, spec, state FROM active_tasks WHERE uuid = ${uuid}`;
  assertEquals({ ...row }, {
    tags: [],
    labels: [],
    timeout: 600,
    priority: 0,
    spec: { args: ["true"], envs: {}, resources: [], terminal_output: false, watch: null },
    state: 1,
  });
  const got = await call(coord.url, "GET", `/tasks/${uuid}`, { token: alice });
  assertEquals(got.status, 200);
  const info = got.body as { info: Record<string, unknown>; artifacts: unknown[] };
  assertEquals(info.artifacts, []);
  assertEquals(info.info.state, "Ready");
  assertEquals(info.info.timeout, 600);
  assertEquals(info.info.result, null);
  assertEquals(info.info.creator_username, "alice");
  assertEquals(info.info.group_name, "alice");
});

test("submitting needs Write on the group; unknown groups are 404", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const bob = await createUser(coord.url, admin, "bob");
  await call(coord.url, "PUT", "/groups/alice/users", { token: alice, body: { relations: { bob: "Read" } } });
  assertEquals((await call(coord.url, "POST", "/tasks", { token: bob, body: noopTask("alice") })).status, 403);
  assertEquals((await call(coord.url, "POST", "/tasks", { token: bob, body: noopTask("nogroup") })).status, 404);
  await call(coord.url, "PUT", "/groups/alice/users", { token: alice, body: { relations: { bob: "Write" } } });
  assertEquals((await call(coord.url, "POST", "/tasks", { token: bob, body: noopTask("alice") })).status, 200);
  const [n] = await coord.sql`SELECT count(*)::int AS n FROM active_tasks`;
  assertEquals(n.n, 1);
});

test("resources with '..' or absolute local paths are 400", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  for (const local_path of ["../x", "/etc/passwd", "a/../../b", ""]) {
    const res = await call(coord.url, "POST", "/tasks", {
      token: alice,
      body: noopTask("alice", {
        task_spec: { args: ["true"], resources: [{ remote_file: { Attachment: { key: "k" } }, local_path }] },
      }),
    });
    assertEquals(res.status, 400, `${local_path}: ${res.text}`);
  }
  const ok = await call(coord.url, "POST", "/tasks", {
    token: alice,
    body: noopTask("alice", {
      task_spec: { args: ["true"], resources: [{ remote_file: { Attachment: { key: "k" } }, local_path: "in/k" }] },
    }),
  });
  assertEquals(ok.status, 200);
});

test("batch submission answers Ok or Err per item and inserts the valid ones", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const res = await call(coord.url, "POST", "/tasks/submit", {
    token: alice,
    body: {
      tasks: [
        noopTask("alice"),
        { group_name: "alice" },
        noopTask("nogroup"),
        noopTask("alice", { timeout: "soon" }),
        noopTask("alice", { priority: 5 }),
      ],
    },
  });
  assertEquals(res.status, 200, res.text);
  const results = (res.body as { results: Record<string, { task_id?: number; msg?: string }>[] }).results;
  assertEquals(results.map((r) => Object.keys(r)[0]), ["Ok", "Err", "Err", "Err", "Ok"]);
  assertEquals([results[0].Ok.task_id, results[4].Ok.task_id], [1, 2]);
  assertTrue(results[2].Err.msg!.includes("nogroup"));
  const [n] = await coord.sql`SELECT count(*)::int AS n FROM active_tasks`;
  assertEquals(n.n, 2);
  assertEquals((await call(coord.url, "POST", "/tasks/submit", { token: alice, body: { tasks: [] } })).status, 400);
});

test("queries filter by tags, labels, states, priority and exit_status, and count", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const submit = (extra: Record<string, unknown>) =>
    call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice", extra) });
  await submit({ tags: ["gpu", "a100"], labels: ["exp1"], priority: 1 });
  await submit({ tags: ["gpu"], labels: ["exp1", "x"], priority: 5 });
  await submit({ tags: [], labels: ["exp2"], priority: 10 });
  const query = async (body: Record<string, unknown>) => {
    const res = await call(coord.url, "POST", "/tasks/query", { token: alice, body });
    assertEquals(res.status, 200, res.text);
    return res.body as { count: number; tasks: { priority: number }[]; group_name: string };
  };
  assertEquals((await query({ tags: ["gpu"] })).count, 2);
  assertEquals((await query({ tags: ["gpu", "a100"] })).count, 1);
  assertEquals((await query({ labels: ["exp1"] })).count, 2);
  assertEquals((await query({ priority: ">= 5" })).tasks.map((t) => t.priority), [5, 10]);
  assertEquals((await query({ priority: "!=5" })).count, 2);
  assertEquals((await query({ priority: "1" })).count, 1);
  assertEquals(await query({ states: ["Ready"], count: true }), { count: 3, tasks: [], group_name: "alice" });
  assertEquals((await query({ creator_usernames: ["alice"], limit: 1, offset: 1 })).tasks.map((t) => t.priority), [5]);
  // exit_status after a worker commits one with exit 3 (raw status 768).
  const worker = await registerWorker(coord.url, alice, { tags: ["gpu", "a100"] });
  const task = await worker.fetch();
  await worker.complete(task!, 768);
  assertEquals((await query({ exit_status: "= 768" })).count, 1);
  assertEquals((await query({ states: ["Finished"] })).count, 1);
  for (const bad of [{ tags: [] }, { states: [] }, { priority: "~5" }, { states: ["Sleeping"] }, { limit: -1 }]) {
    const res = await call(coord.url, "POST", "/tasks/query", { token: alice, body: bad });
    assertEquals(res.status, 400, JSON.stringify(bad));
  }
});

test("cancel: Ready tasks only (Running is 404); Read members cannot cancel or change", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const carol = await createUser(coord.url, admin, "carol");
  await call(coord.url, "PUT", "/groups/alice/users", { token: alice, body: { relations: { carol: "Read" } } });
  const submit = async () =>
    ((await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice") })).body as { uuid: string })
      .uuid;
  const a = await submit();
  const b = await submit();
  const running = await submit();
  // Highest priority first: the worker claims `running`.
  await call(coord.url, "PUT", `/tasks/${running}`, { token: alice, body: { priority: 100 } });
  const worker = await registerWorker(coord.url, alice);
  assertEquals((await worker.fetch())!.uuid, running);

  assertEquals((await call(coord.url, "DELETE", `/tasks/${a}`, { token: carol })).status, 403);
  assertEquals((await call(coord.url, "PUT", `/tasks/${a}`, { token: carol, body: { priority: 3 } })).status, 403);
  assertEquals((await call(coord.url, "GET", `/tasks/${a}`, { token: carol })).status, 200);
  assertEquals((await call(coord.url, "DELETE", `/tasks/${running}`, { token: alice })).status, 404);
  assertEquals(
    (await call(coord.url, "PUT", `/tasks/${running}`, { token: alice, body: { priority: 1 } })).status,
    404,
  );
  assertEquals((await call(coord.url, "DELETE", `/tasks/${a}`, { token: alice })).status, 200);
  assertEquals((await call(coord.url, "POST", `/tasks/${b}/cancel`, { token: alice })).status, 200);
  const archived = await coord.sql`SELECT uuid, state, result FROM archived_tasks ORDER BY id`;
  assertEquals(archived.map((r) => ({ ...r })), [
    { uuid: a, state: 4, result: { exit_status: 0, msg: "UserCancellation" } },
    { uuid: b, state: 4, result: { exit_status: 0, msg: "UserCancellation" } },
  ]);
  const [live] = await coord.sql`SELECT state FROM active_tasks WHERE uuid = ${running}`;
  assertEquals(live.state, 2);
  assertEquals((await call(coord.url, "DELETE", `/tasks/${crypto.randomUUID()}`, { token: alice })).status, 404);
  assertEquals((await call(coord.url, "DELETE", `/tasks/not-a-uuid`, { token: alice })).status, 400);
});

test("change, labels, cancel by filter and by list", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const ids: string[] = [];
  for (const labels of [["keep"], ["drop"], ["drop"]]) {
    const res = await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice", { labels }) });
    ids.push((res.body as { uuid: string }).uuid);
  }
  const change = await call(coord.url, "PUT", `/tasks/${ids[0]}`, {
    token: alice,
    body: { tags: ["cpu"], timeout: "1h", task_spec: { args: ["echo", "hi"], envs: { A: "1" } } },
  });
  assertEquals(change.status, 200, change.text);
  assertEquals((await call(coord.url, "PUT", `/tasks/${ids[0]}`, { token: alice, body: {} })).status, 400);
  const [row] = await coord.sql`SELECT tags, timeout, spec FROM active_tasks WHERE uuid = ${ids[0]}`;
  assertEquals({ ...row }, {
    tags: ["cpu"],
    timeout: 3600,
    spec: { args: ["echo", "hi"], envs: { A: "1" }, resources: [], terminal_output: false, watch: null },
  });
  const byFilter = await call(coord.url, "POST", "/tasks/cancel", { token: alice, body: { labels: ["drop"] } });
  assertEquals(byFilter.body, { cancelled_count: 2, group_name: "alice" });
  const missing = crypto.randomUUID();
  const byList = await call(coord.url, "POST", "/tasks/cancel/list", {
    token: alice,
    body: { uuids: [ids[0], ids[1], missing] },
  });
  assertEquals(byList.body, { cancelled_count: 1, failed_uuids: [ids[1], missing] });
  const labels = await call(coord.url, "PUT", `/tasks/${ids[1]}/labels`, { token: alice, body: { labels: ["z"] } });
  assertEquals(labels.status, 200);
  const [archived] = await coord.sql`SELECT labels FROM archived_tasks WHERE uuid = ${ids[1]}`;
  assertEquals(archived.labels, ["z"]);
});

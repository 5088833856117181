import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask } from "./support/workers_api.ts";
import { registerManager } from "./support/managers_api.ts";
import { drainFetch, startScriptedManager } from "./support/ws_manager.ts";
import { autoCloseSuitesOnce } from "../coordinator/maintenance/suite_auto_close.ts";
import { createLogger } from "../shared/log/logger.ts";
import type { SuiteInfo } from "../shared/wire/suites.ts";
import type { CoordinatorPush } from "../shared/wire/manager_ws.ts";

const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,3} \+00:00:00$/;

async function setup(overrides: Parameters<typeof startTestCoordinator>[0] = {}) {
  const coord = await startTestCoordinator(overrides);
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  return { coord, admin, alice };
}

/** A valid creation body for alice's group with `extra` merged in. */
function suiteBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { group_name: "alice", worker_schedule: { worker_count: 2 }, ...extra };
}

/** Creates a suite as `token`; returns its uuid. */
async function createSuite(coord: TestCoordinator, token: string, extra: Record<string, unknown> = {}) {
  const res = await call(coord.url, "POST", "/suites", { token, body: suiteBody(extra) });
  assertEquals(res.status, 201, res.text);
  return (res.body as { uuid: string }).uuid;
}

async function getSuite(coord: TestCoordinator, token: string, uuid: string): Promise<SuiteInfo> {
  const res = await call(coord.url, "GET", `/suites/${uuid}`, { token });
  assertEquals(res.status, 200, res.text);
  return res.body as SuiteInfo;
}

/** Submits `n` no-op tasks into a suite in one batch; returns their uuids. */
async function submitToSuite(coord: TestCoordinator, token: string, suite: string, n = 1, extra = {}) {
  const res = await call(coord.url, "POST", "/tasks/submit", {
    token,
    body: { tasks: Array.from({ length: n }, () => noopTask("alice", { suite_uuid: suite, ...extra })) },
  });
  assertEquals(res.status, 200, res.text);
  const results = (res.body as { results: { Ok?: { uuid: string }; Err?: { msg: string } }[] }).results;
  return results.map((r) => {
    if (!r.Ok) throw new Error(`submission refused: ${r.Err?.msg}`);
    return r.Ok.uuid;
  });
}

/** The suite's counters next to the task rows that back them. */
async function countersAndRows(coord: TestCoordinator, uuid: string) {
  const [row] = await coord.sql<{ total: number; pending: number; active: number; archived: number; state: number }[]>`
    SELECT s.total_tasks AS total, s.pending_tasks AS pending, s.state,
      (SELECT count(*)::int FROM active_tasks t WHERE t.task_suite_id = s.id) AS active,
      (SELECT count(*)::int FROM archived_tasks t WHERE t.task_suite_id = s.id) AS archived
    FROM task_suites s WHERE s.uuid = ${uuid}`;
  return row;
}

/** Captures pushes published for managers that are connected nowhere (the push bus NOTIFY channel). */
async function capturePushes(coord: TestCoordinator) {
  const pushes: { manager_id: number; push: CoordinatorPush }[] = [];
  const listener = await coord.sql.listen("mitosis_manager_push", (payload) => pushes.push(JSON.parse(payload)));
  return { pushes, unlisten: () => listener.unlisten() };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test("creating a suite answers 201 {uuid}; it starts Open with no tasks and default prefetch 16", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const uuid = await createSuite(coord, alice, { name: "train", tags: ["gpu", "gpu"], labels: ["exp"] });
  const suite = await getSuite(coord, alice, uuid);
  assertEquals(suite.uuid, uuid);
  assertEquals(
    {
      name: suite.name,
      description: suite.description,
      group_name: suite.group_name,
      creator_username: suite.creator_username,
      tags: suite.tags,
      labels: suite.labels,
      priority: suite.priority,
      state: suite.state,
      state_name: suite.state_name,
      total_tasks: suite.total_tasks,
      pending_tasks: suite.pending_tasks,
      worker_schedule: suite.worker_schedule,
      env_preparation: suite.env_preparation,
      env_cleanup: suite.env_cleanup,
      completed_at: suite.completed_at,
      last_task_submitted_at: suite.last_task_submitted_at,
      assigned_managers: suite.assigned_managers,
    },
    {
      name: "train",
      description: null,
      group_name: "alice",
      creator_username: "alice",
      tags: ["gpu"],
      labels: ["exp"],
      priority: 0,
      state: 0,
      state_name: "Open",
      total_tasks: 0,
      pending_tasks: 0,
      worker_schedule: { worker_count: 2, task_prefetch_count: 16 },
      env_preparation: null,
      env_cleanup: null,
      completed_at: null,
      last_task_submitted_at: null,
      assigned_managers: [],
    },
  );
  assertTrue(TIMESTAMP.test(suite.created_at), suite.created_at);
  assertTrue(TIMESTAMP.test(suite.updated_at), suite.updated_at);

  const full = await createSuite(coord, alice, {
    description: "all fields",
    priority: 7,
    worker_schedule: {
      worker_count: 4,
      task_prefetch_count: 3,
      cpu_binding: { cores: [0, 1, 2, 3], strategy: "Exclusive" },
      gpu_binding: { gpus: ["0", "1"], per_worker: 2 },
    },
    env_preparation: { args: ["sh", "-c", "echo prep"], envs: { A: "1" }, timeout: "2m" },
    env_cleanup: { args: ["true"] },
  });
  const info = await getSuite(coord, alice, full);
  assertEquals(info.priority, 7);
  assertEquals(info.worker_schedule.cpu_binding, { cores: [0, 1, 2, 3], strategy: "Exclusive" });
  assertEquals(info.worker_schedule.gpu_binding, { gpus: ["0", "1"], per_worker: 2 });
  assertEquals(info.env_preparation, {
    args: ["sh", "-c", "echo prep"],
    envs: { A: "1" },
    resources: [],
    timeout: "2m",
  });
  assertEquals(info.env_cleanup, { args: ["true"], envs: {}, resources: [], timeout: "10m" });
});

test("bad suite creations are 400 with a msg; unknown groups 404", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const ws = (extra: Record<string, unknown>) => suiteBody({ worker_schedule: { worker_count: 1, ...extra } });
  const cases: [string, unknown][] = [
    ["worker_count 0", ws({ worker_count: 0 })],
    ["worker_count 257", ws({ worker_count: 257 })],
    ["worker_count 1.5", ws({ worker_count: 1.5 })],
    ["task_prefetch_count 0", ws({ task_prefetch_count: 0 })],
    ["no worker_schedule", { group_name: "alice" }],
    ["no group", { worker_schedule: { worker_count: 1 } }],
    ["bad group name", suiteBody({ group_name: "a b" })],
    ["bad strategy", ws({ cpu_binding: { cores: [0], strategy: "Greedy" } })],
    ["no cores", ws({ cpu_binding: { cores: [], strategy: "Shared" } })],
    ["negative core", ws({ cpu_binding: { cores: [-1], strategy: "Shared" } })],
    ["no gpus", ws({ gpu_binding: { gpus: [], per_worker: 1 } })],
    ["per_worker 0", ws({ gpu_binding: { gpus: ["0"], per_worker: 0 } })],
    ["hook without args", suiteBody({ env_preparation: { args: [] } })],
    ["hook args not strings", suiteBody({ env_preparation: { args: [1] } })],
    ["hook bad timeout", suiteBody({ env_cleanup: { args: ["true"], timeout: "soon" } })],
    ["hook bad resource", suiteBody({ env_preparation: { args: ["true"], resources: [{ local_path: "x" }] } })],
    [
      "hook resource escapes",
      suiteBody({
        env_preparation: {
          args: ["true"],
          resources: [{ remote_file: { Attachment: { key: "k" } }, local_path: "../x" }],
        },
      }),
    ],
    ["tags not a list", suiteBody({ tags: "gpu" })],
    ["empty tag", suiteBody({ tags: [""] })],
    ["priority not a number", suiteBody({ priority: "high" })],
    ["name not a string", suiteBody({ name: 5 })],
    ["body an array", [suiteBody()]],
    ["malformed JSON", "{not json"],
    ["empty body", ""],
  ];
  for (const [what, body] of cases) {
    const res = await call(coord.url, "POST", "/suites", { token: alice, body });
    assertEquals(res.status, 400, `${what}: ${res.text}`);
    const msg = (res.body as { msg?: unknown }).msg;
    assertTrue(typeof msg === "string" && msg.length > 0, `${what}: ${res.text}`);
  }
  const worker = await call(coord.url, "POST", "/suites", { token: alice, body: ws({ worker_count: 0 }) });
  assertIncludes((worker.body as { msg: string }).msg, "worker_schedule.worker_count");
  assertEquals(
    (await call(coord.url, "POST", "/suites", { token: alice, body: suiteBody({ group_name: "nope" }) })).status,
    404,
  );
  assertEquals((await call(coord.url, "POST", "/suites", { body: suiteBody() })).status, 401);
  const [n] = await coord.sql`SELECT count(*)::int AS n FROM task_suites`;
  assertEquals(n.n, 0);
});

test("creating needs Write on the group; reading needs Read; changing needs Write", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const bob = await createUser(coord.url, admin, "bob");
  const carol = await createUser(coord.url, admin, "carol");
  await call(coord.url, "PUT", "/groups/alice/users", { token: alice, body: { relations: { bob: "Read" } } });
  const denied = await call(coord.url, "POST", "/suites", { token: bob, body: suiteBody() });
  assertEquals(denied.status, 403, denied.text);
  assertIncludes((denied.body as { msg: string }).msg, "Write");
  const uuid = await createSuite(coord, alice);
  assertEquals((await call(coord.url, "GET", `/suites/${uuid}`, { token: bob })).status, 200);
  assertEquals((await call(coord.url, "GET", `/suites/${uuid}`, { token: carol })).status, 403);
  assertEquals((await call(coord.url, "GET", "/suites?group_name=alice", { token: carol })).status, 403);
  for (const [method, path] of [["POST", "cancel"], ["POST", "close"], ["POST", "managers/refresh"]]) {
    assertEquals((await call(coord.url, method, `/suites/${uuid}/${path}`, { token: bob })).status, 403, path);
  }
  assertEquals((await call(coord.url, "DELETE", `/suites/${uuid}`, { token: bob })).status, 403);
  assertEquals(
    (await call(coord.url, "POST", `/suites/${uuid}/managers`, {
      token: bob,
      body: { manager_uuids: [crypto.randomUUID()] },
    })).status,
    403,
  );
  // Admin users act as Admin of every group.
  assertEquals((await call(coord.url, "POST", "/suites", { token: admin, body: suiteBody() })).status, 201);
  await call(coord.url, "PUT", "/groups/alice/users", { token: alice, body: { relations: { bob: "Write" } } });
  assertEquals((await call(coord.url, "POST", "/suites", { token: bob, body: suiteBody() })).status, 201);
  assertEquals((await call(coord.url, "POST", `/suites/${uuid}/close`, { token: bob })).status, 200);
  // Unknown and malformed suite uuids.
  assertEquals((await call(coord.url, "GET", `/suites/${crypto.randomUUID()}`, { token: alice })).status, 404);
  assertEquals((await call(coord.url, "GET", "/suites/not-a-uuid", { token: alice })).status, 400);
  assertEquals((await call(coord.url, "POST", `/suites/${crypto.randomUUID()}/cancel`, { token: alice })).status, 404);
});

test("list and query filter by group, state and tags, with paging and count", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const a = await createSuite(coord, alice, { tags: ["gpu", "a100"] });
  const b = await createSuite(coord, alice, { tags: ["gpu"] });
  const c = await createSuite(coord, alice, { tags: [] });
  await createUser(coord.url, admin, "bob");
  const bobs = await createSuite(coord, admin, { group_name: "bob" });
  assertEquals((await call(coord.url, "POST", `/suites/${b}/close`, { token: alice })).status, 200);
  const uuids = async (method: string, path: string, body?: unknown) => {
    const res = await call(coord.url, method, path, { token: alice, body });
    assertEquals(res.status, 200, `${path}: ${res.text}`);
    const resp = res.body as { count: number; suites: SuiteInfo[] };
    assertEquals(resp.count, resp.suites.length);
    return resp.suites.map((s) => s.uuid);
  };
  assertEquals(await uuids("GET", "/suites"), [a, b, c]); // default: the caller's own group
  assertEquals(await uuids("GET", "/suites?group_name=alice&tags=gpu"), [a, b]);
  assertEquals(await uuids("GET", "/suites?tags=gpu,a100"), [a]);
  assertEquals(await uuids("GET", "/suites?tags=gpu&tags=a100"), [a]);
  assertEquals(await uuids("GET", "/suites?state=Closed"), [b]);
  assertEquals(await uuids("GET", "/suites?state=open"), [a, c]);
  assertEquals(await uuids("GET", "/suites?state=1"), [b]);
  assertEquals(await uuids("GET", "/suites?limit=1&offset=1"), [b]);
  assertEquals(await uuids("POST", "/suites/query", {}), [a, b, c]);
  assertEquals(await uuids("POST", "/suites/query", { tags: ["gpu"], state: "Open" }), [a]);
  assertEquals(await uuids("POST", "/suites/query", { state: 1 }), [b]);
  assertEquals(await uuids("POST", "/suites/query", { limit: 2 }), [a, b]);
  const counted = await call(coord.url, "POST", "/suites/query", {
    token: alice,
    body: { count: true, tags: ["gpu"] },
  });
  assertEquals(counted.body, { count: 2, suites: [] });
  assertEquals((await call(coord.url, "GET", "/suites?count=true", { token: alice })).body, { count: 3, suites: [] });
  const asAdmin = await call(coord.url, "GET", "/suites?group_name=bob", { token: admin });
  assertEquals((asAdmin.body as { suites: SuiteInfo[] }).suites.map((s) => s.uuid), [bobs]);
  for (
    const path of [
      "/suites?state=Running",
      "/suites?state=9",
      "/suites?limit=x",
      "/suites?limit=-1",
      "/suites?group_name=a%20b",
    ]
  ) {
    const res = await call(coord.url, "GET", path, { token: alice });
    assertEquals(res.status, 400, `${path}: ${res.text}`);
    assertTrue(typeof (res.body as { msg?: unknown }).msg === "string");
  }
  for (const body of [{ state: "Nope" }, { tags: [] }, { limit: "1" }, { count: "yes" }, "{", ""]) {
    const res = await call(coord.url, "POST", "/suites/query", { token: alice, body });
    assertEquals(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
  }
  assertEquals((await call(coord.url, "GET", "/suites?group_name=nobody", { token: alice })).status, 404);
});

test("tasks join a suite with suite_uuid: counters move, tasks take the suite's group and tags", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const uuid = await createSuite(coord, alice, { tags: ["gpu"] });
  const one = await call(coord.url, "POST", "/tasks", {
    token: alice,
    body: noopTask("alice", { suite_uuid: uuid, tags: ["cpu"] }),
  });
  assertEquals(one.status, 200, one.text);
  await submitToSuite(coord, alice, uuid, 4);
  const suite = await getSuite(coord, alice, uuid);
  assertEquals([suite.total_tasks, suite.pending_tasks, suite.state_name], [5, 5, "Open"]);
  assertTrue(suite.last_task_submitted_at !== null && TIMESTAMP.test(suite.last_task_submitted_at));
  const tags = await coord.sql`
    SELECT DISTINCT t.tags, g.group_name FROM active_tasks t JOIN groups g ON g.id = t.group_id
    WHERE t.task_suite_id = (SELECT id FROM task_suites WHERE uuid = ${uuid})`;
  assertEquals(tags.map((r) => ({ ...r })), [{ tags: ["gpu"], group_name: "alice" }]);
  // Another group's task cannot join it; unknown suites are 404.
  await createUser(coord.url, admin, "bob");
  const other = await call(coord.url, "POST", "/tasks", {
    token: admin,
    body: noopTask("bob", { suite_uuid: uuid }),
  });
  assertEquals(other.status, 400, other.text);
  const unknown = await call(coord.url, "POST", "/tasks", {
    token: alice,
    body: noopTask("alice", { suite_uuid: crypto.randomUUID() }),
  });
  assertEquals(unknown.status, 404);
  assertEquals(await countersAndRows(coord, uuid), { total: 5, pending: 5, active: 5, archived: 0, state: 0 });
});

test("state machine: Open → Complete when the last task is archived, reopened by a new task, closed by hand", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const uuid = await createSuite(coord, alice);
  const tasks = await submitToSuite(coord, alice, uuid, 3);
  for (const task of tasks.slice(0, 2)) {
    assertEquals((await call(coord.url, "DELETE", `/tasks/${task}`, { token: alice })).status, 200);
  }
  assertEquals((await getSuite(coord, alice, uuid)).state_name, "Open");
  assertEquals((await call(coord.url, "POST", `/tasks/${tasks[2]}/cancel`, { token: alice })).status, 200);
  const complete = await getSuite(coord, alice, uuid);
  assertEquals([complete.state, complete.state_name, complete.total_tasks, complete.pending_tasks], [
    2,
    "Complete",
    3,
    0,
  ]);
  assertTrue(complete.completed_at !== null && TIMESTAMP.test(complete.completed_at));
  // Closing needs an Open suite.
  const closeComplete = await call(coord.url, "POST", `/suites/${uuid}/close`, { token: alice });
  assertEquals(closeComplete.status, 400);
  assertIncludes((closeComplete.body as { msg: string }).msg, "Complete");

  // Complete → Open on a new task; completed_at cleared.
  const [late] = await submitToSuite(coord, alice, uuid, 1);
  const reopened = await getSuite(coord, alice, uuid);
  assertEquals([reopened.state_name, reopened.completed_at, reopened.total_tasks, reopened.pending_tasks], [
    "Open",
    null,
    4,
    1,
  ]);
  // Closed by hand; Closed → Complete when its last task is archived.
  const closed = await call(coord.url, "POST", `/suites/${uuid}/close`, { token: alice });
  assertEquals(closed.status, 200, closed.text);
  assertEquals((closed.body as SuiteInfo).state_name, "Closed");
  assertEquals((await call(coord.url, "POST", `/suites/${uuid}/close`, { token: alice })).status, 400);
  await call(coord.url, "DELETE", `/tasks/${late}`, { token: alice });
  assertEquals((await getSuite(coord, alice, uuid)).state_name, "Complete");
  // Closed → Open on a new task too.
  await submitToSuite(coord, alice, uuid, 1);
  await call(coord.url, "POST", `/suites/${uuid}/close`, { token: alice });
  assertEquals((await getSuite(coord, alice, uuid)).state_name, "Closed");
  await submitToSuite(coord, alice, uuid, 1);
  assertEquals((await getSuite(coord, alice, uuid)).state_name, "Open");
  assertEquals(await countersAndRows(coord, uuid), { total: 6, pending: 2, active: 2, archived: 4, state: 0 });
});

test("auto-close: an Open suite without new tasks for suite_auto_close is Closed, and a new task reopens it", async () => {
  const { coord, alice } = await setup({ suite_auto_close: 500 });
  await using _ = coord;
  const idle = await createSuite(coord, alice);
  const busy = await createSuite(coord, alice);
  await submitToSuite(coord, alice, idle, 1);
  // The running coordinator's service closes `idle` on its own.
  const started = Date.now();
  await waitFor("auto-close", async () => (await getSuite(coord, alice, idle)).state_name === "Closed", 10_000);
  assertTrue(Date.now() - started >= 300, "not closed before the idle time");
  // A suite that keeps receiving tasks stays Open.
  for (let i = 0; i < 4; i++) {
    await submitToSuite(coord, alice, busy, 1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assertEquals((await getSuite(coord, alice, busy)).state_name, "Open");
  }
  await submitToSuite(coord, alice, idle, 1);
  const reopened = await getSuite(coord, alice, idle);
  assertEquals([reopened.state_name, reopened.total_tasks, reopened.pending_tasks], ["Open", 2, 2]);
});

test("an auto-close pass closes every due suite, batch after batch, and leaves the others alone", async () => {
  // Default suite_auto_close (3m): the coordinator's own pass does not run during the test.
  const { coord, alice } = await setup();
  await using _ = coord;
  const log = createLogger("test", "off");
  const idle = [await createSuite(coord, alice), await createSuite(coord, alice)];
  await submitToSuite(coord, alice, idle[0], 1);
  // One idle since its last task, one (never given a task) since its creation.
  await coord.sql`
    UPDATE task_suites SET created_at = now() - interval '2 hours',
      last_task_submitted_at = last_task_submitted_at - interval '1 hour'`;
  const fresh = await createSuite(coord, alice);
  assertEquals(await autoCloseSuitesOnce(coord.sql, { idleMs: 60_000, batchSize: 1 }, log), 2);
  assertEquals((await getSuite(coord, alice, fresh)).state_name, "Open");
  assertEquals(await autoCloseSuitesOnce(coord.sql, { idleMs: 60_000, batchSize: 1 }, log), 0);
  for (const uuid of idle) assertEquals((await getSuite(coord, alice, uuid)).state_name, "Closed");
});

test("concurrent submitters and task cancellers leave the counters equal to the task rows", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const uuid = await createSuite(coord, alice);
  const submitted: string[] = [];
  let submitting = true;
  const submitter = async () => {
    for (let i = 0; i < 8; i++) submitted.push(...await submitToSuite(coord, alice, uuid, 10));
  };
  const canceller = async () => {
    while (submitting) {
      const ready = await coord.sql<{ uuid: string }[]>`
        SELECT t.uuid FROM active_tasks t JOIN task_suites s ON s.id = t.task_suite_id
        WHERE s.uuid = ${uuid} AND t.state = 1 ORDER BY random() LIMIT 5`;
      await Promise.all(ready.map(async ({ uuid: task }) => {
        const res = await call(coord.url, "DELETE", `/tasks/${task}`, { token: alice });
        // Another canceller may have been first (404); anything else is a failure.
        assertTrue(res.status === 200 || res.status === 404, res.text);
      }));
      if (ready.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const batch = await call(coord.url, "POST", "/tasks/cancel/list", {
        token: alice,
        body: { uuids: ready.map((r) => r.uuid) },
      });
      assertEquals(batch.status, 200, batch.text);
    }
  };
  const submitters = Promise.all([submitter(), submitter(), submitter(), submitter()]).finally(() => {
    submitting = false;
  });
  await Promise.all([submitters, canceller(), canceller(), canceller()]);
  assertEquals(submitted.length, 320);
  const mid = await countersAndRows(coord, uuid);
  assertEquals(mid.total, 320);
  assertEquals(mid.total, mid.active + mid.archived);
  assertEquals(mid.pending, mid.active);

  // Cancelling the suite while task cancellers run: no deadlock, counters still exact, state Cancelled.
  const outcomes = await Promise.all([
    call(coord.url, "POST", `/suites/${uuid}/cancel`, { token: alice, body: {} }),
    call(coord.url, "POST", "/tasks/cancel", { token: alice, body: { group_name: "alice" } }),
    call(coord.url, "POST", `/suites/${uuid}/cancel`, { token: alice, body: {} }),
  ]);
  for (const res of outcomes) assertEquals(res.status, 200, res.text);
  const end = await countersAndRows(coord, uuid);
  assertEquals(end, { total: 320, pending: 0, active: 0, archived: 320, state: 3 });
});

test("cancel: waiting tasks archived as UserCancellation, Cancelled stays Cancelled, pushes to the managers", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const manager = await registerManager(coord.url, alice, { groups: ["alice"], tags: [] });
  const uuid = await createSuite(coord, alice);
  const tasks = await submitToSuite(coord, alice, uuid, 4);
  // Play the manager: it works on the suite and holds two tasks (one running, one prefetched).
  const [{ id: managerId }] = await coord.sql<{ id: number }[]>`
    UPDATE node_managers SET assigned_task_suite_id = (SELECT id FROM task_suites WHERE uuid = ${uuid}), state = 2
    WHERE uuid = ${manager.uuid} RETURNING id`;
  await coord.sql`
    UPDATE active_tasks SET state = 2, assigned_manager = ${managerId} WHERE uuid = ANY(${tasks.slice(0, 2)}::uuid[])`;
  // A downstream-style Pending task is cancelled as well.
  await coord.sql`UPDATE active_tasks SET state = 0 WHERE uuid = ${tasks[2]}`;
  const { pushes, unlisten } = await capturePushes(coord);
  try {
    const res = await call(coord.url, "POST", `/suites/${uuid}/cancel`, {
      token: alice,
      body: { reason: "wrong data", cancel_running_tasks: true },
    });
    assertEquals(res.status, 200, res.text);
    assertEquals(res.body, { cancelled_tasks: 2, running_tasks: 2 });
    await waitFor("3 pushes", () => pushes.length >= 3);
    const received = pushes.map((p) => ({ ...p }));
    assertEquals(received.filter((p) => p.manager_id !== managerId), []);
    assertEquals(received.map((p) => p.push).filter((p) => p.type === "CancelSuite"), [
      { type: "CancelSuite", suite_uuid: uuid, reason: "wrong data", cancel_running_tasks: true },
    ]);
    assertEquals(
      received.map((p) => p.push).filter((p) => p.type === "CancelTask").map((p) =>
        p.type === "CancelTask" && p.task_uuid
      )
        .sort(),
      tasks.slice(0, 2).sort(),
    );
  } finally {
    await unlisten();
  }
  const archived = await coord.sql`SELECT uuid, state, result FROM archived_tasks ORDER BY uuid`;
  assertEquals(
    archived.map((r) => ({ ...r })),
    tasks.slice(2).sort().map((task) => ({
      uuid: task,
      state: 4,
      result: { exit_status: 0, msg: "UserCancellation" },
    })),
  );
  const cancelled = await getSuite(coord, alice, uuid);
  assertEquals([cancelled.state, cancelled.state_name, cancelled.total_tasks, cancelled.pending_tasks], [
    3,
    "Cancelled",
    4,
    2,
  ]);
  assertTrue(cancelled.completed_at !== null);
  assertEquals(cancelled.assigned_managers.map((m) => [m.manager_uuid, m.working]), [[manager.uuid, true]]);

  // The running tasks finish later: pending reaches 0 but the suite stays Cancelled.
  await coord.sql`DELETE FROM active_tasks WHERE uuid = ANY(${tasks.slice(0, 2)}::uuid[])`;
  assertEquals((await getSuite(coord, alice, uuid)).state_name, "Cancelled");
  // Cancelled is terminal: no new tasks, no close, no managers; cancelling again is an idempotent 200.
  const refused = await call(coord.url, "POST", "/tasks", {
    token: alice,
    body: noopTask("alice", { suite_uuid: uuid }),
  });
  assertEquals(refused.status, 400);
  assertIncludes((refused.body as { msg: string }).msg, "Cancelled");
  assertEquals((await call(coord.url, "POST", `/suites/${uuid}/close`, { token: alice })).status, 400);
  assertEquals((await call(coord.url, "POST", `/suites/${uuid}/managers/refresh`, { token: alice })).status, 400);
  const again = await call(coord.url, "DELETE", `/suites/${uuid}`, { token: alice });
  assertEquals(again.status, 200, again.text);
  assertEquals(again.body, { cancelled_tasks: 0, running_tasks: 0 });
  assertEquals(await countersAndRows(coord, uuid), { total: 4, pending: 0, active: 0, archived: 2, state: 3 });
});

test("cancel without cancel_running_tasks: CancelSuite only; DELETE without a body; bad bodies are 400", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const manager = await registerManager(coord.url, alice, { groups: ["alice"] });
  const uuid = await createSuite(coord, alice);
  const [running, waiting] = await submitToSuite(coord, alice, uuid, 2);
  const [{ id: managerId }] = await coord.sql<{ id: number }[]>`
    UPDATE node_managers SET assigned_task_suite_id = (SELECT id FROM task_suites WHERE uuid = ${uuid})
    WHERE uuid = ${manager.uuid} RETURNING id`;
  await coord.sql`UPDATE active_tasks SET state = 2, assigned_manager = ${managerId} WHERE uuid = ${running}`;
  for (const body of ["{", { cancel_running_tasks: "yes" }, { reason: 5 }, []]) {
    const res = await call(coord.url, "POST", `/suites/${uuid}/cancel`, { token: alice, body });
    assertEquals(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
  }
  const { pushes, unlisten } = await capturePushes(coord);
  try {
    const res = await call(coord.url, "DELETE", `/suites/${uuid}`, { token: alice });
    assertEquals(res.status, 200, res.text);
    assertEquals(res.body, { cancelled_tasks: 1, running_tasks: 1 });
    await waitFor("CancelSuite", () => pushes.length >= 1);
    // Give a stray CancelTask the time to show up: none may.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assertEquals(pushes.map((p) => p.push), [
      { type: "CancelSuite", suite_uuid: uuid, reason: "cancelled by alice", cancel_running_tasks: false },
    ]);
  } finally {
    await unlisten();
  }
  const [row] = await coord.sql`SELECT state FROM archived_tasks WHERE uuid = ${waiting}`;
  assertEquals(row.state, 4);
  // The manager hands the running task back unstarted: cancelling again sweeps it.
  await coord.sql`UPDATE active_tasks SET state = 1, assigned_manager = NULL WHERE uuid = ${running}`;
  const sweep = await call(coord.url, "POST", `/suites/${uuid}/cancel`, { token: alice });
  assertEquals(sweep.body, { cancelled_tasks: 1, running_tasks: 0 });
  assertEquals(await countersAndRows(coord, uuid), { total: 2, pending: 0, active: 0, archived: 2, state: 3 });
});

test("managers: refresh by tags, add UserSpecified with rejection reasons, remove releases a working manager", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const bob = await createUser(coord.url, admin, "bob");
  const gpuA100 = await registerManager(coord.url, alice, { groups: ["alice"], tags: ["gpu", "a100"] });
  const gpu = await registerManager(coord.url, alice, { groups: ["alice:Admin"], tags: ["gpu"] });
  const readOnly = await registerManager(coord.url, alice, { tags: ["gpu"] });
  // Registration gives the registering user's own group Admin; make it Read.
  await coord.sql`
    UPDATE group_node_manager SET role = 0
    WHERE node_manager_id = (SELECT id FROM node_managers WHERE uuid = ${readOnly.uuid})`;
  const bobs = await registerManager(coord.url, bob, { groups: ["bob"], tags: ["gpu"] });
  // Created with tags [gpu]: matched at creation with the managers alice's group may use.
  const uuid = await createSuite(coord, alice, { tags: ["gpu"] });
  const created = await getSuite(coord, alice, uuid);
  assertEquals(
    created.assigned_managers.map((m) => [m.manager_uuid, m.selection_type, m.matched_tags, m.working]).sort(),
    [[gpuA100.uuid, "TagMatched", ["gpu"], false], [gpu.uuid, "TagMatched", ["gpu"], false]].sort(),
  );
  assertTrue(created.assigned_managers.every((m) => TIMESTAMP.test(m.added_at) && m.prepare_error === null));

  // A manager's tags change behind the suite's back; refresh replaces the TagMatched set.
  await coord.sql`UPDATE node_managers SET tags = '{cpu}' WHERE uuid = ${gpuA100.uuid}`;
  const refreshed = await call(coord.url, "POST", `/suites/${uuid}/managers/refresh`, { token: alice });
  assertEquals(refreshed.status, 200, refreshed.text);
  assertEquals(refreshed.body, { matched: [gpu.uuid] });

  const unknown = crypto.randomUUID();
  const added = await call(coord.url, "POST", `/suites/${uuid}/managers`, {
    token: alice,
    body: { manager_uuids: [gpuA100.uuid, readOnly.uuid, bobs.uuid, unknown, gpu.uuid, gpuA100.uuid] },
  });
  assertEquals(added.status, 200, added.text);
  assertEquals(added.body, {
    added: [gpuA100.uuid, gpu.uuid],
    rejected: [
      { manager_uuid: readOnly.uuid, reason: "group alice has no Write or Admin role on this manager" },
      { manager_uuid: bobs.uuid, reason: "group alice has no Write or Admin role on this manager" },
      { manager_uuid: unknown, reason: "unknown manager" },
    ],
  });
  const withUsers = await getSuite(coord, alice, uuid);
  assertEquals(
    withUsers.assigned_managers.map((m) => [m.manager_uuid, m.selection_type]).sort(),
    [[gpuA100.uuid, "UserSpecified"], [gpu.uuid, "UserSpecified"]].sort(),
  );
  // A refresh keeps UserSpecified links.
  await call(coord.url, "POST", `/suites/${uuid}/managers/refresh`, { token: alice });
  assertEquals((await getSuite(coord, alice, uuid)).assigned_managers.length, 2);

  // Removing a manager that works on the suite releases it and tells it SuiteReclaimed.
  const [{ id: gpuId }] = await coord.sql<{ id: number }[]>`
    UPDATE node_managers SET assigned_task_suite_id = (SELECT id FROM task_suites WHERE uuid = ${uuid}), state = 2
    WHERE uuid = ${gpu.uuid} RETURNING id`;
  assertTrue(
    (await getSuite(coord, alice, uuid)).assigned_managers.some((m) => m.manager_uuid === gpu.uuid && m.working),
  );
  const { pushes, unlisten } = await capturePushes(coord);
  try {
    const removed = await call(coord.url, "DELETE", `/suites/${uuid}/managers`, {
      token: alice,
      body: { manager_uuids: [gpu.uuid, bobs.uuid] },
    });
    assertEquals(removed.status, 200, removed.text);
    assertEquals(removed.body, { removed: [gpu.uuid] });
    await waitFor("SuiteReclaimed", () => pushes.length >= 1);
    assertEquals(pushes.map((p) => ({ ...p })), [{
      manager_id: gpuId,
      push: { type: "SuiteReclaimed", suite_uuid: uuid },
    }]);
  } finally {
    await unlisten();
  }
  const [released] = await coord.sql`SELECT assigned_task_suite_id FROM node_managers WHERE uuid = ${gpu.uuid}`;
  assertEquals(released.assigned_task_suite_id, null);
  assertEquals((await getSuite(coord, alice, uuid)).assigned_managers.map((m) => m.manager_uuid), [gpuA100.uuid]);

  // Bad inputs.
  for (const body of [{}, { manager_uuids: [] }, { manager_uuids: ["nope"] }, { manager_uuids: "x" }, "{"]) {
    for (const method of ["POST", "DELETE"]) {
      const res = await call(coord.url, method, `/suites/${uuid}/managers`, { token: alice, body });
      assertEquals(res.status, 400, `${method} ${JSON.stringify(body)}: ${res.text}`);
    }
  }
  assertEquals(
    (await call(coord.url, "POST", `/suites/${crypto.randomUUID()}/managers/refresh`, { token: alice })).status,
    404,
  );
});

test("with a connected manager: SuiteAssigned carries the suite, commits complete it, cancel pushes CancelSuite and CancelTask", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  await using manager = await startScriptedManager(coord.url, alice, { groups: ["alice"], max_workers: 2 });
  const first = await createSuite(coord, alice, { name: "first" });
  await submitToSuite(coord, alice, first, 3);
  const assigned = await manager.nextPush("SuiteAssigned");
  assertEquals(assigned.suite_uuid, first);
  assertEquals(
    [
      assigned.suite_spec.uuid,
      assigned.suite_spec.name,
      assigned.suite_spec.state_name,
      assigned.suite_spec.total_tasks,
    ],
    [first, "first", "Open", 3],
  );
  // Committing every task completes the suite.
  const tasks = await drainFetch(manager, 2);
  assertEquals(tasks.length, 3);
  for (const task of tasks) await manager.commit(task);
  const complete = await getSuite(coord, alice, first);
  assertEquals([complete.state_name, complete.total_tasks, complete.pending_tasks], ["Complete", 3, 0]);
  assertTrue(complete.completed_at !== null);
  await manager.suiteCompleted(first, 3, 0);

  const second = await createSuite(coord, alice, { name: "second" });
  const secondTasks = await submitToSuite(coord, alice, second, 4);
  await manager.heartbeat("Idle");
  assertEquals((await manager.nextPush("SuiteAssigned")).suite_uuid, second);
  const working = await getSuite(coord, alice, second);
  assertEquals(working.assigned_managers.map((m) => [m.manager_uuid, m.working]), [[manager.uuid, true]]);
  const running = (await manager.fetch(2)).tasks.map((t) => t.uuid);
  assertEquals(running.length, 2);
  const res = await call(coord.url, "POST", `/suites/${second}/cancel`, {
    token: alice,
    body: { reason: "stop", cancel_running_tasks: true },
  });
  assertEquals(res.status, 200, res.text);
  assertEquals(res.body, { cancelled_tasks: 2, running_tasks: 2 });
  assertEquals(await manager.nextPush("CancelSuite"), {
    type: "CancelSuite",
    suite_uuid: second,
    reason: "stop",
    cancel_running_tasks: true,
  });
  const cancelTasks = [await manager.nextPush("CancelTask"), await manager.nextPush("CancelTask")];
  assertEquals(cancelTasks.map((p) => p.task_uuid).sort(), [...running].sort());
  assertTrue(cancelTasks.every((p) => p.reason === "stop"));
  const waiting = secondTasks.filter((t) => !running.includes(t)).sort();
  const archived = await coord.sql`SELECT uuid FROM archived_tasks WHERE uuid = ANY(${waiting}::uuid[]) ORDER BY uuid`;
  assertEquals(archived.map((r) => r.uuid), waiting);
  assertEquals((await getSuite(coord, alice, second)).state_name, "Cancelled");
});

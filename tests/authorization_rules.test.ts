/**
 * The authorization rules that close the security review's findings, each
 * proven on a real coordinator: nobody puts their own runner into a group
 * they do not write; a manager shared by two groups resolves only what the
 * suite's creator may read; a manager's messages about a task or suite count
 * only from its holder or assignee; a locked, deleted or removed user's
 * runners stop; the local blob store is private to the coordinator's user.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";
import { registerManager, WsManager } from "./support/ws_manager.ts";

/** A coordinator with alice (owner of teamA) and carol (an outsider). */
async function setup() {
  const coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const carol = await createUser(coord.url, admin, "carol");
  const created = await call(coord.url, "POST", "/groups", { token: alice, body: { group_name: "teamA" } });
  assertEquals(created.status, 200, created.text);
  return { coord, admin, alice, carol };
}

async function createSuite(url: string, token: string, group: string, tags: string[]): Promise<string> {
  const res = await call(url, "POST", "/suites", {
    token,
    body: { group_name: group, tags, worker_schedule: { worker_count: 1 } },
  });
  assertEquals(res.status, 201, res.text);
  return (res.body as { uuid: string }).uuid;
}

/** Submits a task to `group` and uploads `bytes` as its result artifact; returns its uuid. */
async function taskWithResult(url: string, token: string, group: string, bytes: string): Promise<string> {
  const task = await call(url, "POST", "/tasks", { token, body: noopTask(group) });
  const uuid = (task.body as { uuid: string }).uuid;
  const upload = await call(url, "POST", `/tasks/${uuid}/artifacts`, {
    token,
    body: { content_type: "result", content_length: bytes.length },
  });
  const put = await fetch((upload.body as { url: string }).url, { method: "PUT", body: bytes });
  await put.body?.cancel();
  assertTrue(put.ok, `upload failed: ${put.status}`);
  return uuid;
}

test("an outsider cannot grant a group a role on their own manager, nor register one for it", async () => {
  const { coord, alice, carol } = await setup();
  await using _ = coord;
  const suite = await createSuite(coord.url, alice, "teamA", ["gpu"]);
  const mine = await registerManager(coord.url, carol, { tags: ["gpu"] });
  const grant = await call(coord.url, "PUT", `/managers/${mine.uuid}/groups`, {
    token: carol,
    body: { relations: { teamA: "Write" } },
  });
  assertEquals(grant.status, 403, grant.text);
  const registered = await call(coord.url, "POST", "/managers", {
    token: carol,
    body: { tags: ["gpu"], groups: ["teamA:Write"] },
  });
  assertEquals(registered.status, 403, registered.text);
  const [links] = await coord.sql`
    SELECT count(*)::int AS n FROM task_suite_managers l JOIN task_suites s ON s.id = l.task_suite_id
    WHERE s.uuid = ${suite}`;
  assertEquals(links.n, 0, "carol's manager is not linked to alice's suite");
  const [roles] = await coord.sql`
    SELECT count(*)::int AS n FROM group_node_manager gm JOIN groups g ON g.id = gm.group_id WHERE g.group_name = 'teamA'`;
  assertEquals(roles.n, 0);
});

test("a manager shared by two groups resolves for a suite only what the suite's creator may read", async () => {
  const { coord, admin, alice, carol } = await setup();
  await using _ = coord;
  // Bob is a Write member of both teamA and carol's group, and registers one manager for both.
  const bob = await createUser(coord.url, admin, "bob");
  await call(coord.url, "PUT", "/groups/teamA/users", { token: alice, body: { relations: { bob: "Write" } } });
  await call(coord.url, "PUT", "/groups/carol/users", { token: carol, body: { relations: { bob: "Write" } } });
  // Carol's group holds a task with an artifact that alice cannot read.
  const secretUuid = await taskWithResult(coord.url, carol, "carol", "secret");
  assertEquals((await call(coord.url, "GET", `/tasks/${secretUuid}`, { token: alice })).status, 403);
  // Bob's manager serves both groups; alice's suite runs on it.
  const shared = await registerManager(coord.url, bob, { tags: ["gpu"], groups: ["teamA:Write", "carol:Write"] });
  const suite = await createSuite(coord.url, alice, "teamA", ["gpu"]);
  const ask = (remote: unknown) =>
    call(coord.url, "POST", "/managers/resources", {
      token: shared.token,
      body: { suite_uuid: suite, remote_file: remote },
    });
  const refused = await ask({ Artifact: { uuid: secretUuid, content_type: "result" } });
  assertEquals(refused.status, 403, refused.text);
  // An artifact of alice's own group still resolves.
  const ownUuid = await taskWithResult(coord.url, alice, "teamA", "ok");
  const allowed = await ask({ Artifact: { uuid: ownUuid, content_type: "result" } });
  assertEquals(allowed.status, 200, allowed.text);
});

test("a manager's messages about a task or suite it neither holds nor is assigned are refused and change nothing", async () => {
  const { coord, alice, carol } = await setup();
  await using _ = coord;
  const suite = await createSuite(coord.url, alice, "teamA", ["gpu"]);
  const submitted = await call(coord.url, "POST", "/tasks", {
    token: alice,
    body: noopTask("teamA", { suite_uuid: suite }),
  });
  assertEquals(submitted.status, 200, submitted.text);
  const taskUuid = (submitted.body as { uuid: string }).uuid;
  const foreign = await registerManager(coord.url, carol, { tags: ["gpu"] });
  await using ws = await WsManager.connect(coord.url, foreign);

  const replies = [
    await ws.request({ type: "AbortTask", task_uuid: taskUuid, reason: "sabotage" }),
    await ws.request({ type: "ReportFailure", task_uuid: taskUuid, failure_count: 3, error_message: "fake crash" }),
    await ws.request({ type: "SuitePrepareFailed", suite_uuid: suite, error: "fake" }),
    await ws.request({
      type: "SuiteCompleted",
      suite_uuid: suite,
      tasks_completed: 0,
      tasks_failed: 0,
      cleanup_error: null,
    }),
  ];
  for (const reply of replies) {
    assertEquals(reply.type, "Ack");
    assertEquals((reply as { success: boolean }).success, false, JSON.stringify(reply));
  }
  const [task] = await coord.sql`SELECT state FROM active_tasks WHERE uuid = ${taskUuid}`;
  assertEquals(task.state, 1, "still Ready");
  const [failures] = await coord.sql`SELECT count(*)::int AS n FROM task_execution_failures`;
  assertEquals(failures.n, 0);
  const [archived] = await coord.sql`SELECT count(*)::int AS n FROM archived_tasks`;
  assertEquals(archived.n, 0);
});

test("a locked or deleted user's worker and manager tokens stop working; unlocking restores them", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const worker = await registerWorker(coord.url, alice);
  const manager = await registerManager(coord.url, alice);
  const heartbeat = async () => [
    (await call(coord.url, "POST", "/workers/heartbeat", { token: worker.token })).status,
    (await call(coord.url, "POST", "/managers/heartbeat", { token: manager.token, body: { state: "Idle" } })).status,
  ];
  assertEquals(await heartbeat(), [200, 200]);
  const setState = async (state: string) => {
    const res = await call(coord.url, "POST", "/admin/users/alice/state", { token: admin, body: { state } });
    assertEquals(res.status, 200, res.text);
  };
  await setState("Locked");
  assertEquals(await heartbeat(), [401, 401]);
  await setState("Active");
  assertEquals(await heartbeat(), [200, 200]);
  assertEquals((await call(coord.url, "DELETE", "/admin/users/alice", { token: admin })).status, 200);
  assertEquals(await heartbeat(), [401, 401]);
  // The WebSocket upgrade is refused too.
  const refused = await WsManager.connect(coord.url, manager).then(async (ws) => {
    await ws[Symbol.asyncDispose]();
    return false;
  }, () => true);
  assertTrue(refused, "the manager's WebSocket is refused");
});

test("a worker token reads only tasks it holds or of groups it serves", async () => {
  const { coord, alice, carol } = await setup();
  await using _ = coord;
  const aliceTask = await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("teamA") });
  const uuid = (aliceTask.body as { uuid: string }).uuid;
  const carols = await registerWorker(coord.url, carol);
  const alices = await registerWorker(coord.url, alice, { groups: ["teamA:Write"] });
  assertEquals((await call(coord.url, "GET", `/workers/tasks/${uuid}`, { token: carols.token })).status, 403);
  const seen = await call(coord.url, "GET", `/workers/tasks/${uuid}`, { token: alices.token });
  assertEquals(seen.status, 200, seen.text);
  assertEquals((seen.body as { spec: { args: string[] } }).spec.args, ["true"]);
});

test("the local blob store keeps objects 0600 in 0700 directories", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const upload = await call(coord.url, "POST", "/groups/teamA/attachments", {
    token: alice,
    body: { key: "deep/dir/file.txt", content_length: 3 },
  });
  const put = await fetch((upload.body as { url: string }).url, { method: "PUT", body: "abc" });
  await put.body?.cancel();
  assertTrue(put.ok);
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) {
        assertEquals((await Deno.stat(path)).mode! & 0o777, 0o700, path);
        await walk(path);
      } else if (entry.name !== "signing.key") {
        files.push(path);
        assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600, path);
      }
    }
  };
  const root = await blobRoot(coord.dataDir);
  assertEquals((await Deno.stat(root)).mode! & 0o777, 0o700, root);
  await walk(root);
  assertTrue(files.some((f) => f.endsWith("deep/dir/file.txt")), files.join(", "));
});

/** The local blob store's root under the coordinator's data dir (the directory holding `signing.key`). */
async function blobRoot(dataDir: string): Promise<string> {
  for await (const entry of Deno.readDir(dataDir)) {
    if (!entry.isDirectory) continue;
    try {
      await Deno.stat(`${dataDir}/${entry.name}/signing.key`);
      return `${dataDir}/${entry.name}`;
    } catch {
      // not the blob store
    }
  }
  throw new Error(`no blob store under ${dataDir}`);
}

test("a manager whose user leaves the suite's group claims nothing more and has the suite reclaimed", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const will = await createUser(coord.url, admin, "will");
  await call(coord.url, "PUT", "/groups/teamA/users", { token: alice, body: { relations: { will: "Write" } } });
  const creds = await registerManager(coord.url, will, { tags: ["gpu"], groups: ["teamA:Write"] });
  const suite = await createSuite(coord.url, alice, "teamA", ["gpu"]);
  const submitted = await call(coord.url, "POST", "/tasks/submit", {
    token: alice,
    body: { tasks: [1, 2, 3].map(() => noopTask("teamA", { suite_uuid: suite })) },
  });
  assertEquals(submitted.status, 200, submitted.text);
  await using ws = await WsManager.connect(coord.url, creds);
  await ws.heartbeat("Idle");
  assertEquals((await ws.nextPush("SuiteAssigned", 10_000)).suite_uuid, suite);
  await ws.suiteStarted(suite);
  const first = await ws.fetch(1, suite);
  assertEquals(first.tasks.length, 1);

  const removed = await call(coord.url, "DELETE", "/groups/teamA/users?users=will", { token: alice });
  assertEquals(removed.status, 200, removed.text);
  const after = await ws.fetch(2, suite);
  assertEquals(after.tasks.length, 0, "no claim once the manager no longer serves teamA");
  assertEquals(after.suite_state, null);
  const ack = await ws.heartbeat("Executing", suite);
  assertEquals(ack.assigned_suite_uuid, null);
  assertEquals((await ws.nextPush("SuiteReclaimed")).suite_uuid, suite);
  const [row] = await coord.sql`
    SELECT count(*) FILTER (WHERE t.state = 1)::int AS ready, count(*)::int AS total FROM active_tasks t
    JOIN task_suites s ON s.id = t.task_suite_id WHERE s.uuid = ${suite}`;
  assertEquals({ ...row }, { ready: 3, total: 3 }, "the held task is Ready again");
  const [m] = await coord.sql`SELECT assigned_task_suite_id FROM node_managers WHERE uuid = ${creds.uuid}`;
  assertEquals(m.assigned_task_suite_id, null);
});

/**
 * Suites on node managers through `/ws/managers`, with scripted managers:
 * tag matching and user-specified managers (seeds 8.2.2, 8.2.3), several
 * managers draining one suite, heartbeat timeout and reclaim, abort
 * exclusion and finalisation, ReturnTasks, preparation failures, the mixed
 * workload of seed 8.5.2 and two coordinators on one database.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";
import { drainFetch, registerManager, startScriptedManager, WsManager } from "./support/ws_manager.ts";
import type { ManagedTask } from "../shared/wire/manager_ws.ts";
import type { SuiteInfo } from "../shared/wire/suites.ts";
import type { CoordinatorConfig } from "../coordinator/http/context.ts";

async function setup(overrides: Partial<CoordinatorConfig> = {}) {
  const coord = await startTestCoordinator(overrides);
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  return { coord, admin, alice };
}

/** Creates a suite in alice's group and returns its uuid. */
async function createSuite(
  url: string,
  token: string,
  body: { name?: string; tags?: string[]; priority?: number } = {},
): Promise<string> {
  const res = await call(url, "POST", "/suites", {
    token,
    body: { group_name: "alice", tags: [], worker_schedule: { worker_count: 2 }, ...body },
  });
  if (res.status !== 201) throw new Error(`suite creation failed: ${res.status} ${res.text}`);
  return (res.body as { uuid: string }).uuid;
}

/** Submits `n` no-op tasks into a suite (batches of 1,000); returns their uuids in order. */
async function submitToSuite(url: string, token: string, suite: string, n: number): Promise<string[]> {
  const uuids: string[] = [];
  for (let done = 0; done < n; done += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - done) }, () => noopTask("alice", { suite_uuid: suite }));
    const res = await call(url, "POST", "/tasks/submit", { token, body: { tasks: batch } });
    if (res.status !== 200) throw new Error(`submit failed: ${res.status} ${res.text}`);
    for (const r of (res.body as { results: { Ok?: { uuid: string }; Err?: { msg: string } }[] }).results) {
      if (!r.Ok) throw new Error(`task refused: ${r.Err?.msg}`);
      uuids.push(r.Ok.uuid);
    }
  }
  return uuids;
}

async function getSuite(url: string, token: string, suite: string): Promise<SuiteInfo> {
  const res = await call(url, "GET", `/suites/${suite}`, { token });
  if (res.status !== 200) throw new Error(`get suite failed: ${res.status} ${res.text}`);
  return res.body as SuiteInfo;
}

/** Polls `probe` until it returns a value other than null/false, or fails after `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves true if a push of `type` arrives within `ms`, false otherwise (it stays queued). */
async function pushArrives(manager: WsManager, type: "SuiteAssigned" | "SuiteReclaimed", ms: number) {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return manager.queued(type).length > 0;
}

/** Fetches and commits batches until the suite has nothing left for this manager; returns the task uuids. */
async function drainAndCommit(manager: WsManager, batch: number): Promise<string[]> {
  const done: string[] = [];
  for (;;) {
    const { tasks } = await manager.fetch(batch);
    if (tasks.length === 0) return done;
    await Promise.all(tasks.map((t) => manager.commit(t)));
    done.push(...tasks.map((t) => t.uuid));
  }
}

async function managerRow(coord: TestCoordinator, uuid: string) {
  const [row] = await coord.sql<{ state: number; assigned_task_suite_id: number | null }[]>`
    SELECT state, assigned_task_suite_id FROM node_managers WHERE uuid = ${uuid}`;
  return row;
}

test("seed 8.2.2: suites go only to managers whose tags include theirs", async () => {
  // The seed's table also lists "B → M1", but M1 has no "cpu" tag, so B.tags ⊄ M1.tags: by the matching
  // rule it states (and SPEC §5.2) M1 may not run B. This test checks the rule: A→M1, B→M2, C→M3.
  const { coord, alice } = await setup();
  await using _ = coord;
  // A and B exist before the managers register (matched at registration), C after (matched at creation).
  const a = await createSuite(coord.url, alice, { name: "A", tags: ["gpu", "cuda:11.8"], priority: 3 });
  const b = await createSuite(coord.url, alice, { name: "B", tags: ["cpu", "linux"], priority: 2 });
  const m1 = await startScriptedManager(coord.url, alice, {
    hostname: "M1",
    tags: ["gpu", "cuda:11.8", "linux", "x86_64"],
  });
  const m2 = await startScriptedManager(coord.url, alice, { hostname: "M2", tags: ["cpu", "linux", "arm64"] });
  const m3 = await startScriptedManager(coord.url, alice, {
    hostname: "M3",
    tags: ["gpu", "cuda:12.0", "nvlink", "dgx"],
  });
  const c = await createSuite(coord.url, alice, { name: "C", tags: ["gpu", "cuda:12.0", "nvlink"], priority: 1 });

  const links = await coord.sql<{ suite: string; manager: string }[]>`
    SELECT s.name AS suite, m.hostname AS manager FROM task_suite_managers tsm
    JOIN task_suites s ON s.id = tsm.task_suite_id JOIN node_managers m ON m.id = tsm.node_manager_id
    WHERE tsm.selection_type = 1 ORDER BY 1, 2`;
  assertEquals(links.map((l) => `${l.suite}→${l.manager}`), ["A→M1", "B→M2", "C→M3"]);

  const tasksA = await submitToSuite(coord.url, alice, a, 2);
  const tasksB = await submitToSuite(coord.url, alice, b, 3);
  const tasksC = await submitToSuite(coord.url, alice, c, 2);

  assertEquals((await m1.nextPush("SuiteAssigned")).suite_uuid, a);
  const assignedB = await m2.nextPush("SuiteAssigned");
  assertEquals(assignedB.suite_uuid, b);
  assertEquals(assignedB.suite_spec.tags, ["cpu", "linux"]);
  assertEquals(assignedB.suite_spec.worker_schedule.worker_count, 2);
  assertEquals((await m3.nextPush("SuiteAssigned")).suite_uuid, c);

  // A fetch naming another suite than the assigned one gets nothing and "not your suite".
  const foreign = await m2.fetch(5, a);
  assertEquals([foreign.tasks.length, foreign.suite_state], [0, null]);

  const m2First = await m2.fetch(1);
  assertEquals(m2First.tasks.map((t) => t.suite_uuid), [b]);
  assertEquals(m2First.suite_state, "Open");
  await m2.commit(m2First.tasks[0]);

  assertEquals((await drainAndCommit(m1, 10)).sort(), [...tasksA].sort());
  assertEquals((await m1.fetch(1)).suite_state, "Complete");
  assertEquals((await m1.suiteCompleted(a, 2, 0)).success, true);
  // B still has Ready tasks, but M1 may not run it: M1 stays idle.
  assertEquals(await pushArrives(m1, "SuiteAssigned", 300), false);
  assertEquals((await m1.heartbeat("Idle")).assigned_suite_uuid, null);
  const restOfB = await drainAndCommit(m2, 10);
  assertEquals([m2First.tasks[0].uuid, ...restOfB].sort(), [...tasksB].sort());

  assertEquals((await drainAndCommit(m3, 10)).sort(), [...tasksC].sort());
  assertEquals((await m3.suiteCompleted(c)).success, true);
  assertEquals(await pushArrives(m3, "SuiteAssigned", 200), false);
  for (const s of [a, b, c]) assertEquals((await getSuite(coord.url, alice, s)).state_name, "Complete");
  await Promise.all([m1.close(), m2.close(), m3.close()]);
});

test("seed 8.2.3: a suite with user-specified managers runs only on them", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const managers = await Promise.all(
    ["M1", "M2", "M3"].map((hostname) => startScriptedManager(coord.url, alice, { hostname, tags: ["gpu"] })),
  );
  const [m1, m2, m3] = managers;
  const suite = await createSuite(coord.url, alice, { tags: ["gpu"] });
  const added = await call(coord.url, "POST", `/suites/${suite}/managers`, {
    token: alice,
    body: { manager_uuids: [m1.uuid, m2.uuid] },
  });
  assertEquals(added.status, 200, added.text);
  const links = await coord.sql<{ hostname: string; selection_type: number }[]>`
    SELECT m.hostname, tsm.selection_type FROM task_suite_managers tsm JOIN node_managers m ON m.id = tsm.node_manager_id
    JOIN task_suites s ON s.id = tsm.task_suite_id WHERE s.uuid = ${suite} ORDER BY 1`;
  // M3 still matches by tags, but UserSpecified links are exclusive.
  assertEquals([...links], [
    { hostname: "M1", selection_type: 0 },
    { hostname: "M2", selection_type: 0 },
    { hostname: "M3", selection_type: 1 },
  ]);

  const uuids = await submitToSuite(coord.url, alice, suite, 30);
  assertEquals((await m1.nextPush("SuiteAssigned")).suite_uuid, suite);
  assertEquals((await m2.nextPush("SuiteAssigned")).suite_uuid, suite);
  const [done1, done2] = await Promise.all([drainAndCommit(m1, 4), drainAndCommit(m2, 4)]);
  assertEquals([...done1, ...done2].sort(), [...uuids].sort());
  assertEquals(await pushArrives(m3, "SuiteAssigned", 200), false);
  assertEquals((await m3.fetch(10)).tasks, []);
  assertEquals((await getSuite(coord.url, alice, suite)).state_name, "Complete");
  await Promise.all(managers.map((m) => m.close()));
});

test("3 managers drain one suite of 3,000 tasks in batches: each gets work, no task twice, suite Complete", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const suite = await createSuite(coord.url, alice, { tags: ["linux"] });
  const uuids = await submitToSuite(coord.url, alice, suite, 3000);
  const managers = await Promise.all(
    [1, 2, 3].map(() => startScriptedManager(coord.url, alice, { tags: ["linux", "x86_64"] })),
  );
  await Promise.all(managers.map(async (m) => assertEquals((await m.nextPush("SuiteAssigned")).suite_uuid, suite)));
  const claimed = await Promise.all(managers.map((m) => drainAndCommit(m, 50)));
  for (const mine of claimed) assertTrue(mine.length > 0, "every manager got work");
  const all = claimed.flat();
  assertEquals(all.length, 3000);
  assertEquals(new Set(all).size, 3000, "no task claimed twice");
  assertEquals([...all].sort(), [...uuids].sort());
  const [archived] = await coord.sql<{ n: number; finished: number; reporters: number }[]>`
    SELECT count(*)::int AS n, count(*) FILTER (WHERE t.state = 3)::int AS finished,
      count(DISTINCT reporter_uuid)::int AS reporters
    FROM archived_tasks t WHERE t.task_suite_id = (SELECT id FROM task_suites WHERE uuid = ${suite})`;
  assertEquals(archived, { n: 3000, finished: 3000, reporters: 3 });
  const info = await getSuite(coord.url, alice, suite);
  assertEquals([info.state_name, info.pending_tasks, info.total_tasks], ["Complete", 0, 3000]);
  await Promise.all(managers.map((m) => m.close()));
});

test("a silent manager goes Offline: its tasks return to Ready, the suite goes to another, it is reclaimed", async () => {
  const { coord, alice } = await setup({ manager_heartbeat_timeout: 1500 });
  await using _ = coord;
  const suite = await createSuite(coord.url, alice, { tags: ["gpu"] });
  const uuids = await submitToSuite(coord.url, alice, suite, 5);
  const m1 = await startScriptedManager(coord.url, alice, { tags: ["gpu"] });
  assertEquals((await m1.nextPush("SuiteAssigned")).suite_uuid, suite);
  assertEquals((await m1.suiteStarted(suite)).success, true);
  const held = await m1.fetch(10);
  assertEquals(held.tasks.map((t) => t.uuid).sort(), [...uuids].sort());
  assertTrue(held.tasks.every((t) => t.attempt === 1));

  // M2 is idle and eligible, but nothing is Ready: it gets no assignment while M1 is alive.
  const m2 = await startScriptedManager(coord.url, alice, { tags: ["gpu"] });
  const beat = setInterval(() => void m2.heartbeat("Idle").catch(() => {}), 250);
  try {
    assertEquals(await pushArrives(m2, "SuiteAssigned", 300), false);
    // M1 goes silent (connection open, no heartbeats).
    await eventually("M1 Offline", async () => (await managerRow(coord, m1.uuid)).state === 4);
    assertEquals((await managerRow(coord, m1.uuid)).assigned_task_suite_id, null);
    const handed = await m2.nextPush("SuiteAssigned", 5_000);
    assertEquals(handed.suite_uuid, suite);
    const retaken = await m2.fetch(10);
    assertEquals(retaken.tasks.map((t) => t.uuid).sort(), [...uuids].sort());
    assertTrue(retaken.tasks.every((t) => t.attempt >= 2), "a re-claimed task has a newer attempt");

    // M1's late report on its old claim is refused and changes nothing.
    const late = await m1.report(held.tasks[0].id, "Finish", held.tasks[0].attempt);
    assertEquals(late.success, false);
    assertIncludes(late.error ?? "", "not held");
    await m1.close();

    // M1 reconnects and still believes it runs the suite: SuiteReclaimed.
    const again = await WsManager.connect(coord.url, { uuid: m1.uuid, token: m1.token });
    const ack = await again.heartbeat("Executing", suite);
    assertEquals(ack.assigned_suite_uuid, null);
    assertEquals((await again.nextPush("SuiteReclaimed")).suite_uuid, suite);
    await Promise.all(retaken.tasks.map((t) => m2.commit(t)));
    assertEquals((await getSuite(coord.url, alice, suite)).state_name, "Complete");
    await again.close();
  } finally {
    clearInterval(beat);
  }
  await m2.close();
});

test("an aborted task never returns to that manager; aborted on every eligible manager it is archived Cancelled", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const suite = await createSuite(coord.url, alice, { tags: ["gpu"] });
  const [first, second] = await submitToSuite(coord.url, alice, suite, 2);
  // M2 is registered (eligible) but not connected yet.
  const m2Creds = await registerManager(coord.url, alice, { tags: ["gpu"] });
  const m1 = await startScriptedManager(coord.url, alice, { tags: ["gpu"] });
  await m1.nextPush("SuiteAssigned");
  const [crashing] = (await m1.fetch(1)).tasks;
  assertEquals(crashing.uuid, first);

  for (const count of [1, 2]) {
    const ack = await m1.failure({
      task_uuid: first,
      failure_count: count,
      error_message: `worker killed by SIGSEGV (${count})`,
      worker_local_id: 3,
    });
    assertEquals(ack.success, true);
  }
  // The second report again (resent after a lost connection): the same crash, not a third one.
  const resent = await m1.failure({
    task_uuid: first,
    failure_count: 2,
    error_message: "worker killed by SIGSEGV (2)",
    worker_local_id: 3,
  });
  assertEquals(resent.success, true);
  assertEquals((await m1.abort(first, "SIGSEGV twice")).success, true);
  const [failure] = await coord.sql<
    { failure_count: number; error_messages: string[]; worker_local_id: number; aborted: boolean }[]
  >`
    SELECT failure_count, error_messages, worker_local_id, aborted_at IS NOT NULL AS aborted
    FROM task_execution_failures WHERE task_uuid = ${first}`;
  assertEquals(failure, {
    failure_count: 2,
    error_messages: ["worker killed by SIGSEGV (1)", "worker killed by SIGSEGV (2)", "aborted: SIGSEGV twice"],
    worker_local_id: 3,
    aborted: true,
  });
  const [back] = await coord.sql<{ state: number; assigned_manager: number | null }[]>`
    SELECT state, assigned_manager FROM active_tasks WHERE uuid = ${first}`;
  assertEquals(back, { state: 1, assigned_manager: null });

  // M1 only ever gets the other task now.
  const next = await m1.fetch(5);
  assertEquals(next.tasks.map((t) => t.uuid), [second]);
  assertEquals((await m1.fetch(5)).tasks, []);
  await m1.commit(next.tasks[0]);
  assertEquals((await getSuite(coord.url, alice, suite)).state_name, "Open");

  // M2 may still run it; when M2 aborts it too, no eligible manager is left: finalised.
  const m2 = await WsManager.connect(coord.url, m2Creds);
  await m2.heartbeat("Idle");
  await m2.nextPush("SuiteAssigned");
  const [retry] = (await m2.fetch(5)).tasks;
  assertEquals(retry.uuid, first);
  assertEquals((await m2.abort(first, "SIGILL twice")).success, true);
  const task = await call(coord.url, "GET", `/tasks/${first}`, { token: alice });
  const info = (task.body as { info: { state: string; result: Record<string, unknown> } }).info;
  assertEquals(info.state, "Cancelled");
  assertEquals(info.result, { exit_status: 0, msg: null, detail: "aborted on every eligible manager: SIGILL twice" });
  const done = await getSuite(coord.url, alice, suite);
  assertEquals([done.state_name, done.pending_tasks], ["Complete", 0]);
  // Aborting an unknown task is refused with a reason.
  const unknown = await m2.abort(crypto.randomUUID(), "nope");
  assertEquals(unknown.success, false);
  await Promise.all([m1.close(), m2.close()]);
});

test("ReturnTasks hands prefetched tasks back to Ready; reports naming the old attempt are refused", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const suite = await createSuite(coord.url, alice);
  const uuids = await submitToSuite(coord.url, alice, suite, 5);
  await using m1 = await startScriptedManager(coord.url, alice);
  await m1.nextPush("SuiteAssigned");
  const fetched = await m1.fetch(5);
  assertEquals(fetched.task?.uuid, uuids[0]);
  assertEquals(fetched.tasks.map((t) => t.uuid), uuids, "dispatch order: oldest first");
  const returned = fetched.tasks.slice(2);
  const ack = await m1.returnTasks(returned.map((t) => t.uuid));
  assertEquals([ack.success, ack.error ?? null], [true, null]);
  const rows = await coord.sql<{ state: number; assigned_manager: number | null; attempt: number }[]>`
    SELECT state, assigned_manager, attempt FROM active_tasks WHERE uuid = ANY(${returned.map((t) => t.uuid)}::uuid[])`;
  assertEquals([...rows], returned.map(() => ({ state: 1, assigned_manager: null as number | null, attempt: 1 })));

  const refetched = await m1.fetch(5);
  assertEquals(refetched.tasks.map((t) => t.uuid), returned.map((t) => t.uuid));
  assertTrue(refetched.tasks.every((t) => t.attempt === 2));
  const stale = await m1.report(returned[0].id, "Finish", 1);
  assertEquals(stale.success, false);
  assertIncludes(stale.error ?? "", "attempt 1");
  for (const t of [...fetched.tasks.slice(0, 2), ...refetched.tasks]) await m1.commit(t);
  // Returning what it no longer holds is refused with a reason; nothing changes.
  const gone = await m1.returnTasks([uuids[0]]);
  assertEquals(gone.success, false);
  assertEquals((await getSuite(coord.url, alice, suite)).state_name, "Complete");
});

test("a failed preparation keeps the suite from that manager until the suite reopens", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const suite = await createSuite(coord.url, alice, { tags: ["gpu"] });
  await submitToSuite(coord.url, alice, suite, 3);
  await using m1 = await startScriptedManager(coord.url, alice, { tags: ["gpu"] });
  assertEquals((await m1.nextPush("SuiteAssigned")).suite_uuid, suite);
  const [prefetched] = (await m1.fetch(1)).tasks;
  assertEquals((await m1.suitePrepareFailed(suite, "setup.sh exited with 1")).success, true);

  assertEquals({ ...await managerRow(coord, m1.uuid) }, { state: 0, assigned_task_suite_id: null });
  const [task] = await coord.sql<{ state: number }[]>`SELECT state FROM active_tasks WHERE uuid = ${prefetched.uuid}`;
  assertEquals(task.state, 1, "its tasks went back to Ready");
  const info = await getSuite(coord.url, alice, suite);
  assertEquals(info.assigned_managers.map((m) => m.prepare_error), ["setup.sh exited with 1"]);
  assertEquals((await m1.heartbeat("Idle")).assigned_suite_uuid, null);
  assertEquals(await pushArrives(m1, "SuiteAssigned", 300), false);
  // Starting a suite it is not assigned: refused and reclaimed.
  assertEquals((await m1.suiteStarted(suite)).success, false);
  assertEquals((await m1.nextPush("SuiteReclaimed")).suite_uuid, suite);

  // Closed, then a new task reopens it: the manager gets another try.
  assertEquals((await call(coord.url, "POST", `/suites/${suite}/close`, { token: alice })).status, 200);
  await submitToSuite(coord.url, alice, suite, 1);
  assertEquals((await m1.nextPush("SuiteAssigned")).suite_uuid, suite);
  assertEquals((await getSuite(coord.url, alice, suite)).assigned_managers[0].prepare_error, null);
  assertEquals((await drainAndCommit(m1, 10)).length, 4);
});

test("seed 8.5.2 (scaled): independent workers get only standalone tasks, managers only suite tasks", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const suite = await createSuite(coord.url, alice);
  const suiteTasks = new Set(await submitToSuite(coord.url, alice, suite, 200));
  const standalone = new Set<string>();
  const batch = Array.from({ length: 200 }, () => noopTask("alice"));
  const res = await call(coord.url, "POST", "/tasks/submit", { token: alice, body: { tasks: batch } });
  for (const r of (res.body as { results: { Ok: { uuid: string } }[] }).results) standalone.add(r.Ok.uuid);

  const workers = await Promise.all([1, 2, 3].map(() => registerWorker(coord.url, alice)));
  const managers = await Promise.all([1, 2].map(() => startScriptedManager(coord.url, alice)));
  const byWorkers: string[] = [];
  const byManagers: string[] = [];
  await Promise.all([
    ...workers.map(async (w) => {
      for (let t = await w.fetch(); t !== null; t = await w.fetch()) {
        byWorkers.push(t.uuid);
        await w.complete(t);
      }
    }),
    ...managers.map(async (m) => {
      await m.nextPush("SuiteAssigned");
      byManagers.push(...await drainAndCommit(m, 16));
    }),
  ]);
  assertTrue(byWorkers.every((u) => standalone.has(u)), "a worker got a suite task");
  assertTrue(byManagers.every((u) => suiteTasks.has(u)), "a manager got a standalone task");
  assertEquals([byWorkers.length, new Set(byWorkers).size], [200, 200]);
  assertEquals([byManagers.length, new Set(byManagers).size], [200, 200]);
  assertEquals((await getSuite(coord.url, alice, suite)).state_name, "Complete");
  await Promise.all(managers.map((m) => m.close()));
});

test("two coordinators on one database: pushes caused on A reach a manager connected to B", async () => {
  const first = await startTestCoordinator();
  await using _first = first;
  await using second = await startTestCoordinator({
    db_url: first.dbUrl,
    access_token_private_path: `${first.dataDir}/private.pem`,
    access_token_public_path: `${first.dataDir}/public.pem`,
  });
  const admin = await login(first.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(first.url, admin, "alice");
  const creds = await registerManager(first.url, alice, { tags: ["gpu"] });
  await using onB = await WsManager.connect(second.url, creds);
  await onB.heartbeat("Idle");

  // Suite and tasks created on A; A's kick reaches B, whose pass assigns the manager connected there.
  const suite = await createSuite(first.url, alice, { tags: ["gpu"] });
  const uuids = await submitToSuite(first.url, alice, suite, 10);
  assertEquals((await onB.nextPush("SuiteAssigned")).suite_uuid, suite);
  const fetched: ManagedTask[] = await drainFetch(onB, 4);
  assertEquals(fetched.map((t) => t.uuid).sort(), [...uuids].sort());

  // Cancelling on A pushes CancelSuite/CancelTask, and a shutdown pushes Shutdown, all through NOTIFY.
  const cancel = await call(first.url, "POST", `/suites/${suite}/cancel`, {
    token: alice,
    body: { reason: "enough", cancel_running_tasks: true },
  });
  assertEquals(cancel.status, 200, cancel.text);
  assertEquals((await onB.nextPush("CancelSuite")).suite_uuid, suite);
  assertTrue(uuids.includes((await onB.nextPush("CancelTask")).task_uuid));
  const shutdown = await call(first.url, "POST", `/managers/${creds.uuid}/shutdown`, {
    token: alice,
    body: { op: "Graceful" },
  });
  assertEquals(shutdown.status, 200, shutdown.text);
  assertEquals((await onB.nextPush("Shutdown")).graceful, true);
});

test("an Idle heartbeat naming no suite gets a lost SuiteAssigned again, or releases a finished suite", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const suite = await createSuite(coord.url, alice);
  await submitToSuite(coord.url, alice, suite, 2);
  await using m1 = await startScriptedManager(coord.url, alice);
  assertEquals((await m1.nextPush("SuiteAssigned")).suite_uuid, suite);
  // The manager never saw that push (say it was reconnecting): its Idle heartbeat gets it again.
  const ack = await m1.heartbeat("Idle");
  assertEquals(ack.assigned_suite_uuid, suite);
  assertEquals((await m1.nextPush("SuiteAssigned")).suite_uuid, suite);
  await drainAndCommit(m1, 10);
  // The suite completed without a SuiteCompleted: the next Idle heartbeat drops the stale assignment.
  assertEquals((await m1.heartbeat("Idle")).assigned_suite_uuid, null);
  assertEquals({ ...await managerRow(coord, m1.uuid) }, { state: 0, assigned_task_suite_id: null });
  assertEquals(await pushArrives(m1, "SuiteAssigned", 100), false);
});

test("over the WebSocket, Upload answers a presigned URL and Submit adds a downstream task to the suite", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const suite = await createSuite(coord.url, alice, { tags: ["gpu"] });
  const [upstream] = await submitToSuite(coord.url, alice, suite, 1);
  await using m1 = await startScriptedManager(coord.url, alice, { tags: ["gpu", "linux"] });
  await m1.nextPush("SuiteAssigned");
  const [task] = (await m1.fetch(1)).tasks;
  assertEquals(task.uuid, upstream);

  const bytes = new TextEncoder().encode("result bytes");
  const upload = await m1.report(task.id, { Upload: { content_type: "result", content_length: bytes.length } });
  assertEquals(upload.success, true);
  const put = await fetch(upload.url!, { method: "PUT", body: bytes });
  await put.body?.cancel();
  assertEquals(put.status, 200);

  const submitted = await m1.report(task.id, {
    Submit: { group_name: "alice", task_spec: { args: ["true"] }, tags: ["ignored"] },
  }, task.attempt);
  assertEquals([submitted.success, submitted.error ?? null], [true, null]);
  const [downstream] = await coord.sql<{ uuid: string; state: number; tags: string[]; in_suite: boolean }[]>`
    SELECT t.uuid, t.state, t.tags, t.task_suite_id = s.id AS in_suite
    FROM active_tasks t, task_suites s WHERE s.uuid = ${suite} AND t.upstream_task_uuid = ${upstream}`;
  assertEquals({ ...downstream, uuid: "" }, { uuid: "", state: 0, tags: ["gpu"], in_suite: true });
  assertEquals((await getSuite(coord.url, alice, suite)).pending_tasks, 2);

  await m1.commit(task);
  const artifacts = await call(coord.url, "GET", `/tasks/${upstream}`, { token: alice });
  assertEquals(
    (artifacts.body as { artifacts: { content_type: string; size: number }[] }).artifacts.map((a) => [
      a.content_type,
      a.size,
    ]),
    [["result", bytes.length]],
  );
  // The downstream task turned Ready when its upstream committed, within the same suite.
  const [next] = (await m1.fetch(1)).tasks;
  assertEquals([next.uuid, next.upstream_task_uuid], [downstream.uuid, upstream]);
  await m1.commit(next);
  assertEquals((await getSuite(coord.url, alice, suite)).state_name, "Complete");
});

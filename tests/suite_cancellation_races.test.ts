/**
 * A Cancelled suite stays without waiting work: a task insert racing the
 * cancellation is refused by the database, and tasks that come back to Ready
 * after the cancel (returned, requeued) are archived by the sweeper.
 */
import { assertEquals, assertRejects } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, login } from "./support/http.ts";
import { noopTask } from "./support/workers_api.ts";
import { insertTasks } from "../coordinator/tasks/store.ts";
import { ApiError } from "../shared/errors.ts";
import { SubmitTaskReqSchema, TaskStateCode } from "../shared/wire/tasks.ts";
import { sweepCancelledSuitesOnce } from "../coordinator/maintenance/cancelled_suite_sweeper.ts";
import { createLogger } from "../shared/log/logger.ts";

async function suiteWithTasks(url: string, token: string, n: number): Promise<string> {
  const created = await call(url, "POST", "/suites", {
    token,
    body: { group_name: ADMIN.username, worker_schedule: { worker_count: 1 } },
  });
  assertEquals(created.status, 201, created.text);
  const uuid = (created.body as { uuid: string }).uuid;
  const tasks = Array.from({ length: n }, () => noopTask(ADMIN.username, { suite_uuid: uuid }));
  assertEquals((await call(url, "POST", "/tasks/submit", { token, body: { tasks } })).status, 200);
  return uuid;
}

test("the database refuses tasks for a suite that is already Cancelled", async () => {
  await using coord = await startTestCoordinator();
  const token = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const uuid = await suiteWithTasks(coord.url, token, 2);
  assertEquals((await call(coord.url, "POST", `/suites/${uuid}/cancel`, { token, body: {} })).status, 200);
  const [suite] = await coord.sql`SELECT id, group_id, creator_id FROM task_suites WHERE uuid = ${uuid}`;
  // Bypass the route's pre-check, as a submission racing the cancel would.
  const error = await assertRejects(() =>
    insertTasks(coord.sql, [{
      creatorId: suite.creator_id,
      groupId: suite.group_id,
      req: SubmitTaskReqSchema.parse(noopTask(ADMIN.username)),
      state: TaskStateCode.Ready,
      suiteId: suite.id,
    }])
  );
  assertEquals(error instanceof ApiError && error.kind, "BadRequest");
  const [row] = await coord.sql`SELECT state, total_tasks, pending_tasks FROM task_suites WHERE uuid = ${uuid}`;
  assertEquals({ ...row }, { state: 3, total_tasks: 2, pending_tasks: 0 });
  const [active] = await coord.sql`SELECT count(*)::int AS n FROM active_tasks`;
  assertEquals(active.n, 0);
});

test("tasks back to Ready in a Cancelled suite are archived by the sweeper", async () => {
  await using coord = await startTestCoordinator();
  const token = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const uuid = await suiteWithTasks(coord.url, token, 3);
  // One task is held by a (pretend) manager when the suite is cancelled gracefully.
  await coord.sql`UPDATE active_tasks SET state = ${TaskStateCode.Running}
    WHERE id = (SELECT min(id) FROM active_tasks)`;
  const cancel = await call(coord.url, "POST", `/suites/${uuid}/cancel`, { token, body: {} });
  assertEquals(cancel.status, 200, cancel.text);
  // The manager hands it back unstarted.
  await coord.sql`UPDATE active_tasks SET state = ${TaskStateCode.Ready}`;
  assertEquals(await sweepCancelledSuitesOnce(coord.sql, createLogger("test", "off")), 1);
  const [row] = await coord.sql`SELECT state, pending_tasks FROM task_suites WHERE uuid = ${uuid}`;
  assertEquals({ ...row }, { state: 3, pending_tasks: 0 });
  const [archived] = await coord.sql`SELECT count(*)::int AS n FROM archived_tasks WHERE state = 4`;
  assertEquals(archived.n, 3);
  assertEquals(await sweepCancelledSuitesOnce(coord.sql, createLogger("test", "off")), 0);
});

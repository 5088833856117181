/**
 * The suite state machine on a real database: a suite is driven through
 * every transition of `SUITE_TRANSITIONS` (coordinator/suites/states.ts) by
 * the real causes (submissions, close, auto-close, last task done, cancel),
 * and every change observed must be in the table, and every row of the table
 * observed.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask } from "./support/workers_api.ts";
import { canTransition, SUITE_TRANSITIONS, type SuiteEvent } from "../coordinator/suites/states.ts";
import { autoCloseIdleSuites } from "../coordinator/suites/store.ts";
import { TASK_SUITE_STATES, type TaskSuiteState } from "../shared/wire/suites.ts";

test("suites move only along the state machine's transitions, and every transition happens", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const seen = new Set<string>();
  const state = async (suite: string): Promise<TaskSuiteState> => {
    const [row] = await coord.sql<{ state: number }[]>`SELECT state FROM task_suites WHERE uuid = ${suite}`;
    return TASK_SUITE_STATES[row.state];
  };
  /** Runs `cause` and records the transition it made (if any), which must be allowed. */
  const step = async (suite: string, on: SuiteEvent, cause: () => Promise<unknown>, expected: TaskSuiteState) => {
    const from = await state(suite);
    await cause();
    const to = await state(suite);
    assertEquals(to, expected, `${on} from ${from}`);
    if (from !== to) {
      assertTrue(canTransition(from, to), `${from} → ${to} is not in the table`);
      seen.add(`${from}→${to}:${on}`);
    }
  };
  const newSuite = async () => {
    const res = await call(coord.url, "POST", "/suites", {
      token: alice,
      body: { group_name: "alice", tags: ["none"], worker_schedule: { worker_count: 1 } },
    });
    assertEquals(res.status, 201, res.text);
    return (res.body as { uuid: string }).uuid;
  };
  const tasks: string[] = [];
  const submit = (suite: string) => async () => {
    const res = await call(coord.url, "POST", "/tasks", {
      token: alice,
      body: noopTask("alice", { suite_uuid: suite }),
    });
    assertEquals(res.status, 200, res.text);
    tasks.push((res.body as { uuid: string }).uuid);
  };
  const finishAll = async () => {
    // Cancelling a Ready task archives it, which counts as done for the suite.
    while (tasks.length > 0) {
      const res = await call(coord.url, "DELETE", `/tasks/${tasks.pop()}`, { token: alice });
      assertEquals(res.status, 200, res.text);
    }
  };
  const close = (suite: string) => () => call(coord.url, "POST", `/suites/${suite}/close`, { token: alice });
  const cancel = (suite: string) => () =>
    call(coord.url, "POST", `/suites/${suite}/cancel`, { token: alice, body: {} });
  const autoClose = () => autoCloseIdleSuites(coord.sql, 0, 100);

  const a = await newSuite();
  assertEquals(await state(a), "Open");
  await step(a, "task submitted", submit(a), "Open");
  await step(a, "closed by user", close(a), "Closed");
  await step(a, "task submitted", submit(a), "Open");
  await step(a, "idle past auto-close", autoClose, "Closed");
  await step(a, "last pending task done", finishAll, "Complete");
  await step(a, "task submitted", submit(a), "Open");
  await step(a, "last pending task done", finishAll, "Complete");
  await step(a, "cancelled", cancel(a), "Cancelled");

  const b = await newSuite();
  await step(b, "task submitted", submit(b), "Open");
  await step(b, "cancelled", cancel(b), "Cancelled");
  tasks.length = 0; // archived by the cancellation

  const c = await newSuite();
  await step(c, "task submitted", submit(c), "Open");
  await step(c, "closed by user", close(c), "Closed");
  await step(c, "cancelled", cancel(c), "Cancelled");
  tasks.length = 0;

  // A Cancelled suite takes no task and stays Cancelled.
  const refused = await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice", { suite_uuid: c }) });
  assertEquals(refused.status, 400, refused.text);
  assertEquals(await state(c), "Cancelled");

  const table = new Set(SUITE_TRANSITIONS.map((t) => `${t.from}→${t.to}:${t.on}`));
  assertEquals([...table].filter((t) => !seen.has(t)), [], "transitions of the table never seen");
  assertEquals([...seen].filter((t) => !table.has(t)), [], "transitions seen that the table lacks");
});

/**
 * Eight real worker processes drain 500 no-op tasks, claiming them
 * concurrently: every task is committed exactly once, by one of the workers,
 * with exit status 0. (The coordinator-side claim race is also in
 * dispatch.test.ts; here the count only has to keep the eight processes
 * claiming at the same time.)
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { spawnWorker } from "./support/worker.ts";
import { noopTask } from "./support/workers_api.ts";

const TASKS = 500;

test("8 worker processes x 500 no-op tasks: every task committed exactly once", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice", "alice-pw");
  const submitted = await call(coord.url, "POST", "/tasks/submit", {
    token: alice,
    body: { tasks: Array.from({ length: TASKS }, () => noopTask("alice")) },
  });
  assertEquals(submitted.status, 200);
  const workers = await Promise.all(
    Array.from({ length: 8 }, () => spawnWorker(coord.url, { user: "alice", password: "alice-pw" })),
  );
  try {
    const deadline = Date.now() + 300_000;
    let archived = 0;
    while (archived < TASKS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      [{ n: archived }] = await coord.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM archived_tasks`;
    }
    const [rows] = await coord.sql`
      SELECT count(*)::int AS n, count(DISTINCT uuid)::int AS distinct_uuids,
        count(*) FILTER (WHERE (result->>'exit_status')::int = 0 AND state = 3)::int AS ok
      FROM archived_tasks`;
    assertEquals({ ...rows }, { n: TASKS, distinct_uuids: TASKS, ok: TASKS });
    const [active] = await coord.sql`SELECT count(*)::int AS n FROM active_tasks`;
    assertEquals(active.n, 0);
    const reporters = await coord.sql`SELECT reporter_uuid, count(*)::int AS n FROM archived_tasks GROUP BY 1`;
    const uuids = new Set(workers.map((w) => w.uuid));
    assertTrue(reporters.every((r) => uuids.has(r.reporter_uuid)), "every reporter is one of the 8 workers");
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
  const [left] = await coord.sql`SELECT count(*)::int AS n FROM workers`;
  assertEquals(left.n, 0, "workers unregistered on SIGTERM");
});

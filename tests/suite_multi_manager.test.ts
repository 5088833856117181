/**
 * Several managers on one suite (seed 8.2.1, scaled to 2 cores): three real
 * `mitosis-manager` processes with four workers each share 600 tasks
 * (MITOSIS_TEST_MULTI_MANAGERS, _WORKERS and _TASKS change that, as
 * `deno task acceptance` does). Every task runs once and is committed once,
 * every manager gets a fair share, and each manager's own count matches what
 * its tasks wrote.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { processesWithEnv, type SpawnedManager, spawnManager } from "./support/manager.ts";
import {
  ALICE,
  appendedLines,
  countBy,
  createSuite,
  eventually,
  getManager,
  getSuite,
  setupSuites,
  submit,
} from "./support/suites.ts";
import { test } from "./support/test.ts";
import { TaskStateCode } from "../shared/wire/tasks.ts";

/** A scale knob for `deno task acceptance` (defaults: the unit-test run's 3 × 4 × 600). */
const scaleOf = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
const MANAGERS = scaleOf("MITOSIS_TEST_MULTI_MANAGERS", 3);
const WORKERS = scaleOf("MITOSIS_TEST_MULTI_WORKERS", 4);
const TASKS = scaleOf("MITOSIS_TEST_MULTI_TASKS", 600);

test(`8.2.1: ${MANAGERS} managers × ${WORKERS} workers share ${TASKS} tasks: each gets work, none runs twice, all complete`, async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-multi-" });
  const managers: SpawnedManager[] = [];
  try {
    for (let i = 0; i < MANAGERS; i++) {
      managers.push(
        await spawnManager(coord.url, { ...ALICE, args: ["--tags", "gpu,linux", "--max-workers", `${WORKERS}`] }),
      );
    }
    const uuids = await Promise.all(managers.map((m) => m.waitConnected()));
    for (const uuid of uuids) {
      await eventually(
        "the managers to be Idle",
        async () => (await getManager(coord.url, alice, uuid)).state === "Idle",
      );
    }

    const suite = await createSuite(coord.url, alice, { tags: ["gpu", "linux"], worker_count: WORKERS });
    const tasks = await submit(
      coord.url,
      alice,
      suite,
      Array.from(
        { length: TASKS },
        () => ["sh", "-c", `echo "$MITOSIS_NODE_MANAGER_ID $MITO_TASK_UUID" >> ${dir}/ran`],
      ),
    );
    const info = await getSuite(coord.url, alice, suite);
    assertEquals(new Set(info.assigned_managers.map((m) => m.manager_uuid)), new Set(uuids));

    await eventually(
      "the suite to complete",
      async () => {
        return (await getSuite(coord.url, alice, suite)).state_name === "Complete";
      },
      Math.max(300_000, TASKS * 100),
      500,
    );

    // No task ran twice; every one is archived Finished on its first attempt.
    const lines = (await appendedLines(`${dir}/ran`)).map((line) => line.split(" "));
    const runs = countBy(lines.map(([, task]) => task));
    assertEquals([...runs].filter(([, n]) => n > 1), []);
    assertEquals(new Set(runs.keys()), new Set(tasks));
    const archived = await coord.sql<{ state: number; attempt: number; n: string }[]>`
      SELECT t.state, t.attempt, count(*) AS n FROM archived_tasks t JOIN task_suites s ON s.id = t.task_suite_id
      WHERE s.uuid = ${suite} GROUP BY 1, 2`;
    assertEquals(archived.map((r) => [r.state, r.attempt, Number(r.n)]), [[TaskStateCode.Finished, 1, TASKS]]);

    // Every manager did a fair share (at least a tenth, or a third of an even share with more managers), and says so.
    const perManager = countBy(lines.map(([manager]) => manager));
    const fair = Math.min(TASKS / 10, TASKS / MANAGERS / 3);
    for (const uuid of uuids) {
      const share = perManager.get(uuid) ?? 0;
      assertTrue(share >= fair, `manager ${uuid} ran ${share} of ${TASKS}: ${JSON.stringify([...perManager])}`);
    }
    for (const [i, manager] of managers.entries()) {
      const done = await manager.waitForLog((l) => l.msg === "suite done on this manager", 60_000, "the suite's end");
      assertEquals(done.tasks_completed, perManager.get(uuids[i]));
    }
    for (const manager of managers) assertEquals(await manager.stop(), 0);
    assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
  } finally {
    for (const manager of managers) await manager[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Suites end to end on real processes (seed scenarios 8.1.1–8.1.3): a
 * coordinator, a `mitosis-manager` process and its managed workers. Proven
 * by rows, by files the hooks and tasks write, by the manager's state as the
 * coordinator records it, and by what is still running afterwards.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { call } from "./support/http.ts";
import { livingProcesses, uniqueSleep } from "./support/exec.ts";
import { processesWithEnv, spawnManager } from "./support/manager.ts";
import { startS3 } from "./support/s3.ts";
import {
  ALICE,
  appendedLines,
  countBy,
  createSuite,
  eventually,
  getManager,
  getSuite,
  managerIdle,
  ONE_RUN,
  setupSuites,
  submit,
  suiteComplete,
  transitions,
  transitionsUntilIdle,
} from "./support/suites.ts";
import { test } from "./support/test.ts";
import { TaskStateCode } from "../shared/wire/tasks.ts";

/**
 * Records every state the coordinator shows for a manager, collapsing repeats, until stopped. Each state seen is
 * also announced by creating `<dir>/seen-<state>` (hooks wait for it, so their state lasts until it is recorded).
 */
function recordManagerStates(url: string, token: string, uuid: string, dir: string): { stop(): Promise<string[]> } {
  const seen: string[] = [];
  let running = true;
  const look = async () => {
    const state = (await getManager(url, token, uuid)).state;
    if (seen.at(-1) !== state) {
      seen.push(state);
      await Deno.writeTextFile(`${dir}/seen-${state}`, "");
    }
  };
  const loop = (async () => {
    while (running) {
      await look();
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await look(); // the state when stopped
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

test("8.1.1: 100 tasks on 4 managed workers: hooks around the tasks, every state reported, all committed, nothing left", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-suite-" });
  try {
    await using manager = await spawnManager(coord.url, {
      ...ALICE,
      args: ["--tags", "gpu,linux", "--max-workers", "4"],
    });
    const uuid = await manager.waitConnected();
    await eventually("the manager to be Idle", async () => (await getManager(coord.url, alice, uuid)).state === "Idle");
    const states = recordManagerStates(coord.url, alice, uuid, out);
    let seen: string[] = [];
    const suite = await createSuite(coord.url, alice, {
      tags: ["gpu", "linux"],
      worker_count: 4,
      task_prefetch_count: 16,
      // Each hook lasts until the coordinator has been seen showing its state.
      env_preparation: {
        args: [
          "bash",
          "-c",
          `echo 'Setup complete' && until [ -e ${out}/seen-Preparing ]; do sleep 0.05; done && ` +
          `echo "prep $TEST_ENV" >> ${out}/order`,
        ],
        envs: { TEST_ENV: "value" },
        timeout: "1m",
      },
      env_cleanup: {
        args: [
          "bash",
          "-c",
          `echo 'Cleanup complete' && until [ -e ${out}/seen-Cleanup ]; do sleep 0.05; done && ` +
          `echo cleanup >> ${out}/order`,
        ],
        timeout: "1m",
      },
    });
    const tasks = await submit(
      coord.url,
      alice,
      suite,
      Array.from({ length: 100 }, () => [
        "sh",
        "-c",
        `echo "task $MITO_TASK_UUID $TEST_ENV $MITOSIS_WORKER_LOCAL_ID" >> ${out}/order`,
      ]),
    );

    try {
      await suiteComplete(coord.url, alice, suite);
      await managerIdle(coord.url, alice, uuid);
    } finally {
      seen = await states.stop();
    }
    // The coordinator saw every state, in order (the hooks make Preparing and Cleanup last until seen).
    assertEquals(seen, ["Idle", "Preparing", "Executing", "Cleanup", "Idle"]);
    assertEquals(await transitionsUntilIdle(manager, suite), [...ONE_RUN]);

    // The seed's SQL validation.
    const [row] = await coord.sql<{ state: number; total_tasks: string; pending_tasks: string; completed: boolean }[]>`
      SELECT state, total_tasks, pending_tasks, completed_at IS NOT NULL AS completed FROM task_suites
      WHERE uuid = ${suite}`;
    assertEquals([row.state, Number(row.total_tasks), Number(row.pending_tasks), row.completed], [2, 100, 0, true]);
    const active = await coord.sql`SELECT 1 FROM active_tasks t JOIN task_suites s ON s.id = t.task_suite_id
      WHERE s.uuid = ${suite}`;
    assertEquals(active.length, 0);
    const archived = await coord.sql<{ uuid: string; state: number; exit_status: number }[]>`
      SELECT t.uuid, t.state, (t.result->>'exit_status')::int AS exit_status FROM archived_tasks t
      JOIN task_suites s ON s.id = t.task_suite_id WHERE s.uuid = ${suite}`;
    assertEquals(archived.length, 100);
    for (const task of archived) assertEquals([task.state, task.exit_status], [TaskStateCode.Finished, 0]);
    const [managerRow] = await coord.sql<{ state: number; assigned: string | null }[]>`
      SELECT state, assigned_task_suite_id AS assigned FROM node_managers WHERE uuid = ${uuid}`;
    assertEquals([managerRow.state, managerRow.assigned], [0, null]);

    // Hooks in order around the tasks; every task ran exactly once, with the suite env, on all 4 workers.
    const lines = await appendedLines(`${out}/order`);
    assertEquals(lines.length, 102, lines.join("\n"));
    assertEquals(lines[0], "prep value");
    assertEquals(lines[101], "cleanup");
    const runs = lines.slice(1, 101).map((line) => line.split(" "));
    assertEquals([...countBy(runs.map((r) => r[1])).values()].every((n) => n === 1), true);
    assertEquals(new Set(runs.map((r) => r[1])), new Set(tasks));
    assertEquals(new Set(runs.map((r) => r[2])), new Set(["value"]));
    assertEquals(new Set(runs.map((r) => r[3])), new Set(["0", "1", "2", "3"]));
    const spawned = manager.logs().filter((l) => l.msg === "managed worker spawned");
    const connected = manager.logs().filter((l) => l.msg === "managed worker connected");
    assertEquals([spawned.length, connected.length], [4, 4]);
    assertIncludes(manager.stdout() + manager.stderr(), "Setup complete");
    assertIncludes(manager.stdout() + manager.stderr(), "Cleanup complete");

    // No orphaned process: no worker, hook or task of the suite is alive.
    assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

test("8.1.2: a preparation script stored in S3 is downloaded before the hook runs; its envs reach the tasks", async () => {
  await using s3 = await startS3();
  const { coord, alice } = await setupSuites(s3.coordinatorConfig());
  await using _coord = coord;
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-suite-" });
  try {
    // The script writes a data file into DATA_DIR; the tasks read it from there.
    const script = new TextEncoder().encode(
      `set -e\nmkdir -p "$DATA_DIR"\necho "prepared by $0 for $MITOSIS_TASK_SUITE_UUID" > "$DATA_DIR/input"\n` +
        `ls -l setup.sh > ${out}/listing\n`,
    );
    const grant = await call(coord.url, "POST", "/groups/alice/attachments", {
      token: alice,
      body: { key: "suite-resources/setup.sh", content_length: script.length },
    });
    assertEquals(grant.status, 200, grant.text);
    const uploadUrl = (grant.body as { url: string }).url;
    assertTrue(uploadUrl.startsWith(s3.url), `an S3 URL: ${uploadUrl}`);
    const put = await fetch(uploadUrl, { method: "PUT", body: script });
    await put.body?.cancel();
    assertEquals(put.status, 200);

    const dataDir = `${out}/suite-data`;
    const suite = await createSuite(coord.url, alice, {
      worker_count: 2,
      env_preparation: {
        args: ["bash", "setup.sh"],
        envs: { DATA_DIR: dataDir },
        resources: [{ remote_file: { Attachment: { key: "suite-resources/setup.sh" } }, local_path: "setup.sh" }],
        timeout: "5m",
      },
    });
    await submit(
      coord.url,
      alice,
      suite,
      Array.from({ length: 4 }, () => ["sh", "-c", `cat "$DATA_DIR/input" >> ${out}/seen`]),
    );
    await using manager = await spawnManager(coord.url, ALICE);
    await eventually(
      "the suite to complete",
      async () => (await getSuite(coord.url, alice, suite)).state_name === "Complete",
      120_000,
    );
    assertEquals(await appendedLines(`${out}/seen`), Array(4).fill(`prepared by setup.sh for ${suite}`));
    // Downloaded into the suite's work dir with the size it was uploaded with.
    const listing = await Deno.readTextFile(`${out}/listing`);
    assertIncludes(listing, ` ${script.length} `);
    const hooksLog = await Deno.readTextFile(`${manager.stateDir}/suites/${suite}/hooks.log`);
    assertIncludes(hooksLog, "preparation hook succeeded");
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

test("8.1.3: a suite auto-closes while its tasks run, reopens on new tasks, and the manager runs those too", async () => {
  const { coord, alice } = await setupSuites({ suite_auto_close: 1_000 });
  await using _coord = coord;
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-suite-" });
  try {
    const suite = await createSuite(coord.url, alice, {
      worker_count: 2,
      env_preparation: { args: ["sh", "-c", `echo prep >> ${out}/order`] },
      env_cleanup: { args: ["sh", "-c", `echo cleanup >> ${out}/order`] },
    });
    // Tasks take 0.5 s until the second batch is in (the first is still running when the suite closes and when the
    // second arrives), no time after.
    const slow = (n: number, tag: string) =>
      Array.from(
        { length: n },
        () => ["sh", "-c", `[ -e ${out}/fast ] || sleep 0.5; echo "${tag} $MITO_TASK_UUID" >> ${out}/order`],
      );
    const first = await submit(coord.url, alice, suite, slow(10, "first"));
    await using manager = await spawnManager(coord.url, { ...ALICE, args: ["--max-workers", "2"] });
    const uuid = await manager.waitConnected();

    // No new task for 1 s while the first ten run: Closed, with work still pending.
    const closed = await eventually(
      "the suite to close",
      async () => {
        const info = await getSuite(coord.url, alice, suite);
        return info.state_name === "Closed" && info;
      },
      30_000,
      50,
    );
    assertTrue(closed.pending_tasks > 0, `pending when closed: ${closed.pending_tasks}`);
    // A closed suite with pending work is still run (on a loaded machine the manager may still be preparing when the
    // suite closes, so this waits for it rather than sampling the moment of closing).
    await eventually(
      "the manager to execute the closed suite",
      async () => (await getManager(coord.url, alice, uuid)).state === "Executing",
      30_000,
      50,
    );

    // New tasks reopen it; the same execution takes them (no second preparation).
    const second = await submit(coord.url, alice, suite, slow(10, "second"));
    const reopened = await getSuite(coord.url, alice, suite);
    assertEquals([reopened.state_name, reopened.total_tasks], ["Open", 20]);
    await Deno.writeTextFile(`${out}/fast`, "");
    await eventually(
      "the suite to complete",
      async () => (await getSuite(coord.url, alice, suite)).state_name === "Complete",
      120_000,
    );
    await managerIdle(coord.url, alice, uuid);

    // Complete → Open on a submission after completion; the manager takes the suite again.
    const third = await submit(coord.url, alice, suite, slow(4, "third"));
    assertEquals((await getSuite(coord.url, alice, suite)).state_name, "Open");
    const done = await suiteComplete(coord.url, alice, suite, 120_000, "the suite to complete again");
    assertEquals([done.total_tasks, done.pending_tasks], [24, 0]);

    const lines = await appendedLines(`${out}/order`);
    const ran = lines.filter((l) => !["prep", "cleanup"].includes(l));
    assertEquals(ran.length, 24, lines.join("\n"));
    assertEquals(new Set(ran.map((l) => l.split(" ")[1])), new Set([...first, ...second, ...third]));
    await eventually("the second cleanup", async () => (await appendedLines(`${out}/order`)).at(-1) === "cleanup");
    const hooks = (await appendedLines(`${out}/order`)).filter((l) => ["prep", "cleanup"].includes(l));
    assertEquals(hooks, ["prep", "cleanup", "prep", "cleanup"]);
    assertEquals(transitions(manager.logs(), suite).filter((t) => t === "Idle→Preparing").length, 2);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

test("cancelling a suite with cancel_running_tasks reaches the workers: running tasks killed, the rest archived", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  const marker = uniqueSleep(120);
  const suite = await createSuite(coord.url, alice, { worker_count: 2 });
  const tasks = await submit(coord.url, alice, suite, Array.from({ length: 6 }, () => ["sleep", marker]));
  await using manager = await spawnManager(coord.url, { ...ALICE, args: ["--max-workers", "2"] });
  const uuid = await manager.waitConnected();
  await eventually("two tasks to run", async () => (await livingProcesses(`sleep ${marker}`)).length >= 2);

  const res = await call(coord.url, "POST", `/suites/${suite}/cancel`, {
    token: alice,
    body: { reason: "wrong dataset", cancel_running_tasks: true },
  });
  assertEquals(res.status, 200, res.text);
  await managerIdle(coord.url, alice, uuid);
  assertEquals(await livingProcesses(`sleep ${marker}`), []);
  assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), []);
  // Every task is archived Cancelled; none is left active or ran to completion.
  const rows = await eventually("every task archived", async () => {
    const archived = await coord.sql<{ uuid: string; state: number }[]>`
      SELECT uuid, state FROM archived_tasks WHERE uuid = ANY(${tasks}::uuid[])`;
    return archived.length === tasks.length && archived;
  }, 30_000);
  for (const row of rows) assertEquals(row.state, TaskStateCode.Cancelled);
  assertEquals((await getSuite(coord.url, alice, suite)).state_name, "Cancelled");
  assertEquals(manager.logs().filter((l) => l.msg === "cancelling a running task: terminating its worker").length, 2);
  assertEquals(await manager.stop(), 0);
});

test("a managed task with watch starts once the watched task has finished; an unknown one ends in WatchTimeout", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-suite-" });
  try {
    const suite = await createSuite(coord.url, alice, { worker_count: 2 });
    const [watched] = await submit(coord.url, alice, suite, [["sh", "-c", `sleep 2; echo watched >> ${out}/order`]]);
    const submitWatching = async (target: string) => {
      const res = await call(coord.url, "POST", "/tasks", {
        token: alice,
        body: {
          group_name: "alice",
          suite_uuid: suite,
          timeout: "2m",
          task_spec: { args: ["sh", "-c", `echo watcher >> ${out}/order`], watch: [target, "ExecFinished"] },
        },
      });
      assertEquals(res.status, 200, res.text);
      return (res.body as { uuid: string }).uuid;
    };
    const watcher = await submitWatching(watched);
    const orphan = await submitWatching(crypto.randomUUID());
    await using manager = await spawnManager(coord.url, { ...ALICE, args: ["--max-workers", "2"] });
    await eventually(
      "the suite to complete",
      async () => (await getSuite(coord.url, alice, suite)).state_name === "Complete",
      120_000,
    );
    // The watcher ran on the other worker while the watched task was still sleeping, and waited for it.
    assertEquals(await appendedLines(`${out}/order`), ["watched", "watcher"]);
    const results = new Map(
      (await coord.sql<{ uuid: string; exit_status: number; msg: string | null }[]>`
        SELECT uuid, (result->>'exit_status')::int AS exit_status, result->>'msg' AS msg FROM archived_tasks
        WHERE uuid = ANY(${[watched, watcher, orphan]}::uuid[])`).map((r) => [r.uuid, [r.exit_status, r.msg]]),
    );
    assertEquals(results.get(watched), [0, null]);
    assertEquals(results.get(watcher), [0, null]);
    assertEquals(results.get(orphan), [0, "WatchTimeout"]);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

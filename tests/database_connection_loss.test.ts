/**
 * Seed 8.3.5 on real processes (`support/db_outage.ts`): the coordinator
 * loses PostgreSQL mid-suite — its connections cut through a TCP proxy, or
 * stalled as `iptables -j DROP` would — for a few seconds. Meanwhile REST
 * clients get 503 `{"msg"}` within a bounded time, the manager's WebSocket
 * stays open (its requests answered `Error` and retried), and the outage is
 * logged once at each end; afterwards the suite completes with every task
 * run exactly once, archived Finished, and no task reclaimed although the
 * outage outlasted the manager heartbeat timeout's slack.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { type DbOutageResult, logged, type OutageMode, runDatabaseOutage } from "./support/db_outage.ts";
import { countBy } from "./support/suites.ts";
import { test } from "./support/test.ts";
import { DATABASE_NO_ANSWER_MESSAGE, DATABASE_UNAVAILABLE_MESSAGE } from "../shared/errors.ts";
import { TaskStateCode } from "../shared/wire/tasks.ts";

const OUTAGE_MESSAGES = [DATABASE_UNAVAILABLE_MESSAGE, DATABASE_NO_ANSWER_MESSAGE];

/** The assertions both modes share; `maxCallMs` bounds each 503's latency. */
function assertSurvived(r: DbOutageResult, maxCallMs: number): void {
  // REST during the outage: 503 {msg}, never a 500 or a hang.
  const during = r.calls.filter((c) => c.endedDuringOutage);
  assertTrue(during.length >= 3, `calls answered during the outage: ${during.length}`);
  for (const call of during) {
    assertEquals(call.status, 503, JSON.stringify(call));
    assertTrue(OUTAGE_MESSAGES.includes(call.msg ?? ""), JSON.stringify(call));
    assertTrue(call.ms < maxCallMs, `${call.method} ${call.path} answered in ${call.ms} ms`);
  }
  assertEquals(r.calls.filter((c) => c.status === 500 || c.status === 0), [], "500s or unanswered calls");

  // The coordinator logged the outage once at each end, and nothing as an error.
  const lost = logged(r.coordinatorLogs, "database connection lost");
  assertEquals(lost.length, 1, JSON.stringify(lost));
  const restored = logged(r.coordinatorLogs, "database connection restored");
  assertEquals(restored.length, 1);
  assertTrue((restored[0].outage_ms as number) >= r.outageMs - 1_000, JSON.stringify(restored[0]));
  assertEquals(r.coordinatorLogs.filter((l) => l.level === "error"), []);
  assertEquals(r.coordinatorLogs.filter((l) => l.msg === "database unavailable; request answered 503"), []);

  // The manager's WebSocket stayed open: one connection, never lost; the manager retried what failed.
  assertEquals(logged(r.coordinatorLogs, "manager connected").length, 1);
  assertEquals(
    logged(r.coordinatorLogs, "manager disconnected").map((l) => l.code),
    [1000],
    "disconnected only when it stopped",
  );
  for (const msg of ["WebSocket connection lost", "WebSocket reconnected", "dropping the WebSocket connection"]) {
    assertEquals(logged(r.managerLogs, msg), [], msg);
  }
  assertEquals(r.managerExitCode, 0);
  assertEquals(logged(r.managerLogs, "suite reclaimed by the coordinator; stopping its work"), []);
  assertEquals(
    logged(r.coordinatorLogs, "manager heartbeat timed out; Offline, suite released, its tasks back to Ready"),
    [],
  );

  // Nothing acknowledged lost, nothing run twice.
  assertEquals(r.suiteState, "Complete");
  assertEquals(r.active, 0);
  const twice = [...countBy(r.finished)].filter(([, n]) => n > 1);
  assertEquals(twice, [], "tasks run to completion twice");
  const finished = new Set(r.finished);
  assertEquals(r.acknowledged.filter((uuid) => !finished.has(uuid)), [], "acknowledged tasks that never ran");
  // A submission answered 503 may still have been applied (its commit sent before the loss): at most one each.
  const extra = r.finished.filter((uuid) => !r.acknowledged.includes(uuid));
  const refusedSubmits = r.calls.filter((c) => c.method === "POST" && c.status === 503).length;
  assertTrue(extra.length <= refusedSubmits, `${extra.length} unacknowledged tasks ran; ${refusedSubmits} refused`);
  assertEquals(new Set(r.archived.map((t) => t.uuid)), finished);
  for (const task of r.archived) assertEquals([task.state, task.exit_status], [TaskStateCode.Finished, 0]);
  assertTrue(r.recoveryMs !== null && r.recoveryMs < 15_000, `first claim after the restore: ${r.recoveryMs} ms`);
}

async function scenario(mode: OutageMode, tasks: number, outageMs: number): Promise<DbOutageResult> {
  const dir = await Deno.makeTempDir({ prefix: `mitosis-test-dbloss-${mode}-` });
  try {
    return await runDatabaseOutage({ mode, tasks, outageMs, dir });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

test("8.3.5: connections to PostgreSQL cut for 5 s mid-suite: 503 at once, WebSocket kept, suite completes, each task once", async () => {
  const r = await scenario("cut", 200, 5_000);
  assertSurvived(r, 3_000);
  // The manager's failed requests were answered Error and sent again with a backoff.
  const fetchRetries = logged(r.managerLogs, "task fetch failed; retrying");
  assertTrue(fetchRetries.length >= 2, `fetch retries: ${fetchRetries.length}`);
  const pauses = fetchRetries.map((l) => l.retry_in_ms as number);
  assertTrue(pauses.at(-1)! > pauses[0], `growing pauses: ${pauses}`);
});

test("8.3.5: PostgreSQL silent for 6 s (packets held back, as iptables DROP): 503 within the bound, suite completes", async () => {
  const r = await scenario("stall", 100, 6_000);
  // The availability tracker's stallMs (3 s) + probe timeout (2 s), plus slack.
  assertSurvived(r, 8_000);
});

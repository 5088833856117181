/**
 * Seed 8.3.5 on real processes (`support/db_outage.ts`): the coordinator
 * loses PostgreSQL mid-suite — its connections cut through a TCP proxy and
 * new ones refused, or stalled as `iptables -j DROP` would — for a few
 * seconds, longer than the manager heartbeat timeout's slack. Meanwhile
 * REST clients get 503 `{"msg"}` within a bounded time, the manager's
 * WebSocket stays open (its requests answered `Error` and retried), and the
 * outage is logged once at each end; afterwards the suite completes with
 * every acknowledged task run exactly once and archived Finished, and the
 * manager neither reaped nor its suite reclaimed.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { type OutageMode, type OutageSummary, runDatabaseOutage, summarizeOutage } from "./support/db_outage.ts";
import { test } from "./support/test.ts";

/** Runs the scenario in a temporary directory; returns its summary and the loss and recovery times. */
async function scenario(mode: OutageMode, tasks: number, outageMs: number) {
  const dir = await Deno.makeTempDir({ prefix: `mitosis-test-dbloss-${mode}-` });
  try {
    const result = await runDatabaseOutage({ mode, tasks, outageMs, dir });
    assertEquals([result.suiteState, result.active, result.managerExitCode], ["Complete", 0, 0]);
    return { s: summarizeOutage(result), outageMs: result.outageMs, recoveryMs: result.recoveryMs };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What both kinds of loss must show; `maxCallMs` bounds each 503. */
function assertSurvived(s: OutageSummary, outageMs: number, recoveryMs: number | null, maxCallMs: number): void {
  // REST during the loss: 503 {msg}, never a 500 or a hang.
  assertTrue(s.callsDuringLoss >= 3, `calls answered during the loss: ${s.callsDuringLoss}`);
  assertEquals(s.otherAnswers, []);
  assertEquals(s.failedCalls, []);
  assertTrue(s.max503Ms < maxCallMs, `slowest 503: ${s.max503Ms} ms`);
  // The coordinator logged the outage once at each end (the restored line measuring it), and no error.
  assertEquals([s.lostLines, s.restoredLines, s.coordinatorErrors], [1, 1, 0]);
  assertTrue(s.loggedOutageMs! >= outageMs - 1_000, `logged outage ${s.loggedOutageMs} ms, loss ${outageMs} ms`);
  // The manager's WebSocket stayed open; it was neither reaped nor reclaimed.
  assertEquals([s.wsConnects, s.wsUnexpectedCloses, s.wsManagerLosses], [1, 0, 0]);
  assertEquals([s.reaped, s.reclaimed], [0, 0]);
  // Nothing acknowledged lost, nothing run twice; a submission answered 503 may still have been applied (once).
  assertEquals([s.lost, s.duplicates, s.notFinished], [[], [], 0]);
  assertTrue(s.unacknowledged.length <= s.refusedSubmits, `${s.unacknowledged.length} ran unacknowledged`);
  assertTrue(recoveryMs !== null && recoveryMs < 15_000, `first claim ${recoveryMs} ms after the restore`);
}

test("8.3.5: connections to PostgreSQL cut and refused for 5 s mid-suite: 503 at once, WebSocket kept, each task once", async () => {
  const { s, outageMs, recoveryMs } = await scenario("cut", 200, 5_000);
  assertSurvived(s, outageMs, recoveryMs, 3_000);
  // The manager's failed fetches were answered Error and retried with growing pauses.
  assertTrue(s.fetchRetries >= 2, `fetch retries: ${s.fetchRetries}`);
  assertTrue(s.fetchPausesMs.at(-1)! > s.fetchPausesMs[0], `pauses: ${s.fetchPausesMs}`);
});

test("8.3.5: PostgreSQL silent for 6 s (packets held back, as iptables DROP): 503 within the bound, each task once", async () => {
  const { s, outageMs, recoveryMs } = await scenario("stall", 100, 6_000);
  // The availability tracker's stallMs (3 s) + probe timeout (2 s), plus slack.
  assertSurvived(s, outageMs, recoveryMs, 8_000);
});

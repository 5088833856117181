/**
 * The chaos acceptance case's verdict (acceptance/support/chaos_checks.ts)
 * on made-up runs: what counts as a lost task, a result committed twice, a
 * repeated execution and its cause, and how each fault's recovery is read.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { type ChaosFacts, chaosVerdict } from "../acceptance/support/chaos_checks.ts";
import { parseEvidence } from "../acceptance/support/chaos_evidence.ts";
import { TaskStateCode } from "../shared/wire/tasks.ts";

const M = "00000000-0000-4000-8000-00000000000a";
const W = "00000000-0000-4000-8000-00000000000b";
const T = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

/** Evidence lines: [kind, seconds, task, execution]. */
function evidence(file: string, lines: [string, number, string, string][]) {
  return parseEvidence(file, lines.map(([kind, at, task, id]) => `${kind} ${at}.000000 ${task} ${id}`).join("\n"));
}

function facts(overrides: Partial<ChaosFacts>): ChaosFacts {
  return {
    suiteTasks: [T(1), T(2)],
    standaloneTasks: [T(3)],
    archived: [
      { uuid: T(1), state: TaskStateCode.Finished, exit_status: 0, reporter: M },
      { uuid: T(2), state: TaskStateCode.Finished, exit_status: 0, reporter: M },
      { uuid: T(3), state: TaskStateCode.Finished, exit_status: 0, reporter: W },
    ],
    active: [],
    duplicateRows: 0,
    failuresRecorded: 0,
    suite: { state: "Complete", total: 2, pending: 0 },
    executions: [
      ...evidence(`m_${M}_0_100`, [["start", 10, T(1), "a"], ["end", 11, T(1), "a"]]),
      ...evidence(`m_${M}_1_101`, [["start", 10, T(2), "b"], ["end", 11, T(2), "b"]]),
      ...evidence("w_iw0", [["start", 10, T(3), "c"], ["end", 11, T(3), "c"]]),
    ],
    independentNames: new Map([[W, "iw0"]]),
    faults: [],
    hang: null,
    orphans: [],
    orphanText: "",
    crashes: [],
    uncleanStops: [],
    coordinatorLogs: [],
    managerNames: new Map([[M, "manager-0"]]),
    durations: { totalMs: 60_000, scheduleMs: 30_000, drainMs: 10_000 },
    ...overrides,
  };
}

Deno.test("chaos verdict: a clean run passes with no loss, no double commit and no repeat", () => {
  const verdict = chaosVerdict(facts({}));
  assertEquals(verdict.failures, []);
  assertEquals([verdict.figures.tasks_lost, verdict.figures.results_committed_twice], [0, 0]);
  assertEquals(verdict.figures.executions_repeated, 0);
});

Deno.test("chaos verdict: unarchived, failed and never-run tasks are lost; a result without its execution is a double commit", () => {
  const verdict = chaosVerdict(facts({
    archived: [
      { uuid: T(2), state: TaskStateCode.Finished, exit_status: 1, reporter: M },
      // Committed by the independent worker although only the manager's worker ran it to its end.
      { uuid: T(1), state: TaskStateCode.Finished, exit_status: 0, reporter: W },
    ],
    active: [{ uuid: T(3), state: TaskStateCode.Running, manager: null, worker: W }],
  }));
  assertEquals(verdict.figures.tasks_lost, 2); // T(3) not archived, T(2) exit 1
  assertEquals(verdict.figures.results_committed_twice, 1); // T(1)
  assertTrue(verdict.failures.includes("2 tasks lost"), verdict.failures.join("; "));
  assertTrue(verdict.failures.includes("1 results committed twice"), verdict.failures.join("; "));
});

Deno.test("chaos verdict: repeats are put down to the fault before them; before any fault only an unplanned Offline explains one", () => {
  const fault = {
    index: 1,
    kind: "worker-kill",
    label: "kill",
    injectedAt: 20_000,
    parties: [{ label: "slot", at: 22_000 }],
    notes: [],
    pendingAtInjection: { suite: 1, standalone: 0 },
  };
  const executions = [
    ...evidence(`m_${M}_0_100`, [["start", 5, T(1), "a"], ["start", 15, T(2), "b"], ["end", 16, T(2), "b"]]),
    // T(1) again after the fault (its first run killed midway), T(2) again before it.
    ...evidence(`m_${M}_0_200`, [
      ["start", 17, T(2), "d"],
      ["end", 18, T(2), "d"],
      ["start", 21, T(1), "c"],
      ["end", 21, T(1), "c"],
    ]),
    ...evidence("w_iw0", [["start", 10, T(3), "e"], ["end", 11, T(3), "e"]]),
  ];
  const unexplained = chaosVerdict(facts({ faults: [fault], executions }));
  assertEquals(unexplained.figures.executions_repeated, 2);
  assertEquals(unexplained.figures.executions_repeated_after_kill, 1);
  assertTrue(unexplained.failures.includes("1 executions repeated before any fault"), unexplained.failures.join("; "));
  assertEquals(unexplained.figures["fault1_worker-kill_recovery_s"], 2);

  // A heartbeat timeout logged before the repeat, outside any fault: reported, not failed.
  const coordinatorLogs = [{
    ts: new Date(16_500).toISOString(),
    msg: "manager heartbeat timed out; Offline, suite released, its tasks back to Ready",
    manager: M,
  }];
  const explained = chaosVerdict(facts({ faults: [fault], executions, coordinatorLogs }));
  assertEquals(explained.failures, []);
  assertEquals(explained.figures.unplanned_offline_markings, 1);
});

Deno.test("chaos verdict: a fault some party never recovered from is reported without a recovery time", () => {
  const verdict = chaosVerdict(facts({
    faults: [{
      index: 1,
      kind: "db-restart",
      label: "restart",
      injectedAt: 20_000,
      parties: [{ label: "manager-0 commits", at: 23_000 }, { label: "an independent worker commits", at: null }],
      notes: [],
      pendingAtInjection: { suite: 1, standalone: 1 },
    }],
    hang: "fault 1: no recovery",
  }));
  assertEquals(verdict.figures["fault1_db-restart_recovery_s"], "not recovered");
  assertTrue(verdict.failures.includes("fault 1: no recovery"));
});

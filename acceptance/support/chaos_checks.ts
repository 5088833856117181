/**
 * The chaos case's verdict: from what the database holds at the end, the
 * tasks' execution evidence (`chaos_evidence.ts`) and the record of each
 * fault, the checks (one line each, with the observed values), the figures
 * and the reasons to fail.
 *
 * - **Lost**: a task accepted at submission that is not archived, archived
 *   other than Finished with exit 0, or archived without any execution
 *   that ran to its end.
 * - **Committed twice**: `archived_tasks` holds one row per task (UNIQUE
 *   (uuid)) and a commit moves the task out of `active_tasks` in the same
 *   statement, so a second commit would show as a second row, a task both
 *   archived and active, or a result recorded for a reporter none of whose
 *   executions of the task finished (the result of another execution).
 * - **Repeated executions** are allowed after a fault and counted, each put
 *   down to the last fault injected before it started; one before any fault
 *   is a failure, unless a manager had been marked Offline by then outside
 *   any fault (a heartbeat timeout on a starved machine: reported).
 * - **Recovery** per fault: from the injection until every party it touched
 *   committed again (see the case for each fault's parties).
 */
import { byTask, type Execution } from "./chaos_evidence.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";

/** A fault as the verdict sees it. */
export interface FaultOutcome {
  index: number;
  kind: string;
  label: string;
  injectedAt: number;
  /** Each party and when it recovered (null: not within the timeout). */
  parties: { label: string; at: number | null }[];
  notes: string[];
  pendingAtInjection: { suite: number; standalone: number };
}

/** An archived task row. */
export interface ArchivedRow {
  uuid: string;
  state: number;
  exit_status: number | null;
  reporter: string | null;
}

/** A task still in `active_tasks`, with its holder. */
export interface ActiveRow {
  uuid: string;
  state: number;
  manager: string | null;
  worker: string | null;
}

/** Everything the verdict is made from. */
export interface ChaosFacts {
  suiteTasks: string[];
  standaloneTasks: string[];
  archived: ArchivedRow[];
  active: ActiveRow[];
  /** Uuids with more than one `archived_tasks` row. */
  duplicateRows: number;
  /** Sum of `task_execution_failures.failure_count`. */
  failuresRecorded: number;
  suite: { state: string; total: number; pending: number } | null;
  executions: Execution[];
  /** Independent worker uuid → its `CHAOS_WORKER` name. */
  independentNames: Map<string, string>;
  faults: FaultOutcome[];
  /** Why the schedule stopped early (a fault without recovery), or null. */
  hang: string | null;
  orphans: number[];
  orphanText: string;
  crashes: string[];
  uncleanStops: string[];
  /** JSON log lines of every coordinator process. */
  coordinatorLogs: Record<string, unknown>[];
  /** Manager uuid → name, for messages. */
  managerNames: Map<string, string>;
  durations: { totalMs: number; scheduleMs: number; drainMs: number };
}

/** The verdict. */
export interface ChaosVerdict {
  checks: string[];
  figures: Record<string, number | string>;
  /** Reasons to fail; empty when the case passes. */
  failures: string[];
}

/** Seconds with one decimal. */
export function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

/** " e.g. a, b, c" for a non-empty list. */
function sample(list: string[]): string {
  return list.length === 0 ? "" : ` e.g. ${list.slice(0, 3).join(", ")}`;
}

/** Judges a run; see the module comment. */
export function chaosVerdict(f: ChaosFacts): ChaosVerdict {
  const runs = byTask(f.executions);
  const archivedBy = new Map(f.archived.map((a) => [a.uuid, a]));
  const activeUuids = new Set(f.active.map((a) => a.uuid));
  const submitted = [...f.suiteTasks, ...f.standaloneTasks];

  const notArchived: string[] = [];
  const notFinished: string[] = [];
  const neverRan: string[] = [];
  const unbacked: string[] = [];
  for (const task of submitted) {
    const row = archivedBy.get(task);
    if (row === undefined) {
      notArchived.push(task);
      continue;
    }
    if (row.state !== TaskStateCode.Finished || row.exit_status !== 0) notFinished.push(task);
    const finished = (runs.get(task) ?? []).filter((e) => e.end !== null);
    if (finished.length === 0) {
      neverRan.push(task);
      continue;
    }
    const byReporter = (e: Execution) =>
      e.runner.kind === "managed"
        ? e.runner.managerUuid === row.reporter
        : e.runner.name === f.independentNames.get(row.reporter ?? "");
    if (!finished.some(byReporter)) unbacked.push(task);
  }
  const lost = new Set([...notArchived, ...notFinished, ...neverRan]);
  const inBoth = submitted.filter((t) => archivedBy.has(t) && activeUuids.has(t));
  const committedTwice = f.duplicateRows + inBoth.length + unbacked.length;

  const repeatsByFault = new Map<number, { repeats: number; afterKill: number }>();
  let repeats = 0;
  let repeatsAfterKill = 0;
  let completedTwice = 0;
  for (const list of runs.values()) {
    for (let i = 1; i < list.length; i++) {
      const cause = f.faults.findLast((fault) => fault.injectedAt <= list[i].start)?.index ?? 0;
      const entry = repeatsByFault.get(cause) ?? { repeats: 0, afterKill: 0 };
      entry.repeats++;
      repeats++;
      if (list[i - 1].end === null) {
        entry.afterKill++;
        repeatsAfterKill++;
      }
      repeatsByFault.set(cause, entry);
    }
    if (list.filter((e) => e.end !== null).length > 1) completedTwice++;
  }
  // Managers marked Offline (heartbeat timeout) outside every fault's window, e.g. starved on a loaded machine:
  // a repeat before the first fault is explained by one of these, and none else.
  const windows = f.faults.map((fault) => {
    const ends = fault.parties.map((p) => p.at);
    return {
      from: fault.injectedAt,
      to: ends.includes(null) ? Infinity : Math.max(fault.injectedAt, ...ends as number[]),
    };
  });
  const unplannedOffline = f.coordinatorLogs
    .filter((l) => l.msg === "manager heartbeat timed out; Offline, suite released, its tasks back to Ready")
    .map((l) => ({ at: Date.parse(String(l.ts)), manager: String(l.manager) }))
    .filter((o) => !windows.some((w) => o.at >= w.from && o.at <= w.to));
  let unexplainedRepeats = 0;
  let repeatsAfterUnplanned = 0;
  for (const list of runs.values()) {
    for (let i = 1; i < list.length; i++) {
      if (f.faults.some((fault) => fault.injectedAt <= list[i].start)) continue;
      if (unplannedOffline.some((o) => o.at <= list[i].start)) repeatsAfterUnplanned++;
      else unexplainedRepeats++;
    }
  }

  const refusedReports =
    f.coordinatorLogs.filter((l) => typeof l.msg === "string" && l.msg.startsWith("task report refused")).length;
  const errorLines = f.coordinatorLogs.filter((l) => l.level === "error");

  const figures: Record<string, number | string> = {
    total_s: seconds(f.durations.totalMs),
    schedule_s: seconds(f.durations.scheduleMs),
    drain_s: seconds(f.durations.drainMs),
    tasks_submitted: submitted.length,
    tasks_lost: lost.size,
    results_committed_twice: committedTwice,
    executions: f.executions.length,
    executions_repeated: repeats,
    executions_repeated_after_kill: repeatsAfterKill,
    tasks_completed_more_than_once: completedTwice,
    reports_refused_by_coordinators: refusedReports,
    worker_crashes_recorded: f.failuresRecorded,
    coordinator_error_log_lines: errorLines.length,
    unplanned_offline_markings: unplannedOffline.length,
    orphan_processes: f.orphans.length,
  };
  const faultLines: string[] = [];
  let worst = 0;
  for (const fault of f.faults) {
    const complete = fault.parties.every((p) => p.at !== null);
    const recovery = complete ? seconds(Math.max(...fault.parties.map((p) => p.at!)) - fault.injectedAt) : null;
    if (recovery !== null) worst = Math.max(worst, recovery);
    figures[`fault${fault.index}_${fault.kind}_recovery_s`] = recovery ?? "not recovered";
    const parties = fault.parties.map((p) =>
      `${p.label} ${p.at === null ? "never" : `+${seconds(p.at - fault.injectedAt)} s`}`
    ).join(", ");
    const repeated = repeatsByFault.get(fault.index) ?? { repeats: 0, afterKill: 0 };
    faultLines.push(
      `fault ${fault.index}, ${fault.label}: recovery ${recovery === null ? "none" : `${recovery} s`} ` +
        `(${parties}); ${fault.notes.join("; ")}; pending then ${fault.pendingAtInjection.suite} suite / ` +
        `${fault.pendingAtInjection.standalone} standalone; executions repeated after it ${repeated.repeats} ` +
        `(${repeated.afterKill} after one killed midway)`,
    );
  }
  figures.worst_recovery_s = worst;

  const stuck = f.active.slice(0, 5).map((a) =>
    `${a.uuid} state ${a.state} held by ${a.manager ? `manager ${a.manager}` : a.worker ? `worker ${a.worker}` : "-"}`
  );
  const idleFaults = f.faults.filter((fault) => fault.pendingAtInjection.suite === 0);
  const checks = [
    `tasks lost: ${lost.size} of ${submitted.length} submitted (expected 0): not archived ${notArchived.length}` +
    `${sample(notArchived)}; archived but not Finished with exit 0 ${notFinished.length}${sample(notFinished)}; ` +
    `archived without any execution that ran to its end ${neverRan.length}${sample(neverRan)}`,
    `results committed twice: ${committedTwice} (expected 0): uuids with two archived_tasks rows ` +
    `${f.duplicateRows} (UNIQUE (uuid) forbids them); tasks both archived and still active ${inBoth.length}; ` +
    `results recorded for a reporter none of whose executions of the task finished ${unbacked.length}` +
    `${sample(unbacked)}; later reports of committed tasks refused by the coordinators: ${refusedReports}`,
    `executions repeated (allowed after a fault): ${repeats} of ${f.executions.length} executions, ` +
    `${repeatsAfterKill} after an execution killed midway, ${completedTwice} tasks ran to their end more than ` +
    `once (the later results refused); repeats before any fault: ${unexplainedRepeats} (expected 0), plus ` +
    `${repeatsAfterUnplanned} after an unplanned Offline marking`,
    `managers marked Offline outside the faults (heartbeat timeout with no fault under way): ` +
    `${unplannedOffline.length}${
      unplannedOffline.length > 0
        ? ` (${
          unplannedOffline.map((o) =>
            `${f.managerNames.get(o.manager) ?? o.manager} at ${new Date(o.at).toISOString()}`
          )
            .join(", ")
        })`
        : ""
    }`,
    `suite ${f.suite?.state ?? "unknown"} with ${f.suite?.total ?? "?"} tasks, ${f.suite?.pending ?? "?"} pending ` +
    `(expected Complete, ${f.suiteTasks.length}, 0); tasks still active: ${f.active.length}` +
    `${stuck.length > 0 ? ` (${stuck.join("; ")})` : ""}`,
    `orphan processes once everything was stopped (mentioning the case's directory): ${f.orphans.length}` +
    `${f.orphans.length > 0 ? `:\n${f.orphanText}` : ""}`,
    `processes that exited unexpectedly: ${f.crashes.length}${
      f.crashes.length > 0 ? ` (${f.crashes.join("; ")})` : ""
    }; non-zero exits on SIGTERM: ${f.uncleanStops.length}${
      f.uncleanStops.length > 0 ? ` (${f.uncleanStops.join("; ")})` : ""
    }`,
    `task crashes recorded in task_execution_failures: ${f.failuresRecorded}`,
    `faults injected while suite tasks were pending: ${f.faults.length - idleFaults.length} of ${f.faults.length}`,
    `recovery = from the fault until every party it touched committed again: the respawned worker in the killed ` +
    `worker's slot finished a task, committed (worker kill); the manager, after its restart or SIGCONT (manager ` +
    `kill, freeze); each manager whose WebSocket the killed coordinator held, and an independent worker ` +
    `(coordinator kill); every manager and an independent worker, after the statement or PostgreSQL's start ` +
    `(database faults). Worst: ${worst} s`,
    ...faultLines,
    `coordinator log lines at level error: ${errorLines.length}${
      errorLines.length > 0 ? ` (${[...new Set(errorLines.map((l) => String(l.msg)))].slice(0, 5).join("; ")})` : ""
    }`,
    `durations: total ${figures.total_s} s, fault schedule ${figures.schedule_s} s, remaining tasks ` +
    `${figures.drain_s} s`,
  ];

  const failures: string[] = [];
  if (f.hang !== null) failures.push(f.hang);
  if (lost.size > 0) failures.push(`${lost.size} tasks lost`);
  if (committedTwice > 0) failures.push(`${committedTwice} results committed twice`);
  if (unexplainedRepeats > 0) failures.push(`${unexplainedRepeats} executions repeated before any fault`);
  if (f.orphans.length > 0) failures.push(`${f.orphans.length} orphan processes`);
  if (f.crashes.length > 0) failures.push(`unexpected exits: ${f.crashes.join("; ")}`);
  if (f.uncleanStops.length > 0) failures.push(`unclean stops: ${f.uncleanStops.join("; ")}`);
  if (f.suite?.state !== "Complete") failures.push(`suite ${f.suite?.state ?? "unknown"}, not Complete`);
  if (idleFaults.length > 0) {
    failures.push(`faults ${idleFaults.map((fault) => fault.index).join(", ")} came after the suite's work ran out`);
  }
  return { checks, figures, failures };
}

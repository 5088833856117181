/**
 * Failure accounting of tasks whose worker crashed (SPEC §5.5). The manager
 * retries such a task itself; each crash is recorded with the coordinator
 * (`ReportFailure`, one row per task and manager in
 * `task_execution_failures`), and once a task has crashed its worker as
 * often as the threshold of the latest crash's cause (2 for SIGSEGV, SIGILL,
 * SIGBUS, SIGFPE; 3 for SIGKILL, SIGABRT and non-zero exits) the manager
 * gives up on it (`AbortTask`): it goes back to Ready for other managers and
 * never comes back to this one.
 *
 * Counting: every crash of a task counts, whatever its cause; the threshold
 * is the latest cause's. So SIGKILL, SIGKILL, SIGSEGV aborts at the third
 * crash (3 ≥ 2), SIGSEGV, SIGKILL continues (2 < 3). Requested stops and
 * clean exits are not crashes and are not counted (see
 * `exit_classification.ts`). Counts live as long as the suite execution.
 *
 * The reports of one task reach the coordinator one after the other: it
 * counts one failure per report, never below the count reported, so two
 * reports processed out of order would count one crash twice.
 */
import type { CoordinatorLink } from "../contracts.ts";
import type { ManagedTask } from "../../shared/wire/manager_ws.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { ExitClassification } from "./exit_classification.ts";

/** What the manager does with a task after its worker crashed. */
export interface CrashDecision {
  action: "retry" | "abort";
  /** Crashes of this task on this manager so far, this one included. */
  failureCount: number;
  /** The threshold of this crash's cause. */
  threshold: number;
}

/** Where a crash happened, for the failure record. */
export interface CrashSite {
  workerLocalId: number;
  pid: number | null;
}

/** Counts crashes per task and relays them to the coordinator. */
export class FailureTracker {
  readonly #link: CoordinatorLink;
  readonly #log: Logger;
  readonly #counts = new Map<string, number>();
  /** The last report of each task still on its way: the next one waits for it. */
  readonly #reporting = new Map<string, Promise<void>>();

  constructor(link: CoordinatorLink, log: Logger) {
    this.#link = link;
    this.#log = log;
  }

  /** Crashes recorded for task `uuid`. */
  count(uuid: string): number {
    return this.#counts.get(uuid) ?? 0;
  }

  /**
   * Records a crash of the worker running `task` (a classification with an
   * abort threshold) and decides at once: retry, or abort. `reported`
   * settles once the coordinator has the failure (and the abort); its errors
   * are logged there, never thrown: the decision stands.
   */
  recordCrash(
    task: ManagedTask,
    exit: ExitClassification,
    site: CrashSite,
  ): { decision: CrashDecision; reported: Promise<void> } {
    if (exit.abortThreshold === null) throw new Error(`${exit.cause} exit is not a crash`);
    const failureCount = this.count(task.uuid) + 1;
    this.#counts.set(task.uuid, failureCount);
    const threshold = exit.abortThreshold;
    const action = failureCount >= threshold ? "abort" : "retry";
    const message = `managed worker ${site.workerLocalId} (pid ${site.pid ?? "?"}) ${exit.description} ` +
      `while running task ${task.uuid} (attempt ${task.attempt})`;
    const log = this.#log.child({
      task_uuid: task.uuid,
      worker_local_id: site.workerLocalId,
      pid: site.pid,
      exit_cause: exit.cause,
      exit_signal: exit.signal,
      exit_code: exit.code,
    });
    log.warn(
      action === "abort" ? "task crashed its worker too often; aborting it" : "task crashed its worker; retrying it",
      {
        failure_count: failureCount,
        abort_threshold: threshold,
      },
    );
    const previous = this.#reporting.get(task.uuid) ?? Promise.resolve();
    const reported = (async () => {
      await previous;
      try {
        await this.#link.reportFailure(task.uuid, failureCount, message, site.workerLocalId);
      } catch (error) {
        log.error("cannot record the task failure with the coordinator", { error });
      }
      if (action === "abort") {
        const reason = `${message}; ${failureCount} crashes (abort threshold ${threshold})`;
        try {
          await this.#link.abortTask(task.uuid, reason);
        } catch (error) {
          log.error("cannot abort the task with the coordinator", { error });
        }
      }
    })();
    this.#reporting.set(task.uuid, reported);
    reported.then(() => {
      if (this.#reporting.get(task.uuid) === reported) this.#reporting.delete(task.uuid);
    });
    return { decision: { action, failureCount, threshold }, reported };
  }
}

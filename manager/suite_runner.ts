/**
 * Runs the suites the coordinator assigns to this manager, one at a time,
 * through the state machine of `state.ts`:
 *
 * 1. **Preparing** (`SuiteAssigned`): the work dir `<state_dir>/suites/<uuid>/`
 *    is created and the `env_preparation` hook runs in it. A failure (exit ≠
 *    0, timeout, signal, resource error) sends `SuitePrepareFailed {error}`,
 *    awaits its Ack and goes back to Idle; no worker is spawned.
 * 2. **Executing**: `SuiteStarted`, then the worker pool
 *    (`startSuiteExecution`) with min(worker_count, max_workers) workers,
 *    until it drains.
 * 3. **Cleanup**: the `env_cleanup` hook; its failure is logged, written to
 *    `hooks.log` and sent as `cleanup_error` in `SuiteCompleted`, and the
 *    suite still completes. `SuiteCompleted` is acknowledged before the
 *    manager goes Idle (so its Idle heartbeat cannot race the release).
 *
 * Pushes about the running suite:
 * - `CancelTask` → the pool kills that task's worker.
 * - `CancelSuite` → the pool stops (gracefully unless `cancel_running_tasks`);
 *   a preparation hook still running is terminated; then Cleanup and
 *   `SuiteCompleted` as usual.
 * - `SuiteReclaimed` → the coordinator has already released the suite (and
 *   its tasks): the pool is stopped at once, a running preparation hook
 *   terminated, the cleanup hook still runs (the machine was prepared), but
 *   no `SuiteCompleted` is sent and heartbeats stop naming the suite. Once
 *   `SuiteCompleted` (or `SuitePrepareFailed`) is being sent it is ignored:
 *   the coordinator released the suite on that message, and a heartbeat
 *   sent just before it (the Cleanup transition's, naming the suite) but
 *   handled after the release is answered `SuiteReclaimed`.
 * - A repeated `SuiteAssigned` for the running suite is ignored; one for
 *   another suite while busy is ignored too (the coordinator sends it again
 *   once this manager reports Idle).
 *
 * Stopping the manager: graceful lets running tasks finish (the pool's
 * `worker_stop_grace`), terminates a preparation hook, runs cleanup and
 * sends `SuiteCompleted`; force kills workers and hooks at once, skips
 * cleanup and still sends `SuiteCompleted` so the coordinator requeues the
 * suite's leftover tasks without waiting for the heartbeat timeout.
 */
import type { ExecutionSummary, SuiteExecution, SuiteExecutionOptions } from "./contracts.ts";
import type { CoordinatorPush } from "../shared/wire/manager_ws.ts";
import type { SuiteInfo } from "../shared/wire/suites.ts";
import type { Logger } from "../shared/log/logger.ts";
import type { TaskUser } from "../shared/exec/task_user.ts";
import { killAllTaskGroupsSync } from "../shared/exec/process.ts";
import type { ManagerConfig } from "./config.ts";
import type { ManagerLink } from "./connection/link.ts";
import { sleep } from "./connection/backoff.ts";
import type { ManagerState } from "./state.ts";
import { suiteContextEnv, workerEnvironment } from "./hooks/env.ts";
import { type HookKind, runHook } from "./hooks/run_hook.ts";
import type { HookResourceResolver } from "./hooks/resources.ts";
import { emptyWorkDir, prepareSuiteWorkDir } from "./hooks/work_dir.ts";
import { type MetricsRecorder, NO_METRICS, secondsSince } from "./prometheus/recorder.ts";

/** A suite execution, with live figures when the pool offers them (`stats()`). */
export interface RunnerExecution extends SuiteExecution {
  stats?(): { activeWorkers: number; buffered?: number };
}

/** Starts a suite's worker pool (`manager/pool/execution.ts`). */
export type StartExecution = (options: SuiteExecutionOptions) => RunnerExecution;

/** The requests the runner sends. */
export type SuiteLink =
  & Pick<ManagerLink, "suiteStarted" | "suitePrepareFailed" | "suiteCompleted">
  & SuiteExecutionOptions["link"];

/** What the runner needs. */
export interface SuiteRunnerOptions {
  config: Pick<ManagerConfig, "state_dir" | "max_workers">;
  /** This manager's uuid, read when a suite starts (it changes after a re-registration). */
  managerUuid: () => string;
  link: SuiteLink;
  state: ManagerState;
  startExecution: StartExecution;
  resolver: HookResourceResolver;
  /** Hooks run as this user (the manager runs as root); see `shared/exec/task_user.ts`. */
  taskUser?: TaskUser;
  log: Logger;
  /** Longest wait for the coordinator's reply while the manager is stopping (default 10 s). */
  stopReplyWaitMs?: number;
  /** Records hook run times (default: nothing). */
  metrics?: MetricsRecorder;
}

/** Why a suite ends on this manager before its tasks ran out. */
type Ending = "cancelled" | "reclaimed" | "stopping";

interface ActiveSuite {
  readonly suite: SuiteInfo;
  readonly log: Logger;
  readonly workerCount: number;
  /** Terminates the preparation hook. */
  readonly prepAbort: AbortController;
  /** Terminates the cleanup hook (force stop only). */
  readonly cleanupAbort: AbortController;
  execution: RunnerExecution | null;
  ending: Ending | null;
  /** The coordinator released the suite: no SuiteCompleted. */
  reclaimed: boolean;
  /**
   * The suite's end (SuiteCompleted or SuitePrepareFailed) is being sent:
   * the coordinator releases the suite on it, so a `SuiteReclaimed` from now
   * on only answers a heartbeat that named the suite and reached it after
   * that release (the coordinator serves a manager's messages concurrently)
   * and is ignored.
   */
  endReported: boolean;
  /** Force stop: hooks killed, no cleanup. */
  force: boolean;
  finished: Promise<void>;
}

/** The suite state machine's driver. */
export class SuiteRunner {
  readonly #o: SuiteRunnerOptions;
  readonly #log: Logger;
  #active: ActiveSuite | null = null;
  #stopping: "graceful" | "force" | null = null;
  readonly #stopRequested: Promise<void>;
  #resolveStopRequested: () => void = () => {};

  constructor(options: SuiteRunnerOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#stopRequested = new Promise((resolve) => this.#resolveStopRequested = resolve);
  }

  /** The suite being worked on, if any. */
  get activeSuiteUuid(): string | null {
    return this.#active?.suite.uuid ?? null;
  }

  /** Managed workers of the running suite (the pool's live count when it has `stats()`). */
  get activeWorkers(): number {
    const active = this.#active;
    const execution = active?.execution;
    if (!active || !execution) return 0;
    return execution.stats?.().activeWorkers ?? active.workerCount;
  }

  /** Tasks the running suite's pool holds unstarted (prefetched or waiting to be retried); 0 without one. */
  get bufferedTasks(): number {
    return this.#active?.execution?.stats?.().buffered ?? 0;
  }

  /** Handles a suite push (SuiteAssigned, CancelTask, CancelSuite, SuiteReclaimed); others are ignored. */
  handlePush(push: CoordinatorPush): void {
    switch (push.type) {
      case "SuiteAssigned":
        return this.#assigned(push.suite_spec);
      case "CancelTask": {
        const execution = this.#active?.execution;
        if (!execution) {
          this.#log.info("CancelTask for a task not running here; ignored", { task_uuid: push.task_uuid });
          return;
        }
        this.#active?.log.info("cancelling task", { task_uuid: push.task_uuid, reason: push.reason });
        execution.cancelTask(push.task_uuid);
        return;
      }
      case "CancelSuite": {
        const active = this.#matching(push.suite_uuid, push.type);
        if (!active) return;
        active.log.info("suite cancelled", { reason: push.reason, cancel_running_tasks: push.cancel_running_tasks });
        this.#end(active, "cancelled", { graceful: !push.cancel_running_tasks });
        return;
      }
      case "SuiteReclaimed": {
        const active = this.#matching(push.suite_uuid, push.type);
        if (!active) return;
        if (active.endReported) {
          active.log.info("SuiteReclaimed for a suite whose end was already reported; ignored");
          return;
        }
        active.log.warn("suite reclaimed by the coordinator; stopping its work");
        active.reclaimed = true;
        this.#o.state.forgetSuite();
        this.#end(active, "reclaimed", { graceful: false });
        return;
      }
      default:
        return;
    }
  }

  /**
   * Stops taking suites and ends the running one: graceful lets running
   * tasks finish and runs cleanup; force kills workers and hooks. Resolves
   * when the manager is Idle. A second call may turn graceful into force.
   */
  async shutdown(graceful: boolean): Promise<void> {
    this.#stopping = graceful ? (this.#stopping ?? "graceful") : "force";
    this.#resolveStopRequested();
    const active = this.#active;
    if (active) this.#end(active, "stopping", { graceful, force: !graceful });
    await active?.finished;
  }

  #matching(suiteUuid: string, type: string): ActiveSuite | null {
    const active = this.#active;
    if (active?.suite.uuid === suiteUuid) return active;
    this.#log.info(`${type} for a suite not running here; ignored`, { suite_uuid: suiteUuid });
    return null;
  }

  #assigned(suite: SuiteInfo): void {
    const active = this.#active;
    if (active?.suite.uuid === suite.uuid) {
      active.log.debug("repeated SuiteAssigned for the running suite ignored");
      return;
    }
    if (this.#stopping !== null) {
      this.#log.info("suite assigned while stopping; giving it back", { suite_uuid: suite.uuid });
      this.#complete(this.#log, suite.uuid, { tasksCompleted: 0, tasksFailed: 0 }, null);
      return;
    }
    if (active) {
      this.#log.warn("suite assigned while another one is running; ignored until Idle", {
        suite_uuid: suite.uuid,
        running_suite_uuid: active.suite.uuid,
      });
      return;
    }
    const next: ActiveSuite = {
      suite,
      log: this.#log.child({ suite_uuid: suite.uuid }),
      workerCount: Math.min(suite.worker_schedule.worker_count, this.#o.config.max_workers),
      prepAbort: new AbortController(),
      cleanupAbort: new AbortController(),
      execution: null,
      ending: null,
      reclaimed: false,
      endReported: false,
      force: false,
      finished: Promise.resolve(),
    };
    this.#active = next;
    next.finished = this.#run(next).catch((error) => next.log.error("suite run failed", { error }));
  }

  /** Ends `active` early: terminates the preparation hook and stops the pool. */
  #end(active: ActiveSuite, why: Ending, how: { graceful: boolean; force?: boolean }): void {
    active.ending ??= why;
    active.prepAbort.abort(why);
    active.execution?.stop(how.graceful);
    if (how.force) {
      active.force = true;
      active.cleanupAbort.abort(why);
      killAllTaskGroupsSync(); // hooks: no grace period
    }
  }

  /**
   * Sends `SuiteCompleted`. Normally its Ack is awaited (so the Idle
   * heartbeat that follows cannot race the release). Once the manager is
   * stopping it is only sent: the connection closes right after it, and
   * awaiting the Ack would leave the coordinator a moment in which this
   * manager is Idle and connected, so assignable again.
   */
  async #complete(
    log: Logger,
    suiteUuid: string,
    summary: ExecutionSummary,
    cleanupError: string | null,
  ): Promise<void> {
    const send = () =>
      this.#o.link.suiteCompleted(suiteUuid, summary.tasksCompleted, summary.tasksFailed, cleanupError);
    if (this.#stopping === null) {
      await this.#reply(log, "SuiteCompleted", send);
      return;
    }
    send().catch((error) => log.warn("SuiteCompleted sent while stopping was not acknowledged", { error }));
  }

  /**
   * Awaits a request to the coordinator. Failures are logged (null); once the
   * manager is stopping the wait is bounded, since the coordinator may be
   * gone (its heartbeat timeout then releases the suite).
   */
  async #reply<T>(log: Logger, what: string, call: () => Promise<T>): Promise<T | null> {
    const request = call().catch((error) => {
      log.error(`${what} could not be delivered`, { error });
      return null;
    });
    const waitMs = this.#o.stopReplyWaitMs ?? 10_000;
    const bounded = this.#stopRequested.then(() => sleep(waitMs)).then(() => "timeout" as const);
    const result = await Promise.race([request, bounded]);
    if (result === "timeout") {
      log.warn(`no reply to ${what} while stopping; giving up on it`, { waited_ms: waitMs });
      return null;
    }
    return result;
  }

  async #hook(active: ActiveSuite, kind: HookKind, workDir: string, context: Record<string, string>) {
    const hook = kind === "preparation" ? active.suite.env_preparation : active.suite.env_cleanup;
    if (hook === null) return null;
    const startedAt = performance.now();
    const outcome = await runHook({
      kind,
      hook,
      suiteUuid: active.suite.uuid,
      workDir,
      context,
      resolver: this.#o.resolver,
      taskUser: this.#o.taskUser,
      signal: (kind === "preparation" ? active.prepAbort : active.cleanupAbort).signal,
      log: active.log,
    });
    (this.#o.metrics ?? NO_METRICS).hookRan(kind, outcome.kind, secondsSince(startedAt));
    return outcome;
  }

  async #run(active: ActiveSuite): Promise<void> {
    const { suite, log } = active;
    const state = this.#o.state;
    const link = this.#o.link;
    state.transition("Preparing", "suite assigned", suite.uuid);
    log.info("suite assigned", {
      suite_name: suite.name,
      group_name: suite.group_name,
      worker_count: active.workerCount,
      priority: suite.priority,
    });
    let workDir: string | null = null;
    let idleReason = "suite done";
    try {
      const context = suiteContextEnv({ suite, managerUuid: this.#o.managerUuid(), workerCount: active.workerCount });
      try {
        workDir = await prepareSuiteWorkDir(this.#o.config.state_dir, suite.uuid, log);
      } catch (error) {
        idleReason = "preparation failed";
        await this.#prepareFailed(active, `cannot create the suite work dir: ${(error as Error).message}`);
        return;
      }

      // Preparing.
      let ran = false;
      if (active.ending === null) {
        const prepared = await this.#hook(active, "preparation", workDir, context);
        ran = prepared !== null;
        if (prepared?.kind === "failed" && active.ending === null) {
          idleReason = "preparation failed";
          await this.#prepareFailed(active, prepared.error);
          return;
        }
      }

      // Executing.
      let summary: ExecutionSummary = { tasksCompleted: 0, tasksFailed: 0 };
      if (active.ending === null) {
        const started = await this.#reply(log, "SuiteStarted", () => link.suiteStarted(suite.uuid));
        if (started === false && active.ending === null) {
          log.warn("the coordinator does not hold this suite for this manager; dropping it");
          active.reclaimed = true;
          state.forgetSuite();
          active.ending = "reclaimed";
        }
        if (started === true && active.ending === null) {
          state.transition("Executing", "preparation done");
          ran = true;
          summary = await this.#execute(active, workDir, context);
        }
      }

      // Cleanup.
      state.transition("Cleanup", active.ending ?? "suite drained");
      let cleanupError: string | null = null;
      if (active.force) {
        if (active.suite.env_cleanup !== null) log.warn("force stop: cleanup hook skipped");
      } else if (ran) {
        const cleaned = await this.#hook(active, "cleanup", workDir, context);
        if (cleaned?.kind === "failed") cleanupError = cleaned.error;
        if (cleaned?.kind === "interrupted") cleanupError = "cleanup hook interrupted (manager stopping)";
      }
      if (!active.reclaimed) {
        log.info("suite done on this manager", {
          tasks_completed: summary.tasksCompleted,
          tasks_failed: summary.tasksFailed,
          ending: active.ending,
          cleanup_error: cleanupError,
        });
        active.endReported = true;
        await this.#complete(log, suite.uuid, summary, cleanupError);
      }
    } finally {
      if (workDir !== null) await emptyWorkDir(workDir, log);
      this.#active = null;
      if (state.state === "Executing") state.transition("Cleanup", "suite run failed");
      if (state.state !== "Idle") state.transition("Idle", active.ending ?? idleReason);
    }
  }

  /** Runs the pool until it drains; a pool that fails to start or run counts as drained (logged). */
  async #execute(active: ActiveSuite, workDir: string, context: Record<string, string>): Promise<ExecutionSummary> {
    try {
      const execution = this.#o.startExecution({
        suite: active.suite,
        link: this.#o.link,
        workerCount: active.workerCount,
        env: workerEnvironment(active.suite, context),
        workDir,
      });
      active.execution = execution;
      const summary = await execution.done;
      active.log.info("suite execution drained", {
        tasks_completed: summary.tasksCompleted,
        tasks_failed: summary.tasksFailed,
      });
      return summary;
    } catch (error) {
      active.log.error("suite execution failed", { error });
      return { tasksCompleted: 0, tasksFailed: 0 };
    } finally {
      active.execution = null;
    }
  }

  /** Reports a failed preparation (awaiting the Ack) and goes back to Idle. */
  async #prepareFailed(active: ActiveSuite, error: string): Promise<void> {
    active.log.warn("suite preparation failed; giving the suite back", { error });
    active.endReported = true;
    await this.#reply(
      active.log,
      "SuitePrepareFailed",
      () => this.#o.link.suitePrepareFailed(active.suite.uuid, error),
    );
  }
}

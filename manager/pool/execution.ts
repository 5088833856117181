/**
 * Suite execution (SPEC §6 "Executing" and "Completion"): the worker pool of
 * one suite on this manager — prefetch buffer, IPC service, managed worker
 * processes and failure accounting wired together.
 *
 * Lifecycle:
 * 1. `<workDir>/workers/` holds one cache dir per worker; the IPC server
 *    listens on `<workDir>/ipc.sock` (a short path under the temp dir when
 *    that one is too long for a Unix socket); the prefetch buffer starts
 *    filling; `min(worker_count, max_workers)` workers are spawned, each with
 *    its CPU set (`taskset`) and `CUDA_VISIBLE_DEVICES`.
 * 2. Workers fetch tasks from the buffer and report through the manager.
 *    A worker that exits is respawned; the task it was running is retried
 *    here or aborted per SPEC §5.5 (`failures.ts`) — or, when it exited
 *    because the manager stopped it, retried without counting a failure.
 *    While the suite assignment is not confirmed (`settings.lease`: no
 *    heartbeat reply for a while, e.g. the manager was frozen or cut off)
 *    the buffer is dropped (ReturnTasks) and no task is handed out until the
 *    coordinator names the suite again in a heartbeat reply.
 * 3. `cancelTask`: a task still in the buffer is taken out; a running one's
 *    worker is terminated (SIGTERM to its group, SIGKILL after
 *    `stopGraceMs`; its task processes are killed with it). Either way **the
 *    manager reports the task `Cancel` then `Commit {exit_status: 0, msg:
 *    "UserCancellation"}`** (as the coordinator archives a cancelled Ready
 *    task) and the worker slot is respawned.
 * 4. The end: when the buffer drains (suite Complete, Cancelled, Closed with
 *    nothing left here, or no longer this manager's) workers get
 *    `Shutdown {graceful: true}` as they ask for work and exit once idle;
 *    `stop(graceful)` returns the unstarted tasks (`ReturnTasks`) and sends
 *    every worker `Shutdown {graceful: true}`, killing the ones still alive
 *    after `stopGraceMs`; `stop(false)` kills them at once. Tasks that
 *    workers could not finish because they were stopped are returned too.
 *    `done` resolves once every worker has exited, every report to the
 *    coordinator has settled and the IPC server is closed.
 *
 * `done` rejects only when the execution cannot start at all (the IPC
 * server cannot listen); no worker runs then and nothing was fetched.
 */
import { WITHHELD_VARIABLES } from "../../shared/exec/env.ts";
import { newWorkerSecret, WORKER_SECRET_ENV } from "../../shared/ipc/worker_secret.ts";
import type { IpcServer, IpcTransport } from "../../shared/ipc/transport.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { AssignmentLease } from "../connection/assignment_lease.ts";
import type { ManagedTask } from "../../shared/wire/manager_ws.ts";
import type { TaskResultSpec } from "../../shared/wire/tasks.ts";
import type { ExecutionSummary, SuiteExecution, SuiteExecutionOptions } from "../contracts.ts";
import { allowedCores, cpuPlan, findOnPath, tasksetPrefix } from "./cpu_binding.ts";
import { classifyExit, type ExitClassification } from "./exit_classification.ts";
import { FailureTracker } from "./failures.ts";
import { discoverHostGpus, gpuPlan } from "./gpu_binding.ts";
import { type Assignment, IpcService, type ResourceUrlProvider, type WatchedTaskProvider } from "./ipc_service.ts";
import { type DrainReason, PrefetchBuffer } from "./prefetch.ts";
import { type RestartPolicy, type WorkerExit, WorkerPool } from "./workers.ts";
import { type MetricsRecorder, NO_METRICS } from "../prometheus/recorder.ts";

/** How the manager runs its workers. */
export interface ExecutionSettings {
  /** Argv prefix running a worker, e.g. `["deno", "run", "--allow-all", "/abs/worker/main.ts"]` or `["/path/mitosis-worker"]`. */
  workerBinary: string[];
  ipc: IpcTransport;
  /** `worker_stop_grace`: how long a stopped worker may take before it is killed. */
  stopGraceMs: number;
  /** The host's visible GPUs (ids for `CUDA_VISIBLE_DEVICES`); default discovered (`gpu_binding.ts`). */
  gpus?: string[];
  log: Logger;
  /** Download URLs for task resources (`ManagerApi.resourceUrl`); without it workers' resource requests fail. */
  resourceUrl?: ResourceUrlProvider;
  /** States of watched tasks (`ManagerApi.watchedTask`); without it a watching task commits WatchTimeout. */
  watchedTask?: WatchedTaskProvider;
  /** Where workers' stderr (their JSON logs) goes; default the manager's stderr. */
  workerStderr?: "inherit" | "null";
  /** How long a worker's FetchTask waits on an empty buffer (default 1 s). */
  fetchWaitMs?: number;
  /** Restart backoff of workers dying without a task. */
  restart?: Partial<RestartPolicy>;
  /** Base environment of workers; default this process's, minus secrets. */
  baseEnv?: Record<string, string>;
  /**
   * The confirmation of this manager's suite assignment: when it has lapsed
   * the buffer is dropped (ReturnTasks) and no task is handed out until the
   * coordinator confirms the suite again. Without it, tasks are always handed out.
   */
  lease?: AssignmentLease;
  /**
   * The user workers run tasks as (`--task-user`, see `shared/exec/task_user.ts`);
   * unset: the worker's own user ("root" when the manager runs as root and opted out).
   */
  taskUser?: string;
  /** Records worker spawns and IPC fetches (default: nothing). */
  metrics?: MetricsRecorder;
}

/** Why an execution ended. */
export type ExecutionEnd = "drained" | "stopped" | "workers-failed";

/** The summary `done` resolves with. */
export interface PoolSummary extends ExecutionSummary {
  end: ExecutionEnd;
  /** Why the buffer drained, when it did. */
  drainReason: DrainReason | null;
  /** Tasks handed back with ReturnTasks. */
  tasksReturned: number;
  /** Tasks aborted after crashing their worker too often (included in `tasksFailed`). */
  tasksAborted: number;
  /** Worker processes spawned (respawns included). */
  workersSpawned: number;
  /** The prefetch FetchTask sizes (`max_count`), in order. */
  fetchSizes: number[];
}

/** Live figures of an execution (for heartbeats). */
export interface ExecutionStats {
  activeWorkers: number;
  tasksCompleted: number;
  tasksFailed: number;
  /** Tasks prefetched or waiting to be retried. */
  buffered: number;
  /** Tasks assigned to workers. */
  running: number;
}

/** A running suite execution. */
export interface PoolExecution extends SuiteExecution {
  readonly done: Promise<PoolSummary>;
  stats(): ExecutionStats;
  /** Pids of the live worker processes. */
  workerPids(): number[];
}

/** Times a task may be given up by workers without a result before it is handed back. */
const MAX_ABANDONS = 3;

/** Longest Unix socket path (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 100;

/** Starts running `options.suite` with a pool of managed workers. */
export function startSuiteExecution(options: SuiteExecutionOptions, settings: ExecutionSettings): PoolExecution {
  return new Execution(options, settings);
}

/**
 * The IPC address for a suite's work dir (mode 0700). When that path is too
 * long for a Unix socket, the socket goes into a fresh private (0700)
 * directory under the runtime or temp dir, returned as `privateDir` for
 * removal at the end.
 */
function ipcAddress(workDir: string): { address: string; privateDir: string | null } {
  const preferred = `${workDir.replace(/\/+$/, "")}/ipc.sock`;
  if (preferred.length <= MAX_SOCKET_PATH) return { address: preferred, privateDir: null };
  const tmp = Deno.env.get("XDG_RUNTIME_DIR") || Deno.env.get("TMPDIR") || "/tmp";
  const privateDir = Deno.makeTempDirSync({ dir: tmp, prefix: "mitosis-ipc-" });
  return { address: `${privateDir}/ipc.sock`, privateDir };
}

/** Whether a committed result counts as a success. */
function succeeded(result: TaskResultSpec): boolean {
  return result.exit_status === 0 && (result.msg === null || result.msg === undefined);
}

class Execution implements PoolExecution {
  readonly done: Promise<PoolSummary>;
  readonly #o: SuiteExecutionOptions;
  readonly #s: ExecutionSettings;
  readonly #log: Logger;
  readonly #buffer: PrefetchBuffer;
  readonly #service: IpcService;
  readonly #pool: WorkerPool;
  readonly #failures: FailureTracker;
  readonly #workersDir: string;
  readonly #address: string;
  /** The private directory holding the socket when the work dir's path is too long; removed at the end. */
  readonly #socketDir: string | null;
  /** Reports to the coordinator in flight (failures, cancellations, returns). */
  readonly #pending = new Set<Promise<unknown>>();
  /** Tasks to hand back at the end (their workers were stopped). */
  readonly #toReturn: ManagedTask[] = [];
  /** Times each task was given up by a worker without a result. */
  readonly #abandons = new Map<string, number>();
  /** The lease generation whose lapse last dropped the buffer. */
  #droppedAt = -1;
  #workerSpecs: ((i: number) => { args: string[]; env: Record<string, string> }) | null = null;
  #stopping: "graceful" | "force" | null = null;
  #stopTimer: ReturnType<typeof setTimeout> | undefined;
  #finished!: () => void;
  readonly #finishedPromise: Promise<void>;
  #started = false;
  /** Set once `done` is about to resolve: stop and cancelTask do nothing any more. */
  #ended = false;
  #completed = 0;
  #failed = 0;
  #aborted = 0;
  #returned = 0;

  constructor(options: SuiteExecutionOptions, settings: ExecutionSettings) {
    this.#o = options;
    this.#s = settings;
    this.#log = settings.log.child({ suite: options.suite.uuid });
    this.#workersDir = `${options.workDir.replace(/\/+$/, "")}/workers`;
    const ipc = ipcAddress(options.workDir);
    this.#address = ipc.address;
    this.#socketDir = ipc.privateDir;
    this.#finishedPromise = new Promise((resolve) => this.#finished = resolve);
    this.#failures = new FailureTracker(options.link, this.#log);
    this.#buffer = new PrefetchBuffer({
      link: options.link,
      suiteUuid: options.suite.uuid,
      capacity: options.suite.worker_schedule.task_prefetch_count,
      log: this.#log,
      hasRunningTasks: () => this.#service.assignments.size > 0 || this.#service.travelling > 0,
      onDrained: () => this.#maybeFinish(),
    });
    this.#service = new IpcService({
      link: options.link,
      buffer: this.#buffer,
      suiteUuid: options.suite.uuid,
      log: this.#log,
      fetchWaitMs: settings.fetchWaitMs ?? 1_000,
      isStopping: () => this.#stopping !== null,
      onUnclaimed: (task) => this.#takeBack(task),
      onAbandoned: (assignment) => this.#abandoned(assignment),
      onCommitted: (task, result, accepted) => this.#committed(task, result, accepted),
      onAssignmentsChanged: () => {
        if (this.#service.assignments.size === 0) this.#buffer.nudge();
      },
      onShutdownSent: (workerLocalId) => this.#pool.markRequested(workerLocalId),
      resourceUrl: settings.resourceUrl,
      watchedTask: settings.watchedTask,
      metrics: settings.metrics,
      assignment: settings.lease === undefined ? undefined : {
        fresh: () => settings.lease!.fresh(options.suite.uuid),
        confirm: (waitMs) => this.#confirmAssignment(settings.lease!, waitMs),
      },
    });
    this.#pool = new WorkerPool({
      spec: (i) => this.#workerSpecs!(i),
      log: this.#log,
      stderr: settings.workerStderr,
      onExit: (exit) => this.#workerExited(exit),
      restart: settings.restart,
    });
    this.done = this.#run();
  }

  stats(): ExecutionStats {
    return {
      activeWorkers: this.#pool.alive,
      tasksCompleted: this.#completed,
      tasksFailed: this.#failed,
      buffered: this.#buffer.size,
      running: this.#service.assignments.size,
    };
  }

  workerPids(): number[] {
    return this.#pool.pids();
  }

  cancelTask(taskUuid: string): void {
    const log = this.#log.child({ task_uuid: taskUuid });
    if (this.#ended) {
      log.info("task cancellation after the suite execution ended ignored");
      return;
    }
    const unstarted = this.#buffer.remove(taskUuid);
    if (unstarted !== undefined) {
      log.info("cancelling a prefetched task");
      this.#track(this.#commitCancelled(unstarted));
      return;
    }
    const assignment = this.#service.markCancelled(taskUuid);
    if (assignment === undefined) {
      log.info("task to cancel is not held by this manager's workers");
      return;
    }
    log.info("cancelling a running task: terminating its worker", {
      worker_local_id: assignment.workerLocalId,
      pid: this.#pool.pid(assignment.workerLocalId) ?? null,
    });
    this.#track(this.#pool.terminate(assignment.workerLocalId, this.#s.stopGraceMs));
  }

  stop(graceful: boolean): void {
    if (this.#ended || this.#stopping === "force" || (this.#stopping === "graceful" && graceful)) return;
    const first = this.#stopping === null;
    this.#stopping = graceful ? "graceful" : "force";
    this.#log.info("suite execution stopping", { graceful, workers: this.#pool.alive });
    this.#pool.cancelRespawns();
    if (first) this.#track(this.#returnUnstarted());
    if (graceful) {
      this.#pool.markAllRequested();
      this.#service.shutdownAll(true);
      this.#stopTimer = setTimeout(() => {
        if (this.#pool.alive > 0) {
          this.#log.warn("workers still running after the stop grace period; killing them", {
            grace_ms: this.#s.stopGraceMs,
            workers: this.#pool.alive,
          });
        }
        this.#pool.killAll();
      }, this.#s.stopGraceMs);
    } else {
      clearTimeout(this.#stopTimer);
      this.#pool.killAll();
    }
    this.#maybeFinish();
  }

  /** Keeps `promise` among the operations `done` waits for. */
  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch((error) => this.#log.error("suite execution operation failed", { error }))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #returnUnstarted(): Promise<void> {
    const unstarted = await this.#buffer.close();
    await this.#returnTasks(unstarted, "execution stopped");
  }

  async #returnTasks(tasks: ManagedTask[], why: string): Promise<void> {
    if (tasks.length === 0) return;
    const uuids = tasks.map((t) => t.uuid);
    this.#log.info("returning unstarted tasks to the coordinator", { count: uuids.length, why });
    try {
      await this.#o.link.returnTasks(uuids);
      this.#returned += uuids.length;
    } catch (error) {
      this.#log.error("cannot return tasks to the coordinator", { count: uuids.length, task_uuids: uuids, error });
    }
  }

  /**
   * Resolves whether tasks may be handed out: at once while the lease is
   * fresh; otherwise the buffer is dropped (once per lapse) and a
   * confirmation awaited up to `waitMs`.
   */
  async #confirmAssignment(lease: AssignmentLease, waitMs: number): Promise<boolean> {
    const suite = this.#o.suite.uuid;
    if (lease.fresh(suite)) return true;
    if (this.#droppedAt !== lease.generation) {
      this.#droppedAt = lease.generation;
      const dropped = this.#buffer.drop();
      this.#log.warn("suite assignment not confirmed recently (no heartbeat reply); prefetched tasks dropped", {
        dropped: dropped.length,
      });
      if (dropped.length > 0) this.#track(this.#returnTasks(dropped, "assignment not confirmed"));
    }
    return await lease.waitFresh(suite, waitMs);
  }

  /** A task the manager holds but no worker runs any more: retried, or returned when stopping. */
  #takeBack(task: ManagedTask): void {
    if (this.#stopping !== null) {
      this.#toReturn.push(task);
    } else {
      this.#buffer.requeue(task);
    }
  }

  /**
   * A worker gave up a task the coordinator still assigns to this manager:
   * run it again, up to `MAX_ABANDONS` times, then hand it back. A cancelled
   * one is committed as cancelled.
   */
  #abandoned(assignment: Assignment): void {
    const { task, workerLocalId } = assignment;
    if (assignment.cancelled) {
      this.#track(this.#commitCancelled(task));
      return;
    }
    const count = (this.#abandons.get(task.uuid) ?? 0) + 1;
    this.#abandons.set(task.uuid, count);
    const log = this.#log.child({ task_uuid: task.uuid, worker_local_id: workerLocalId, abandoned: count });
    if (count < MAX_ABANDONS && this.#stopping === null) {
      log.warn("task given up by its worker without a result; running it again");
      this.#buffer.requeue(task);
    } else {
      log.error("task given up by workers without a result too often; returning it to the coordinator");
      this.#track(this.#returnTasks([task], "given up by workers"));
    }
  }

  async #commitCancelled(task: ManagedTask): Promise<void> {
    const log = this.#log.child({ task_uuid: task.uuid });
    const cancel = await this.#o.link.reportTask(task.id, task.attempt, "Cancel");
    if (!cancel.success) {
      log.warn("cancelled task could not be reported Cancel", { error: cancel.error ?? null });
      return;
    }
    const commit = await this.#o.link.reportTask(task.id, task.attempt, {
      Commit: { exit_status: 0, msg: "UserCancellation" },
    });
    if (commit.success) {
      this.#failed++;
      log.info("cancelled task committed", { result_msg: "UserCancellation" });
    } else log.warn("cancelled task could not be committed", { error: commit.error ?? null });
  }

  #committed(task: ManagedTask, result: TaskResultSpec, accepted: boolean): void {
    if (!accepted) return;
    if (succeeded(result)) this.#completed++;
    else this.#failed++;
    this.#log.debug("task committed", { task_uuid: task.uuid, exit_status: result.exit_status, msg: result.msg });
  }

  #workerExited(exit: WorkerExit): void {
    const assignment = this.#service.workerExited(exit.workerLocalId);
    const classification: ExitClassification = exit.status === null
      ? {
        cause: "exit-code",
        signal: null,
        code: null,
        abortThreshold: null,
        description: `could not be started: ${exit.spawnError?.message}`,
      }
      : classifyExit(exit.status, exit.requested);
    const log = this.#log.child({
      worker_local_id: exit.workerLocalId,
      pid: exit.pid,
      exit_cause: classification.cause,
      exit_code: classification.code,
      exit_signal: classification.signal,
    });
    const fields = {
      exit: classification.description,
      uptime_ms: exit.uptimeMs,
      task_uuid: assignment?.task.uuid ?? null,
      leftover_pids: exit.leftovers,
    };
    if (classification.cause === "clean-exit" || classification.cause === "requested") {
      log.info("managed worker exited", fields);
    } else log.warn("managed worker died", fields);

    if (assignment !== undefined) {
      const { task } = assignment;
      if (assignment.cancelled) {
        this.#track(this.#commitCancelled(task));
      } else if (classification.abortThreshold !== null) {
        const { decision, reported } = this.#failures.recordCrash(task, classification, {
          workerLocalId: exit.workerLocalId,
          pid: exit.pid,
        });
        this.#track(reported);
        if (decision.action === "abort") {
          this.#aborted++;
          this.#failed++;
        } else this.#takeBack(task);
      } else {
        log.info("task interrupted by a requested worker stop; it will run again", { task_uuid: task.uuid });
        this.#takeBack(task);
      }
    }

    if (this.#shouldRespawn() && this.#pool.respawn(exit.workerLocalId, exit, assignment !== undefined)) {
      (this.#s.metrics ?? NO_METRICS).workerSpawned(classification.cause);
    }
    this.#maybeFinish();
  }

  #shouldRespawn(): boolean {
    if (this.#stopping !== null) return false;
    return !this.#buffer.exhausted;
  }

  /** Resolves `#finishedPromise` once nothing can run any more. */
  #maybeFinish(): void {
    if (!this.#started) return;
    const drained = this.#buffer.exhausted && this.#service.assignments.size === 0;
    // Drained: idle workers get Shutdown as they ask for work; none is started any more.
    if (drained) this.#pool.cancelRespawns();
    if (this.#pool.alive > 0 || this.#pool.pendingRespawns > 0) return;
    if (this.#stopping !== null || drained || this.#pool.givenUp.size > 0) this.#finished();
  }

  #end(): ExecutionEnd {
    if (this.#stopping !== null) return "stopped";
    if (this.#buffer.exhausted && this.#buffer.drained !== null) return "drained";
    return "workers-failed";
  }

  async #run(): Promise<PoolSummary> {
    const { suite } = this.#o;
    const schedule = suite.worker_schedule;
    const count = this.#o.workerCount;
    await Deno.mkdir(this.#workersDir, { recursive: true });
    this.#workerSpecs = await this.#prepareSpecs(count);
    let server: IpcServer;
    try {
      server = await this.#s.ipc.serve(this.#address, this.#service);
    } catch (error) {
      this.#log.error("cannot start the IPC server; no worker started", { address: this.#address, error });
      throw error;
    }
    this.#log.info("suite execution started", {
      workers: count,
      task_prefetch_count: schedule.task_prefetch_count,
      ipc: `${this.#s.ipc.name}:${server.address}`,
    });
    this.#started = true;
    if (this.#stopping === null) {
      this.#buffer.start();
      for (let i = 0; i < count; i++) {
        this.#pool.spawn(i);
        (this.#s.metrics ?? NO_METRICS).workerSpawned("start");
      }
    }
    this.#maybeFinish();
    await this.#finishedPromise;
    this.#ended = true;
    clearTimeout(this.#stopTimer);
    await this.#pool.allExited();
    // Reports acknowledged to workers reach the coordinator before the suite is reported done here.
    await this.#service.settled();
    if (this.#pool.givenUp.size > 0 && this.#stopping === null) {
      this.#log.error("every worker slot was given up; ending the suite execution", {
        given_up: [...this.#pool.givenUp],
      });
    }
    // Whatever is still held here goes back: unstarted tasks, tasks of stopped workers.
    this.#toReturn.push(...await this.#buffer.close());
    await Promise.all(this.#pending);
    await this.#returnTasks(this.#toReturn.splice(0), "not run by this manager");
    await Promise.all(this.#pending);
    await server.close();
    if (this.#socketDir !== null) {
      await Deno.remove(this.#socketDir, { recursive: true }).catch((error) => {
        this.#log.warn("cannot remove the IPC socket's directory", { path: this.#socketDir, error });
      });
    }
    await Deno.remove(this.#workersDir, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.#log.warn("cannot remove the workers' directory", { path: this.#workersDir, error });
      }
    });
    const summary: PoolSummary = {
      tasksCompleted: this.#completed,
      tasksFailed: this.#failed,
      end: this.#end(),
      drainReason: this.#buffer.drained,
      tasksReturned: this.#returned,
      tasksAborted: this.#aborted,
      workersSpawned: this.#pool.spawned,
      fetchSizes: [...this.#buffer.fetchSizes],
    };
    this.#log.info("suite execution finished", {
      ...summary,
      fetchSizes: undefined,
      fetches: summary.fetchSizes.length,
    });
    return summary;
  }

  /** Computes each worker's argv and environment (CPU set, GPU mask). */
  async #prepareSpecs(count: number): Promise<(i: number) => { args: string[]; env: Record<string, string> }> {
    const schedule = this.#o.suite.worker_schedule;
    const cpu = cpuPlan(schedule.cpu_binding, count, schedule.cpu_binding ? allowedCores() : undefined);
    for (const note of cpu.notes) this.#log.warn("CPU binding adjusted", { note });
    let taskset: string | null = null;
    if (cpu.sets.some((s) => s !== null)) {
      taskset = findOnPath("taskset");
      if (taskset === null) this.#log.warn("taskset (util-linux) not found: workers run without CPU binding");
    }
    let gpuMasks: (string | null)[] = Array(count).fill(null);
    if (schedule.gpu_binding) {
      const visible = this.#s.gpus ?? (await discoverHostGpus()).ids;
      const plan = gpuPlan(schedule.gpu_binding, visible, count);
      for (const note of plan.notes) this.#log.warn("GPU binding adjusted", { note, visible });
      gpuMasks = plan.masks;
    }
    const base = this.#s.baseEnv ?? Deno.env.toObject();
    const env: Record<string, string> = { ...base, ...this.#o.env };
    for (const name of WITHHELD_VARIABLES) delete env[name];
    const ipc = `${this.#s.ipc.name}:${this.#address}`;
    return (i) => {
      // A fresh secret per spawn: the worker proves with it who it is in its IPC Hello.
      const secret = newWorkerSecret();
      this.#service.expectWorker(i, secret);
      const workerEnv: Record<string, string> = {
        ...env,
        MITOSIS_WORKER_LOCAL_ID: String(i),
        [WORKER_SECRET_ENV]: secret,
      };
      if (gpuMasks[i] !== null) workerEnv.CUDA_VISIBLE_DEVICES = gpuMasks[i]!;
      const args = [
        ...(taskset === null ? [] : tasksetPrefix(taskset, cpu.sets[i] ?? null)),
        ...this.#s.workerBinary,
        "--managed",
        "--ipc",
        ipc,
        "--worker-local-id",
        String(i),
        "--cache-dir",
        `${this.#workersDir}/${i}`,
        "--task-user",
        this.#s.taskUser ?? "root",
      ];
      return { args, env: workerEnv };
    };
  }
}

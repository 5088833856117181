/**
 * The managed worker processes of one suite execution: spawning,
 * supervision, stopping, respawning with a backoff.
 *
 * - Each worker runs as `[taskset -c CORES] <worker binary> --managed --ipc
 *   ADDR --worker-local-id N --cache-dir DIR` (argv built by the caller) in
 *   its own session and process group (setsid through `Deno.Command`'s
 *   `detached`), with a unique `MITOSIS_WORKER_INSTANCE` token in its
 *   environment (see `orphans.ts`).
 * - Its exit is seen at once (the child's status promise), then its group
 *   and any task processes carrying its token are killed, then `onExit`
 *   runs.
 * - Stopping a worker: `terminate` (SIGTERM to its group, SIGKILL after the
 *   grace period) or `kill` (SIGKILL now); either marks the exit as
 *   requested, so it never counts as a crash.
 * - Respawning: at once after an exit that interrupted a task; after an exit
 *   without a task, with a backoff of 1 s, 2 s, 4 s … 30 s while workers of
 *   that slot keep dying within 30 s of their start; after 5 such deaths in
 *   a row the slot is given up (a worker that cannot start at all must not
 *   spin forever).
 */
import type { Logger } from "../../shared/log/logger.ts";
import { signalGroup } from "../../shared/exec/process.ts";
import type { ProcessExit } from "./exit_classification.ts";
import { killLeftovers, WORKER_INSTANCE_ENV } from "./orphans.ts";

/** Argv and environment of one worker process. */
export interface WorkerSpawnSpec {
  args: string[];
  env: Record<string, string>;
}

/** How a worker process ended. */
export interface WorkerExit {
  workerLocalId: number;
  /** Null when it could not be spawned. */
  pid: number | null;
  /** Null when it could not be spawned (`spawnError` says why). */
  status: ProcessExit | null;
  spawnError?: Error;
  /** The manager asked it to stop (shutdown, cancellation). */
  requested: boolean;
  uptimeMs: number;
  /** Pids of task processes it left behind (killed). */
  leftovers: number[];
}

/** Restart backoff settings. */
export interface RestartPolicy {
  /** First delay after a quick death without a task (default 1 s), doubled each time up to `maxDelayMs` (30 s). */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A worker dying sooner than this after its start counts as a quick death (default 30 s). */
  quickDeathMs: number;
  /** Quick deaths in a row after which the slot is given up (default 5). */
  maxQuickDeaths: number;
}

/** Default restart backoff. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  quickDeathMs: 30_000,
  maxQuickDeaths: 5,
};

/** Options of a `WorkerPool`. */
export interface WorkerPoolOptions {
  /** Argv and environment of worker `workerLocalId` (the instance token is added). */
  spec: (workerLocalId: number) => WorkerSpawnSpec;
  log: Logger;
  /** Where workers' stderr goes (default inherit: the manager's log). */
  stderr?: "inherit" | "null";
  /** Called after a worker exited and its leftovers were killed. */
  onExit: (exit: WorkerExit) => void;
  restart?: Partial<RestartPolicy>;
  /** SIGTERM → SIGKILL grace for processes a worker left behind (default 2 s). */
  leftoverGraceMs?: number;
}

interface LiveWorker {
  workerLocalId: number;
  child: Deno.ChildProcess;
  pid: number;
  token: string;
  startedAt: number;
  requested: boolean;
  exited: Promise<void>;
}

/** Managed worker processes, by `worker_local_id`. */
export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #policy: RestartPolicy;
  readonly #live = new Map<number, LiveWorker>();
  readonly #respawns = new Map<number, ReturnType<typeof setTimeout>>();
  readonly #quickDeaths = new Map<number, number>();
  readonly #givenUp = new Set<number>();
  /** Exits being processed (leftover kill, then `onExit`). */
  #exiting = 0;
  /** Workers spawned so far (respawns included). */
  spawned = 0;

  constructor(options: WorkerPoolOptions) {
    this.#o = options;
    this.#policy = { ...DEFAULT_RESTART_POLICY, ...options.restart };
  }

  /** Workers alive (or whose exit is still being processed). */
  get alive(): number {
    return this.#live.size + this.#exiting;
  }

  /** Respawns waiting for their delay. */
  get pendingRespawns(): number {
    return this.#respawns.size;
  }

  /** Slots given up after repeated quick deaths. */
  get givenUp(): ReadonlySet<number> {
    return this.#givenUp;
  }

  /** Pid of worker `workerLocalId`, if alive. */
  pid(workerLocalId: number): number | undefined {
    return this.#live.get(workerLocalId)?.pid;
  }

  /** Pids of every live worker. */
  pids(): number[] {
    return [...this.#live.values()].map((w) => w.pid);
  }

  /** Starts worker `workerLocalId` now. */
  spawn(workerLocalId: number): void {
    if (this.#live.has(workerLocalId)) throw new Error(`worker ${workerLocalId} is already running`);
    const { args, env } = this.#o.spec(workerLocalId);
    const token = crypto.randomUUID();
    const log = this.#o.log.child({ worker_local_id: workerLocalId });
    const startedAt = performance.now();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(args[0], {
        args: args.slice(1),
        env: { ...env, [WORKER_INSTANCE_ENV]: token },
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: this.#o.stderr ?? "inherit",
        detached: true,
      }).spawn();
    } catch (error) {
      log.error("managed worker could not be spawned", { args, error });
      this.#exiting++;
      queueMicrotask(() => {
        this.#exiting--;
        this.#o.onExit({
          workerLocalId,
          pid: null,
          status: null,
          spawnError: error instanceof Error ? error : new Error(String(error)),
          requested: false,
          uptimeMs: 0,
          leftovers: [],
        });
      });
      return;
    }
    this.spawned++;
    const worker: LiveWorker = {
      workerLocalId,
      child,
      pid: child.pid,
      token,
      startedAt,
      requested: false,
      exited: Promise.resolve(),
    };
    worker.exited = child.status.then((status) => this.#exited(worker, status, log)).catch((error) =>
      log.error("handling a managed worker's exit failed", { pid: worker.pid, error })
    );
    this.#live.set(workerLocalId, worker);
    log.info("managed worker spawned", { pid: child.pid, args });
  }

  async #exited(worker: LiveWorker, status: Deno.CommandStatus, log: Logger): Promise<void> {
    this.#live.delete(worker.workerLocalId);
    this.#exiting++;
    const uptimeMs = Math.round(performance.now() - worker.startedAt);
    let leftovers: number[] = [];
    try {
      // The worker's own group first (it leads it), then task groups carrying its token.
      signalGroup(worker.pid, "SIGKILL");
      leftovers = await killLeftovers(worker.token, this.#o.leftoverGraceMs ?? 2_000, log);
    } catch (error) {
      log.error("cannot clean up after a managed worker", { pid: worker.pid, error });
    } finally {
      this.#exiting--;
    }
    this.#o.onExit({
      workerLocalId: worker.workerLocalId,
      pid: worker.pid,
      status: { code: status.code, signal: status.signal },
      requested: worker.requested,
      uptimeMs,
      leftovers,
    });
  }

  /** Marks worker `workerLocalId` as asked to stop (e.g. by an IPC Shutdown), without signalling it. */
  markRequested(workerLocalId: number): void {
    const worker = this.#live.get(workerLocalId);
    if (worker !== undefined) worker.requested = true;
  }

  /**
   * SIGTERM to worker `workerLocalId`'s group, SIGKILL after `graceMs` if it
   * is still alive; resolves when it has exited.
   */
  async terminate(workerLocalId: number, graceMs: number): Promise<void> {
    const worker = this.#live.get(workerLocalId);
    if (worker === undefined) return;
    worker.requested = true;
    this.#o.log.info("terminating managed worker", {
      worker_local_id: workerLocalId,
      pid: worker.pid,
      grace_ms: graceMs,
    });
    signalGroup(worker.pid, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (this.#live.get(workerLocalId) === worker) {
          this.#o.log.warn("managed worker did not stop in time; killing it", {
            worker_local_id: workerLocalId,
            pid: worker.pid,
            grace_ms: graceMs,
          });
          signalGroup(worker.pid, "SIGKILL");
        }
        resolve();
      }, graceMs);
    });
    await Promise.race([worker.exited, killed]);
    clearTimeout(timer);
    await worker.exited;
  }

  /** SIGKILL to worker `workerLocalId`'s group now. */
  kill(workerLocalId: number): void {
    const worker = this.#live.get(workerLocalId);
    if (worker === undefined) return;
    worker.requested = true;
    signalGroup(worker.pid, "SIGKILL");
  }

  /** SIGKILL to every worker now, and no respawn. */
  killAll(): void {
    this.cancelRespawns();
    for (const workerLocalId of this.#live.keys()) this.kill(workerLocalId);
  }

  /** Marks every live worker as asked to stop. */
  markAllRequested(): void {
    for (const worker of this.#live.values()) worker.requested = true;
  }

  /** Drops every scheduled respawn. */
  cancelRespawns(): void {
    for (const timer of this.#respawns.values()) clearTimeout(timer);
    this.#respawns.clear();
  }

  /**
   * Respawns worker `workerLocalId` after its exit: at once when it was
   * running a task (`hadTask`), else with the restart backoff. Returns false
   * when the slot is given up instead.
   */
  respawn(workerLocalId: number, exit: WorkerExit, hadTask: boolean): boolean {
    const quick = !hadTask && exit.uptimeMs < this.#policy.quickDeathMs;
    const deaths = quick ? (this.#quickDeaths.get(workerLocalId) ?? 0) + 1 : 0;
    this.#quickDeaths.set(workerLocalId, deaths);
    const log = this.#o.log.child({ worker_local_id: workerLocalId });
    if (deaths >= this.#policy.maxQuickDeaths) {
      this.#givenUp.add(workerLocalId);
      log.error("managed worker keeps dying right after its start; giving up this worker slot", {
        quick_deaths: deaths,
      });
      return false;
    }
    const delayMs = deaths === 0
      ? 0
      : Math.min(this.#policy.initialDelayMs * 2 ** (deaths - 1), this.#policy.maxDelayMs);
    log.info("respawning managed worker", { delay_ms: delayMs, quick_deaths: deaths });
    const timer = setTimeout(() => {
      this.#respawns.delete(workerLocalId);
      this.spawn(workerLocalId);
    }, delayMs);
    this.#respawns.set(workerLocalId, timer);
    return true;
  }

  /** Resolves once every live worker has exited. */
  async allExited(): Promise<void> {
    while (this.#live.size > 0) await Promise.all([...this.#live.values()].map((w) => w.exited));
  }
}

/**
 * `mitosis-worker --managed --ipc ADDR --worker-local-id N`: a worker
 * spawned by a node manager (SPEC §6, §7). It holds no coordinator
 * credentials: it asks its manager for tasks over IPC and reports through
 * it, one task at a time, with the same execution engine as independent
 * workers (`shared/exec/`).
 *
 * - `ADDR` is `[backend:]address` (`unix:/path/ipc.sock`; no prefix means
 *   `unix`). The first request is `Hello` with the secret the manager put in
 *   `MITOSIS_WORKER_SECRET`; a refusal ends the worker (exit 1).
 * - Tasks inherit the worker's environment plus `MITOSIS_WORKER_PID` (this
 *   process) and `MITOSIS_WORKER_LOCAL_ID`; work dirs live under
 *   `--cache-dir` (the manager passes one per worker), removed at exit.
 * - As root, tasks run as `--task-user` (the manager passes its own
 *   `task_user`; see `shared/exec/task_user.ts`).
 * - `FetchTask` answered null: ask again (the manager already waited).
 * - `Shutdown {graceful: true}`: finish the current task, then exit 0.
 *   `Shutdown {graceful: false}`: kill the task's process group, exit 0.
 * - `CancelTask {task_id}` naming the current task: its process group is
 *   terminated and the task reported `Cancel`, `Commit {exit_status: 0,
 *   msg: UserCancellation}`.
 * - The manager going away (connection closed): kill the task's group,
 *   exit 1 — a managed worker never outlives its manager.
 * - SIGTERM/SIGINT: terminate the task's group (SIGTERM, 10 s, SIGKILL)
 *   without reporting it, exit 0; a second signal kills it at once and
 *   exits 130.
 */
import { runTask } from "../shared/exec/engine.ts";
import { inheritableEnvironment } from "../shared/exec/env.ts";
import { killAllTaskGroupsSync } from "../shared/exec/process.ts";
import { makeReachable, resolveTaskUser, type TaskUser, TaskUserError } from "../shared/exec/task_user.ts";
import { IPC_BACKEND_NAMES, type IpcBackendName, selectTransport } from "../shared/ipc/select.ts";
import type { IpcClient } from "../shared/ipc/transport.ts";
import { WORKER_SECRET_ENV } from "../shared/ipc/worker_secret.ts";
import { createLogger, type Logger, type LogLevel } from "../shared/log/logger.ts";
import type { WorkerControl } from "../shared/wire/ipc.ts";
import type { ManagedTask } from "../shared/wire/manager_ws.ts";
import type { WorkerTaskResp } from "../shared/wire/workers.ts";
import { IpcTaskReporter, RequestIds } from "./ipc_reporter.ts";
import { pause } from "./pause.ts";

/** The command-line flags of managed mode, for `loadConfig`'s `extraFlags`. */
export const MANAGED_FLAGS = {
  managed: { type: "boolean" },
  ipc: { type: "string" },
  "worker-local-id": { type: "string" },
} as const;

/** Settings of a managed worker. */
export interface ManagedWorkerOptions {
  /** `[backend:]address` of the manager's IPC endpoint. */
  ipc: string;
  workerLocalId: number;
  /** Directory of the task work dirs (removed at exit). */
  cacheDir: string;
  /** Tasks run as this user (the worker runs as root); see `shared/exec/task_user.ts`. */
  taskUser?: TaskUser;
  /** The secret proving to the manager that it spawned this worker (`MITOSIS_WORKER_SECRET`). */
  secret: string;
  log: Logger;
}

/** A null FetchTask reply sooner than this after the request is followed by a short pause (no busy loop). */
const FAST_EMPTY_REPLY_MS = 50;
const EMPTY_REPLY_PAUSE_MS = 200;

/** Splits `[backend:]address`; the backend defaults to `unix`. */
export function parseIpcAddress(value: string): { backend: IpcBackendName; address: string } {
  const colon = value.indexOf(":");
  if (colon > 0) {
    const backend = IPC_BACKEND_NAMES.find((name) => name === value.slice(0, colon));
    if (backend !== undefined) return { backend, address: value.slice(colon + 1) };
  }
  return { backend: "unix", address: value };
}

/** Parses `--worker-local-id`; null when it is not an integer in 0–65535. */
export function parseWorkerLocalId(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return null;
  const id = Number(value);
  return id <= 65_535 ? id : null;
}

/** A managed task as the engine takes it. */
function engineTask(task: ManagedTask): WorkerTaskResp {
  return {
    id: task.id,
    uuid: task.uuid,
    timeout: task.timeout,
    spec: task.spec,
    upstream_task_uuid: task.upstream_task_uuid,
  };
}

/** The task being run. */
interface Current {
  task: ManagedTask;
  /** Aborting interrupts the task (its process group is terminated, nothing more is reported by the engine). */
  interrupt: AbortController;
  cancelled: boolean;
}

/** One managed worker's run. */
class ManagedWorker {
  readonly #o: ManagedWorkerOptions;
  readonly #log: Logger;
  readonly #ids = new RequestIds();
  /** Stops fetching; aborted on Shutdown, signals, manager loss. */
  readonly #stop = new AbortController();
  #current: Current | null = null;
  /** Set when the worker must stop at once (forced shutdown, signal, manager gone): no task is started then. */
  #forced = false;
  #signals = 0;
  #leaving = false;

  constructor(options: ManagedWorkerOptions) {
    this.#o = options;
    this.#log = options.log;
  }

  async run(): Promise<number> {
    const { backend, address } = parseIpcAddress(this.#o.ipc);
    let client: IpcClient;
    try {
      const transport = selectTransport(backend, Deno.env.toObject(), { log: this.#log.child({ ipc: backend }) });
      client = await transport.connect(address, (message) => this.#onControl(message));
    } catch (error) {
      this.#log.error("cannot connect to the node manager", { ipc: this.#o.ipc, error });
      return 1;
    }
    const refused = await this.#hello(client);
    if (refused !== null) {
      this.#log.error("the node manager refused this worker", { ipc: this.#o.ipc, error: refused });
      this.#leaving = true;
      client.close();
      return 1;
    }
    this.#log.info("managed worker connected to its manager", { ipc: this.#o.ipc, pid: Deno.pid });
    let managerLost = false;
    client.closed.then(() => {
      if (this.#leaving) return;
      managerLost = true;
      this.#log.warn("node manager went away; killing the running task and exiting", {
        task_uuid: this.#current?.task.uuid ?? null,
      });
      this.#forced = true;
      killAllTaskGroupsSync();
      this.#current?.interrupt.abort("manager gone");
      this.#stop.abort("manager gone");
    });
    const onSignal = (signal: Deno.Signal) => this.#onSignal(signal);
    const onTerm = () => onSignal("SIGTERM");
    const onInt = () => onSignal("SIGINT");
    Deno.addSignalListener("SIGTERM", onTerm);
    Deno.addSignalListener("SIGINT", onInt);
    try {
      await Deno.mkdir(this.#o.cacheDir, { recursive: true });
      if (this.#o.taskUser !== undefined) makeReachable(this.#o.cacheDir, this.#log);
      await this.#loop(client);
    } catch (error) {
      if (!managerLost) this.#log.error("managed worker failed", { error });
      killAllTaskGroupsSync();
      managerLost = true;
    } finally {
      this.#leaving = true;
      client.close();
      Deno.removeSignalListener("SIGTERM", onTerm);
      Deno.removeSignalListener("SIGINT", onInt);
      await Deno.remove(this.#o.cacheDir, { recursive: true }).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) {
          this.#log.error("cannot remove the worker cache dir", { path: this.#o.cacheDir, error });
        }
      });
    }
    return managerLost ? 1 : 0;
  }

  /** Says `Hello` with the secret from the manager; resolves null when accepted, else why not. */
  async #hello(client: IpcClient): Promise<string | null> {
    try {
      const reply = await client.request({
        type: "Hello",
        request_id: this.#ids.next(),
        worker_local_id: this.#o.workerLocalId,
        secret: this.#o.secret,
      });
      if (reply.type === "HelloReply") return null;
      return reply.type === "Error" ? reply.msg : `unexpected reply ${reply.type}`;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  async #loop(client: IpcClient): Promise<void> {
    const reporter = new IpcTaskReporter(client, this.#o.workerLocalId, this.#ids, this.#log);
    const baseEnv = {
      ...inheritableEnvironment(),
      MITOSIS_WORKER_PID: String(Deno.pid),
      MITOSIS_WORKER_LOCAL_ID: String(this.#o.workerLocalId),
    };
    while (!this.#stop.signal.aborted) {
      const asked = performance.now();
      const reply = await client.request({
        type: "FetchTask",
        request_id: this.#ids.next(),
        worker_local_id: this.#o.workerLocalId,
      });
      if (this.#forced) break;
      if (reply.type === "Error") {
        this.#log.warn("manager refused the task fetch", { error: reply.msg });
        await pause(1_000, this.#stop.signal);
        continue;
      }
      if (reply.type !== "FetchTaskReply") {
        this.#log.error("unexpected reply to FetchTask", { type: reply.type });
        await pause(1_000, this.#stop.signal);
        continue;
      }
      if (reply.task === null) {
        if (performance.now() - asked < FAST_EMPTY_REPLY_MS) await pause(EMPTY_REPLY_PAUSE_MS, this.#stop.signal);
        continue;
      }
      // Handed over even when a graceful Shutdown crossed the reply: run it (graceful means finish the task).
      await this.#runOne(reply.task, reporter, baseEnv);
    }
  }

  async #runOne(task: ManagedTask, reporter: IpcTaskReporter, baseEnv: Record<string, string>): Promise<void> {
    const current: Current = { task, interrupt: new AbortController(), cancelled: false };
    this.#current = current;
    const log = this.#log.child({ task_uuid: task.uuid, attempt: task.attempt });
    try {
      const outcome = await runTask(engineTask(task), reporter, {
        cacheDir: this.#o.cacheDir,
        log,
        signal: current.interrupt.signal,
        baseEnv,
        taskUser: this.#o.taskUser,
        // One guard process for all of this worker's tasks rather than one per task (two program executions saved).
        sharedGuard: true,
      });
      log.info("task done", {
        outcome: outcome.kind,
        ...(outcome.kind === "committed"
          ? { exit_status: outcome.result.exit_status, result_msg: outcome.result.msg }
          : {}),
      });
      if (current.cancelled && outcome.kind === "interrupted") await this.#commitCancelled(task, reporter, log);
    } finally {
      this.#current = null;
    }
  }

  async #commitCancelled(task: ManagedTask, reporter: IpcTaskReporter, log: Logger): Promise<void> {
    try {
      await reporter.report(task.id, "Cancel");
      await reporter.report(task.id, { Commit: { exit_status: 0, msg: "UserCancellation" } });
      log.info("cancelled task committed", { result_msg: "UserCancellation" });
    } catch (error) {
      log.warn("cannot report the cancelled task", { error });
    }
  }

  #onControl(message: WorkerControl): void {
    switch (message.type) {
      case "Shutdown":
        this.#log.info("shutdown requested by the manager", {
          graceful: message.graceful,
          task_uuid: this.#current?.task.uuid ?? null,
        });
        this.#stop.abort("shutdown");
        if (!message.graceful) {
          this.#forced = true;
          killAllTaskGroupsSync();
          this.#current?.interrupt.abort("forced shutdown");
        }
        return;
      case "CancelTask": {
        const current = this.#current;
        if (current === null || current.task.id !== message.task_id) {
          this.#log.info("cancellation of a task this worker does not run ignored", { task_id: message.task_id });
          return;
        }
        this.#log.info("task cancelled by the manager", { task_uuid: current.task.uuid });
        current.cancelled = true;
        current.interrupt.abort("cancelled");
        return;
      }
    }
  }

  #onSignal(signal: Deno.Signal): void {
    this.#signals++;
    if (this.#signals === 1) {
      this.#log.info("signal received: stopping", { signal, task_uuid: this.#current?.task.uuid ?? null });
      this.#forced = true;
      this.#stop.abort(`signal ${signal}`);
      this.#current?.interrupt.abort(`signal ${signal}`);
      return;
    }
    this.#log.warn("second signal: killing the running task and exiting now", { signal });
    killAllTaskGroupsSync();
    try {
      Deno.removeSync(this.#o.cacheDir, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.#log.error("cannot remove the worker cache dir", { path: this.#o.cacheDir, error });
      }
    }
    Deno.exit(130);
  }
}

/** Runs a managed worker until it is told to stop or its manager goes away; resolves with the exit code. */
export function runManagedWorker(options: ManagedWorkerOptions): Promise<number> {
  return new ManagedWorker(options).run();
}

/**
 * Entry of managed mode from `worker/main.ts`: checks `--ipc` and
 * `--worker-local-id` (exit 2 with a message when missing or bad), then runs
 * the worker. The cache dir is `--cache-dir` as given (the manager passes
 * one per worker), else `<cache root>/managed-<N>-<pid>`.
 */
export async function managedMain(
  config: { cache_dir?: string; task_user: string; log_level: LogLevel },
  extra: Record<string, string | boolean | string[] | undefined>,
  cacheRoot: string,
): Promise<number> {
  const ipc = extra.ipc;
  const workerLocalId = parseWorkerLocalId(
    typeof extra["worker-local-id"] === "string" ? extra["worker-local-id"] : undefined,
  );
  if (typeof ipc !== "string" || ipc === "") {
    console.error("mitosis-worker: --managed needs --ipc ADDR (the node manager's IPC address)");
    return 2;
  }
  if (workerLocalId === null) {
    console.error("mitosis-worker: --managed needs --worker-local-id N (an integer from 0 to 65535)");
    return 2;
  }
  const log = createLogger("worker", config.log_level, { worker_local_id: workerLocalId, managed: true });
  const cacheDir = config.cache_dir ?? `${cacheRoot}/managed-${workerLocalId}-${Deno.pid}`;
  let taskUser: TaskUser | null;
  try {
    // The manager warned about "root" already.
    taskUser = await resolveTaskUser(config.task_user, { create: true, warnOptOut: false, log });
  } catch (error) {
    if (!(error instanceof TaskUserError)) throw error;
    log.error("cannot run tasks as the task user", { task_user: config.task_user, error: error.message });
    return 1;
  }
  const secret = Deno.env.get(WORKER_SECRET_ENV) ?? "";
  return await runManagedWorker({ ipc, workerLocalId, cacheDir, log, taskUser: taskUser ?? undefined, secret });
}

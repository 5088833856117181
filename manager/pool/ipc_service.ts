/**
 * The manager's side of the worker IPC (SPEC §7): answers managed workers'
 * requests and keeps track of which worker runs which task.
 *
 * - `FetchTask` → the next task from the prefetch buffer (waiting briefly
 *   when it is empty), recorded as that worker's assignment before the reply
 *   leaves. `task: null` means "ask again"; once the buffer is exhausted or
 *   the execution stops, the reply is null and the worker also gets
 *   `Shutdown {graceful: true}`. No task is handed out while the suite
 *   assignment is not confirmed (`assignment`, see
 *   `manager/connection/assignment_lease.ts`).
 * - `ReportTask` → relayed with `link.reportTask(task_id, attempt, op)` for
 *   the task the worker is assigned (`Upload` answers carry the presigned
 *   URL); a report about any other task is refused. A `Commit` (or any
 *   refused report: the task is no longer this manager's) ends the
 *   assignment. `Finish` and `Commit` are acknowledged to the worker at
 *   once. A `Finish` is held back until the task's next report: a `Commit`
 *   then travels with it as one `Complete` (one coordinator write per task
 *   with nothing to upload), any other report goes after it. Reports travel
 *   to the coordinator behind the task's earlier reports, in `ReportTasks`
 *   messages shared by all workers (`connection/report_batcher.ts`):
 *   the worker takes its next task without waiting for a coordinator round
 *   trip, and goes on while the coordinator is unreachable (the link queues
 *   the reports until it is back, and sends them again when the coordinator
 *   answers `Error`). A refusal that comes back later refuses
 *   the task's further reports; `settled()` waits for every report still
 *   travelling (before the suite is reported complete).
 * - `ResourceUrl` → a download URL for a resource of the worker's task,
 *   through the manager's resource provider (`POST /managers/resources`).
 * - `TaskState` → the state of the task the worker's task watches, through
 *   the manager's task provider (`GET /managers/tasks/{uuid}`).
 * - `Heartbeat` → acknowledged.
 *
 * A worker is identified by its `worker_local_id`; one connection may only
 * speak for one worker. Its first request must be `Hello` with the secret
 * the manager drew when it spawned that worker (`expectWorker`): a first
 * request that is not `Hello`, a wrong secret, a `worker_local_id` the
 * manager did not spawn (or whose worker has exited) and a second connection
 * for a worker that is connected all get `Error`, and the connection is
 * closed. Any process of the manager's uid can reach the socket; only the
 * workers it spawned know their secret.
 */
import { ClientError } from "../../shared/client/errors.ts";
import type { IpcHandler, IpcPeer } from "../../shared/ipc/transport.ts";
import { secretsEqual } from "../../shared/ipc/worker_secret.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { ManagerReply, ValidWorkerRequest } from "../../shared/wire/ipc.ts";
import type { ManagedTask, ManagerReportOp } from "../../shared/wire/manager_ws.ts";
import type { RemoteResourceDownloadResp } from "../../shared/wire/storage.ts";
import type { RemoteResource, TaskResultSpec } from "../../shared/wire/tasks.ts";
import type { WorkerTaskResp } from "../../shared/wire/workers.ts";
import type { CoordinatorLink, ReportAck } from "../contracts.ts";
import type { PrefetchBuffer } from "./prefetch.ts";
import { type MetricsRecorder, NO_METRICS, secondsSince } from "../prometheus/recorder.ts";

/**
 * Obtains a presigned download URL for a resource of a suite this manager
 * serves (`ManagerApi.resourceUrl`, `POST /managers/resources`); throws a
 * `ClientError` (404 → NotFound, 403 → Forbidden) when refused.
 */
export type ResourceUrlProvider = (
  suiteUuid: string,
  resource: RemoteResource,
  signal?: AbortSignal,
) => Promise<RemoteResourceDownloadResp>;

/**
 * Reads any task's state and result (`ManagerApi.watchedTask`,
 * `GET /managers/tasks/{uuid}`); throws a `ClientError` (404) when unknown.
 */
export type WatchedTaskProvider = (uuid: string, signal?: AbortSignal) => Promise<WorkerTaskResp>;

/** A task handed to a worker and not yet committed. */
export interface Assignment {
  task: ManagedTask;
  workerLocalId: number;
  /** Connection id of the worker's IPC peer. */
  peerId: number;
  /** Set once the coordinator asked to cancel the task. */
  cancelled: boolean;
  /** Set when the coordinator refused a report acknowledged earlier: the task is no longer this manager's. */
  refused?: string;
  /** The worker reported `Finish`, not yet relayed: it travels with the task's next report. */
  finishHeld?: boolean;
}

/** Options of the `IpcService`. */
export interface IpcServiceOptions {
  link: CoordinatorLink;
  buffer: PrefetchBuffer;
  suiteUuid: string;
  log: Logger;
  /** How long a worker's FetchTask waits for a task when the buffer is empty. */
  fetchWaitMs: number;
  /** True once the execution stops handing out tasks. */
  isStopping: () => boolean;
  /** A task a worker took but can no longer run (its worker died while the fetch waited). */
  onUnclaimed: (task: ManagedTask) => void;
  /**
   * A worker gave a task up without committing it although the coordinator
   * never refused it (a report could not be relayed, or the engine failed):
   * the task is still this manager's. Also a cancelled task whose worker
   * outlived the cancellation (`cancelled` set).
   */
  onAbandoned: (assignment: Assignment) => void;
  /** A task was committed through a worker (`accepted`: the coordinator took the commit). */
  onCommitted: (task: ManagedTask, result: TaskResultSpec, accepted: boolean) => void;
  /** The set of assignments changed (a task started or ended). */
  onAssignmentsChanged: () => void;
  /** A worker was sent `Shutdown` (its exit is then a requested one). */
  onShutdownSent: (workerLocalId: number) => void;
  resourceUrl?: ResourceUrlProvider;
  watchedTask?: WatchedTaskProvider;
  /**
   * Whether the suite assignment is confirmed (`fresh`), and a wait of at
   * most `waitMs` for a confirmation (dropping what the buffer holds when it
   * lapsed); without it tasks are always handed out.
   */
  assignment?: { fresh(): boolean; confirm(waitMs: number): Promise<boolean> };
  /** Records each FetchTask's reply time (default: nothing). */
  metrics?: MetricsRecorder;
}

/** Limit of one resource URL request relayed for a worker. */
const RESOURCE_URL_TIMEOUT_MS = 60_000;

/** The result a `Commit` or `Complete` carries; null for other reports. */
function committedResult(op: ManagerReportOp): TaskResultSpec | null {
  if (typeof op !== "object") return null;
  const result = "Commit" in op ? op.Commit : "Complete" in op ? op.Complete : null;
  return result === null ? null : { ...result, msg: result.msg ?? null };
}

/** Name of a report operation, for logs. */
function opName(op: unknown): string {
  return typeof op === "string" ? op : Object.keys(op as object)[0] ?? "?";
}

/** The IPC handler of one suite execution. */
export class IpcService implements IpcHandler {
  readonly #o: IpcServiceOptions;
  readonly #assignments = new Map<number, Assignment>();
  /** Worker local id each connection speaks for. */
  readonly #peerWorker = new Map<number, number>();
  /** Connections whose worker is gone (disconnected, or its process exited). */
  readonly #deadPeers = new Set<number>();
  /** The current connection of each worker. */
  readonly #workerPeer = new Map<number, IpcPeer>();
  /** The last report relayed for each task (by task id): the next one goes after it. */
  readonly #chains = new Map<number, Promise<unknown>>();
  /** Reports acknowledged to workers and still travelling to the coordinator. */
  readonly #travelling = new Set<Promise<void>>();
  /** The secret of each worker spawned and not yet exited. */
  readonly #secrets = new Map<number, string>();

  constructor(options: IpcServiceOptions) {
    this.#o = options;
  }

  /** Tasks currently assigned to workers. */
  get assignments(): ReadonlyMap<number, Assignment> {
    return this.#assignments;
  }

  /** How many acknowledged reports are still travelling to the coordinator. */
  get travelling(): number {
    return this.#travelling.size;
  }

  /** Resolves once every acknowledged report has been answered by the coordinator (or failed). */
  async settled(): Promise<void> {
    while (this.#travelling.size > 0) await Promise.all(this.#travelling);
  }

  /** The assignment of the task `uuid`, if a worker runs it. */
  findTask(uuid: string): Assignment | undefined {
    for (const assignment of this.#assignments.values()) {
      if (assignment.task.uuid === uuid) return assignment;
    }
    return undefined;
  }

  /** Marks the task a worker runs as cancelled: its further reports are refused. */
  markCancelled(uuid: string): Assignment | undefined {
    const assignment = this.findTask(uuid);
    if (assignment !== undefined) assignment.cancelled = true;
    return assignment;
  }

  /** Worker `workerLocalId` is being spawned with `secret`: its `Hello` must carry it. */
  expectWorker(workerLocalId: number, secret: string): void {
    this.#secrets.set(workerLocalId, secret);
  }

  /**
   * The worker process `workerLocalId` exited: its connection is dead, its
   * secret is void, and its assignment (returned) ends.
   */
  workerExited(workerLocalId: number): Assignment | undefined {
    this.#secrets.delete(workerLocalId);
    const peer = this.#workerPeer.get(workerLocalId);
    if (peer !== undefined) {
      this.#deadPeers.add(peer.id);
      this.#workerPeer.delete(workerLocalId);
    }
    const assignment = this.#assignments.get(workerLocalId);
    if (assignment !== undefined) {
      this.#assignments.delete(workerLocalId);
      this.#o.onAssignmentsChanged();
    }
    return assignment;
  }

  /** Sends `Shutdown {graceful}` to every connected worker. */
  shutdownAll(graceful: boolean): void {
    for (const [workerLocalId, peer] of this.#workerPeer) {
      this.#o.onShutdownSent(workerLocalId);
      peer.control({ type: "Shutdown", graceful });
    }
  }

  onConnect(peer: IpcPeer): void {
    this.#o.log.debug("managed worker connected", { peer: peer.id });
  }

  onDisconnect(peer: IpcPeer): void {
    this.#deadPeers.add(peer.id);
    const workerLocalId = this.#peerWorker.get(peer.id);
    if (workerLocalId !== undefined && this.#workerPeer.get(workerLocalId) === peer) {
      this.#workerPeer.delete(workerLocalId);
    }
    this.#peerWorker.delete(peer.id);
    this.#o.log.debug("managed worker disconnected", { peer: peer.id, worker_local_id: workerLocalId ?? null });
  }

  async onRequest(peer: IpcPeer, request: ValidWorkerRequest): Promise<ManagerReply> {
    if (request.type === "Hello") return this.#hello(peer, request);
    const bound = this.#peerWorker.get(peer.id);
    if (bound === undefined) {
      return this.#refuse(peer, request, `the first request of a connection must be Hello, not ${request.type}`);
    } else if (bound !== request.worker_local_id) {
      return {
        type: "Error",
        request_id: request.request_id,
        msg: `this connection speaks for worker ${bound}, not ${request.worker_local_id}`,
      };
    }
    switch (request.type) {
      case "FetchTask": {
        const startedAt = performance.now();
        const reply = await this.#fetchTask(peer, request.request_id, request.worker_local_id);
        (this.#o.metrics ?? NO_METRICS).ipcFetch(
          secondsSince(startedAt),
          reply.type === "FetchTaskReply" && reply.task !== null,
        );
        return reply;
      }
      case "ReportTask":
        return await this.#reportTask(peer, request);
      case "ResourceUrl":
        return await this.#resourceUrl(peer, request);
      case "TaskState":
        return await this.#taskState(peer, request);
      case "Heartbeat":
        return { type: "HeartbeatReply", request_id: request.request_id };
    }
  }

  /** Binds the connection to the worker whose secret it proved. */
  #hello(peer: IpcPeer, request: Extract<ValidWorkerRequest, { type: "Hello" }>): ManagerReply {
    const id = request.worker_local_id;
    if (this.#peerWorker.has(peer.id)) return this.#refuse(peer, request, "this connection has already said Hello");
    const expected = this.#secrets.get(id);
    if (expected === undefined) return this.#refuse(peer, request, `worker ${id} is not a worker this manager runs`);
    if (!secretsEqual(request.secret, expected)) return this.#refuse(peer, request, `wrong secret for worker ${id}`);
    const current = this.#workerPeer.get(id);
    if (current !== undefined && !this.#deadPeers.has(current.id)) {
      return this.#refuse(peer, request, `worker ${id} is already connected`);
    }
    this.#peerWorker.set(peer.id, id);
    this.#workerPeer.set(id, peer);
    this.#o.log.debug("managed worker authenticated", { peer: peer.id, worker_local_id: id });
    return { type: "HelloReply", request_id: request.request_id };
  }

  /** Answers `Error` and closes the connection (logged as a warning: someone may be impersonating a worker). */
  #refuse(peer: IpcPeer, request: ValidWorkerRequest, msg: string): ManagerReply {
    this.#o.log.warn("IPC connection refused", {
      peer: peer.id,
      type: request.type,
      worker_local_id: request.worker_local_id,
      error: msg,
    });
    peer.close();
    return { type: "Error", request_id: request.request_id, msg };
  }

  async #fetchTask(peer: IpcPeer, requestId: number, workerLocalId: number): Promise<ManagerReply> {
    const log = this.#o.log.child({ worker_local_id: workerLocalId });
    const previous = this.#assignments.get(workerLocalId);
    if (previous !== undefined) {
      // The worker dropped its task without committing it (not after a refusal: that ends the assignment at once).
      log.warn("worker asked for a new task without committing its previous one", {
        task_uuid: previous.task.uuid,
      });
      this.#assignments.delete(workerLocalId);
      this.#o.onAbandoned(previous);
      this.#o.onAssignmentsChanged();
    }
    const { buffer, assignment } = this.#o;
    if (this.#o.isStopping() || buffer.exhausted) return this.#noMoreTasks(peer, workerLocalId, requestId);
    if (assignment !== undefined && !await assignment.confirm(this.#o.fetchWaitMs)) {
      log.debug("suite assignment not confirmed by the coordinator; no task handed out");
      return { type: "FetchTaskReply", request_id: requestId, task: null };
    }
    const task = await buffer.next(this.#o.fetchWaitMs);
    if (task === null) {
      if (this.#o.isStopping() || buffer.exhausted) return this.#noMoreTasks(peer, workerLocalId, requestId);
      return { type: "FetchTaskReply", request_id: requestId, task: null };
    }
    if (this.#deadPeers.has(peer.id)) {
      log.info("worker went away while waiting for a task; task kept for another worker", { task_uuid: task.uuid });
      this.#o.onUnclaimed(task);
      return { type: "FetchTaskReply", request_id: requestId, task: null };
    }
    if (assignment !== undefined && !assignment.fresh()) {
      // The assignment lapsed while the fetch waited (the manager was frozen): the next fetch decides.
      this.#o.onUnclaimed(task);
      return { type: "FetchTaskReply", request_id: requestId, task: null };
    }
    this.#assignments.set(workerLocalId, { task, workerLocalId, peerId: peer.id, cancelled: false });
    this.#o.onAssignmentsChanged();
    log.debug("task handed to worker", { task_uuid: task.uuid, attempt: task.attempt });
    return { type: "FetchTaskReply", request_id: requestId, task };
  }

  #noMoreTasks(peer: IpcPeer, workerLocalId: number, requestId: number): ManagerReply {
    this.#o.onShutdownSent(workerLocalId);
    peer.control({ type: "Shutdown", graceful: true });
    return { type: "FetchTaskReply", request_id: requestId, task: null };
  }

  /** The worker's assignment if it is about `taskId` and still live, else the reason to refuse. */
  #assignmentFor(peer: IpcPeer, workerLocalId: number, taskId: number): Assignment | string {
    const assignment = this.#assignments.get(workerLocalId);
    if (assignment === undefined || assignment.peerId !== peer.id || assignment.task.id !== taskId) {
      return `task ${taskId} is not assigned to worker ${workerLocalId}`;
    }
    if (assignment.cancelled) return `task ${assignment.task.uuid} was cancelled`;
    if (assignment.refused !== undefined) return assignment.refused;
    return assignment;
  }

  async #reportTask(
    peer: IpcPeer,
    request: Extract<ValidWorkerRequest, { type: "ReportTask" }>,
  ): Promise<ManagerReply> {
    const { request_id, worker_local_id, task_id, op } = request;
    const assignment = this.#assignmentFor(peer, worker_local_id, task_id);
    if (typeof assignment === "string") {
      return { type: "ReportTaskReply", request_id, success: false, url: null, error: assignment };
    }
    const { task } = assignment;
    const log = this.#o.log.child({ worker_local_id, task_uuid: task.uuid, op: opName(op) });
    if (op === "Finish" && assignment.finishHeld !== true) {
      // Held back: a Commit next travels with it as one Complete; any other report is preceded by it.
      assignment.finishHeld = true;
      return { type: "ReportTaskReply", request_id, success: true, url: null, error: null };
    }
    const isCommit = typeof op === "object" && "Commit" in op;
    let relayedOp: ManagerReportOp = op;
    if (assignment.finishHeld === true) {
      assignment.finishHeld = false;
      if (isCommit) relayedOp = { Complete: op.Commit };
      else this.#track(this.#settle(this.#relay(task, "Finish"), assignment, "Finish", log));
    }
    const relayed = this.#relay(task, relayedOp);
    if (isCommit) {
      this.#endAssignment(worker_local_id, assignment);
      this.#track(this.#settle(relayed, assignment, relayedOp, log));
      return { type: "ReportTaskReply", request_id, success: true, url: null, error: null };
    }
    let ack;
    try {
      ack = await relayed;
    } catch (error) {
      log.error("cannot relay the task report to the coordinator", { error });
      return { type: "Error", request_id, msg: `report not relayed: ${(error as Error).message ?? String(error)}` };
    }
    if (!ack.success) {
      log.warn("task report refused by the coordinator", { error: ack.error ?? null });
      this.#endAssignment(worker_local_id, assignment);
    }
    return {
      type: "ReportTaskReply",
      request_id,
      success: ack.success,
      url: ack.url ?? null,
      error: ack.error ?? null,
    };
  }

  /** Sends a report for `task` once its earlier reports are answered, keeping their order at the coordinator. */
  #relay(task: ManagedTask, op: ManagerReportOp): Promise<ReportAck> {
    const previous = this.#chains.get(task.id) ?? Promise.resolve();
    const next = previous.catch(() => {/* the earlier report's failure was logged */}).then(() =>
      this.#o.link.reportTask(task.id, task.attempt, op)
    );
    this.#chains.set(task.id, next);
    const forget = () => {
      if (this.#chains.get(task.id) === next) this.#chains.delete(task.id);
    };
    next.then(forget, forget);
    return next;
  }

  /** The coordinator's answer to an acknowledged `Finish` or `Commit` (or `Complete`). */
  async #settle(relayed: Promise<ReportAck>, assignment: Assignment, op: ManagerReportOp, log: Logger): Promise<void> {
    const result = committedResult(op);
    const isCommit = result !== null;
    let ack: ReportAck;
    try {
      ack = await relayed;
    } catch (error) {
      log.error("cannot relay the task report to the coordinator", { error });
      // The task is still this manager's as far as the coordinator knows: hand it back.
      if (isCommit) this.#o.onAbandoned(assignment);
      return;
    }
    if (!ack.success) {
      log.warn("task report refused by the coordinator", { error: ack.error ?? null });
      assignment.refused = `task ${assignment.task.uuid}: ${ack.error ?? "report refused by the coordinator"}`;
      this.#endAssignment(assignment.workerLocalId, assignment);
    }
    if (result !== null) this.#o.onCommitted(assignment.task, result, ack.success);
  }

  #track(settling: Promise<void>): void {
    const tracked: Promise<void> = settling
      .catch((error) => this.#o.log.error("handling a report's answer failed", { error }))
      .finally(() => {
        this.#travelling.delete(tracked);
        this.#o.onAssignmentsChanged();
      });
    this.#travelling.add(tracked);
  }

  /** Ends the worker's assignment if it is still `assignment`. */
  #endAssignment(workerLocalId: number, assignment: Assignment): void {
    if (this.#assignments.get(workerLocalId) !== assignment) return;
    this.#assignments.delete(workerLocalId);
    this.#o.onAssignmentsChanged();
  }

  async #taskState(
    peer: IpcPeer,
    request: Extract<ValidWorkerRequest, { type: "TaskState" }>,
  ): Promise<ManagerReply> {
    const { request_id, worker_local_id, task_uuid } = request;
    const reply = (
      status: "Ok" | "NotFound" | "Forbidden" | "Unavailable",
      error: string | null,
      found?: WorkerTaskResp,
    ): ManagerReply => ({
      type: "TaskStateReply",
      request_id,
      status,
      state: found?.state ?? null,
      result: found?.result ?? null,
      error,
    });
    const current = this.#assignments.get(worker_local_id);
    const assignment = current === undefined
      ? `worker ${worker_local_id} runs no task`
      : this.#assignmentFor(peer, worker_local_id, current.task.id);
    if (typeof assignment === "string") return reply("Forbidden", assignment);
    if (assignment.task.spec.watch?.[0] !== task_uuid) {
      return reply("Forbidden", `task ${assignment.task.uuid} does not watch ${task_uuid}`);
    }
    const provider = this.#o.watchedTask;
    if (provider === undefined) return reply("Unavailable", "this manager was started without a task state provider");
    try {
      return reply("Ok", null, await provider(task_uuid, AbortSignal.timeout(RESOURCE_URL_TIMEOUT_MS)));
    } catch (error) {
      if (error instanceof ClientError && error.status === 404) return reply("NotFound", error.msg);
      this.#o.log.warn("cannot read a watched task for a worker", { worker_local_id, task_uuid, error });
      return reply("Unavailable", error instanceof Error ? error.message : String(error));
    }
  }

  async #resourceUrl(
    peer: IpcPeer,
    request: Extract<ValidWorkerRequest, { type: "ResourceUrl" }>,
  ): Promise<ManagerReply> {
    const { request_id, worker_local_id, task_uuid, resource } = request;
    const reply = (
      status: "Ok" | "NotFound" | "Forbidden" | "Unavailable",
      error: string | null,
      found?: RemoteResourceDownloadResp,
    ): ManagerReply => ({
      type: "ResourceUrlReply",
      request_id,
      status,
      url: found?.url ?? null,
      size: found?.size ?? null,
      error,
    });
    const current = this.#assignments.get(worker_local_id);
    const assignment = current?.task.uuid === task_uuid
      ? this.#assignmentFor(peer, worker_local_id, current.task.id)
      : `task ${task_uuid} is not assigned to worker ${worker_local_id}`;
    if (typeof assignment === "string") return reply("Forbidden", assignment);
    const wanted = JSON.stringify(resource);
    if (!assignment.task.spec.resources.some((r) => JSON.stringify(r.remote_file) === wanted)) {
      return reply("Forbidden", `not a resource of task ${assignment.task.uuid}`);
    }
    const provider = this.#o.resourceUrl;
    if (provider === undefined) {
      return reply("Unavailable", "this manager was started without a resource URL provider");
    }
    try {
      const found = await provider(this.#o.suiteUuid, resource, AbortSignal.timeout(RESOURCE_URL_TIMEOUT_MS));
      return reply("Ok", null, found);
    } catch (error) {
      if (error instanceof ClientError && (error.status === 404 || error.status === 403)) {
        return reply(error.status === 404 ? "NotFound" : "Forbidden", error.msg);
      }
      this.#o.log.warn("cannot obtain a resource URL for a worker", {
        worker_local_id,
        task_uuid: assignment.task.uuid,
        error,
      });
      return reply("Unavailable", error instanceof Error ? error.message : String(error));
    }
  }
}

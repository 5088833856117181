/**
 * The execution engine's `TaskReporter` over the manager IPC (SPEC §7), for
 * managed workers, which hold no coordinator credentials:
 *
 * - `report` → `ReportTask`; the manager relays it to the coordinator and
 *   answers `success` (with the presigned URL of an `Upload`). A refused
 *   report (the task is no longer this manager's, or was cancelled) becomes
 *   `TaskGoneError`, so the engine drops the task.
 * - `resourceUrl` → `ResourceUrl`; the manager asks the coordinator
 *   (`POST /managers/resources`). NotFound / Forbidden become
 *   `ResourceAccessError`.
 * - `watchedTask` → `TaskState`; the manager asks the coordinator
 *   (`GET /managers/tasks/{uuid}`). NotFound becomes null (the engine then
 *   commits `WatchTimeout`); Forbidden and Unavailable are errors, which the
 *   engine's watch loop logs and retries until its window closes.
 *
 * The manager going away rejects every pending request; the worker exits
 * then anyway (see `managed.ts`).
 */
import { ResourceAccessError, TaskGoneError, type TaskReporter, type WatchedTask } from "../shared/exec/reporter.ts";
import type { IpcClient } from "../shared/ipc/transport.ts";
import type { Logger } from "../shared/log/logger.ts";
import type { ManagerReply, WorkerRequest } from "../shared/wire/ipc.ts";
import type { RemoteResourceDownloadResp } from "../shared/wire/storage.ts";
import type { RemoteResource } from "../shared/wire/tasks.ts";
import type { ReportTaskOp } from "../shared/wire/workers.ts";

/** Hands out request ids unique on one IPC connection. */
export class RequestIds {
  #next = 0;
  /** The next id. */
  next(): number {
    return this.#next++;
  }
}

/** Sends `request` and awaits its reply, or rejects with the signal's reason when it aborts first. */
export function requestWithSignal(
  client: IpcClient,
  request: WorkerRequest,
  signal?: AbortSignal,
): Promise<ManagerReply> {
  if (signal === undefined) return client.request(request);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    client.request(request).then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Name of a report operation, for messages. */
function opName(op: ReportTaskOp): string {
  return typeof op === "string" ? op : Object.keys(op)[0];
}

/** A `TaskReporter` talking to the node manager. */
export class IpcTaskReporter implements TaskReporter {
  readonly #client: IpcClient;
  readonly #workerLocalId: number;
  readonly #ids: RequestIds;
  readonly #log: Logger;

  constructor(client: IpcClient, workerLocalId: number, ids: RequestIds, log: Logger) {
    this.#client = client;
    this.#workerLocalId = workerLocalId;
    this.#ids = ids;
    this.#log = log;
  }

  async report(taskId: number, op: ReportTaskOp, signal?: AbortSignal): Promise<string | null> {
    const what = `report ${opName(op)} on task ${taskId}`;
    const reply = await requestWithSignal(this.#client, {
      type: "ReportTask",
      request_id: this.#ids.next(),
      worker_local_id: this.#workerLocalId,
      task_id: taskId,
      op,
    }, signal);
    if (reply.type === "ReportTaskReply") {
      if (reply.success) return reply.url ?? null;
      throw new TaskGoneError(`${what} refused: ${reply.error ?? "no reason given"}`);
    }
    if (reply.type === "Error") throw new Error(`${what} failed: ${reply.msg}`);
    throw new Error(`${what}: unexpected ${reply.type} reply`);
  }

  async resourceUrl(
    taskUuid: string,
    resource: RemoteResource,
    signal?: AbortSignal,
  ): Promise<RemoteResourceDownloadResp> {
    const reply = await requestWithSignal(this.#client, {
      type: "ResourceUrl",
      request_id: this.#ids.next(),
      worker_local_id: this.#workerLocalId,
      task_uuid: taskUuid,
      resource,
    }, signal);
    if (reply.type === "Error") throw new Error(`resource URL request failed: ${reply.msg}`);
    if (reply.type !== "ResourceUrlReply") throw new Error(`resource URL request: unexpected ${reply.type} reply`);
    switch (reply.status) {
      case "Ok":
        if (typeof reply.url !== "string" || typeof reply.size !== "number") {
          throw new Error("resource URL reply without url and size");
        }
        return { url: reply.url, size: reply.size };
      case "NotFound":
      case "Forbidden":
        throw new ResourceAccessError(reply.status, reply.error ?? `resource ${reply.status}`);
      case "Unavailable":
        throw new Error(`the manager cannot obtain the resource URL: ${reply.error ?? "no reason given"}`);
    }
  }

  async watchedTask(uuid: string, signal?: AbortSignal): Promise<WatchedTask | null> {
    const reply = await requestWithSignal(this.#client, {
      type: "TaskState",
      request_id: this.#ids.next(),
      worker_local_id: this.#workerLocalId,
      task_uuid: uuid,
    }, signal);
    if (reply.type === "Error") throw new Error(`task state request failed: ${reply.msg}`);
    if (reply.type !== "TaskStateReply") throw new Error(`task state request: unexpected ${reply.type} reply`);
    switch (reply.status) {
      case "Ok":
        return { state: reply.state ?? "Unknown", result: reply.result ?? null };
      case "NotFound":
        return null;
      case "Forbidden":
      case "Unavailable":
        throw new Error(`the manager cannot read task ${uuid}: ${reply.error ?? reply.status}`);
    }
  }
}

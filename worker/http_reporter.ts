/**
 * The execution engine's `TaskReporter` over the worker HTTP API. Maps the
 * answers the engine acts on — 404 on a report (task reclaimed), 401 (worker
 * removed), 404/403 on a resource — to the engine's error classes, and retries
 * while the coordinator is unreachable or answers 502/503/504, as the existing
 * worker does, until the call's signal aborts.
 */
import { ClientError } from "../shared/client/client.ts";
import type { WorkerClient } from "../shared/client/worker_client.ts";
import {
  ResourceAccessError,
  TaskGoneError,
  type TaskReporter,
  type WatchedTask,
  WorkerRemovedError,
} from "../shared/exec/reporter.ts";
import type { Logger } from "../shared/log/logger.ts";
import type { RemoteResourceDownloadResp } from "../shared/wire/storage.ts";
import type { RemoteResource } from "../shared/wire/tasks.ts";
import type { ReportTaskOp } from "../shared/wire/workers.ts";

/** Statuses worth retrying: unreachable (0) and gateway/availability errors. */
const TRANSIENT = new Set([0, 502, 503, 504]);

/** Sleeps `ms`; rejects with the signal's reason when it aborts first. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Name of a report operation, for logs. */
function opName(op: ReportTaskOp): string {
  return typeof op === "string" ? op : Object.keys(op)[0];
}

/** A `TaskReporter` talking to the coordinator with a worker token. */
export class HttpTaskReporter implements TaskReporter {
  readonly #client: WorkerClient;
  readonly #retryMs: number;
  readonly #log: Logger;

  /** `retryMs`: wait between attempts while the coordinator is unreachable. */
  constructor(client: WorkerClient, retryMs: number, log: Logger) {
    this.#client = client;
    this.#retryMs = retryMs;
    this.#log = log;
  }

  async report(taskId: number, op: ReportTaskOp, signal?: AbortSignal): Promise<string | null> {
    const what = `report ${opName(op)} on task ${taskId}`;
    try {
      return (await this.#retrying(what, () => this.#client.report({ id: taskId, op }, signal), signal)).url;
    } catch (error) {
      if (error instanceof ClientError && error.status === 404) {
        throw new TaskGoneError(`${what}: ${error.msg}`, { cause: error });
      }
      throw error;
    }
  }

  async resourceUrl(
    taskUuid: string,
    resource: RemoteResource,
    signal?: AbortSignal,
  ): Promise<RemoteResourceDownloadResp> {
    const get = "Artifact" in resource
      ? () => this.#client.artifactUrl(resource.Artifact.uuid, resource.Artifact.content_type, signal)
      : () => this.#client.attachmentUrl(taskUuid, resource.Attachment.key, signal);
    try {
      return await this.#retrying("resource location", get, signal);
    } catch (error) {
      if (error instanceof ClientError && (error.status === 404 || error.status === 403)) {
        throw new ResourceAccessError(error.status === 404 ? "NotFound" : "Forbidden", error.msg, { cause: error });
      }
      throw error;
    }
  }

  async watchedTask(uuid: string, signal?: AbortSignal): Promise<WatchedTask | null> {
    try {
      const task = await this.#retrying(`watched task ${uuid}`, () => this.#client.getTask(uuid, signal), signal);
      return { state: task.state ?? "Unknown", result: task.result ?? null };
    } catch (error) {
      if (error instanceof ClientError && error.status === 404) return null;
      throw error;
    }
  }

  /** Runs `call`, retrying transient failures; 401 becomes `WorkerRemovedError`. */
  async #retrying<T>(what: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1;; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof ClientError)) throw error;
        if (error.status === 401) throw new WorkerRemovedError(`${what}: ${error.msg}`, { cause: error });
        if (!TRANSIENT.has(error.status)) throw error;
        this.#log.warn("coordinator unavailable; retrying", {
          call: what,
          attempt,
          retry_in_ms: this.#retryMs,
          error: error.msg,
        });
        await pause(this.#retryMs, signal);
      }
    }
  }
}

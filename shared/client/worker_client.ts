/**
 * HTTP client of the worker API (`/workers...`), authenticated with a worker
 * token. Requests are built from and responses validated with the shared wire
 * schemas; failures are `ClientError`s (status 0 when the coordinator could
 * not be reached) carrying the server's `{"msg"}`. Presigned URLs are returned
 * absolute (a coordinator may answer paths relative to itself).
 */
import type { z } from "zod";
import { ClientError } from "./errors.ts";
import { type Answer, sendRequest } from "./request.ts";
import type { ArtifactContentType } from "../wire/tasks.ts";
import { type RemoteResourceDownloadResp, RemoteResourceDownloadRespSchema } from "../wire/storage.ts";
import {
  type RegisterWorkerReq,
  type RegisterWorkerResp,
  RegisterWorkerRespSchema,
  type ReportTaskReq,
  type ReportTaskResp,
  ReportTaskRespSchema,
  type WorkerTaskResp,
  WorkerTaskRespSchema,
} from "../wire/workers.ts";

type Method = "GET" | "POST" | "DELETE";

/** Sends one request with the worker token; throws `ClientError` on a non-2xx answer or when unreachable. */
function send(
  baseUrl: string,
  token: string,
  method: Method,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<Answer> {
  return sendRequest({ baseUrl, token, method, path, body, signal });
}

/** Parses a 2xx body with `schema`; throws `ClientError` when it does not match. */
function parse<S extends z.ZodType>(answer: Answer, what: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch (error) {
    throw new ClientError(answer.status, `${what}: the coordinator answered a body that is not JSON`, { cause: error });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
    throw new ClientError(answer.status, `${what}: unexpected response from the coordinator (${issues})`);
  }
  return result.data;
}

/** Path of an attachment key: each segment encoded, slashes kept. */
const keyPath = (key: string) => key.split("/").map(encodeURIComponent).join("/");

/**
 * `POST /workers` with a user token: registers a worker and returns its id
 * and token.
 */
export async function registerWorker(
  baseUrl: string,
  userToken: string,
  request: RegisterWorkerReq,
): Promise<RegisterWorkerResp> {
  const base = baseUrl.replace(/\/+$/, "");
  const answer = await send(base, userToken, "POST", "/workers", request);
  return parse(answer, "POST /workers", RegisterWorkerRespSchema);
}

/** A registered worker's view of the coordinator. */
export class WorkerClient {
  /** Coordinator base URL without a trailing slash. */
  readonly baseUrl: string;
  readonly #token: string;

  constructor(baseUrl: string, workerToken: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#token = workerToken;
  }

  /** `POST /workers/heartbeat`. */
  async heartbeat(signal?: AbortSignal): Promise<void> {
    await send(this.baseUrl, this.#token, "POST", "/workers/heartbeat", undefined, signal);
  }

  /** `GET /workers/tasks`: the next task, or null when none is available (JSON `null` or 204). */
  async fetchTask(signal?: AbortSignal): Promise<WorkerTaskResp | null> {
    const answer = await send(this.baseUrl, this.#token, "GET", "/workers/tasks", undefined, signal);
    if (answer.status === 204 || answer.text.trim() === "") return null;
    return parse(answer, "GET /workers/tasks", WorkerTaskRespSchema.nullable());
  }

  /** `POST /workers/tasks {id, op}`; the URL of an `Upload` is made absolute. */
  async report(request: ReportTaskReq, signal?: AbortSignal): Promise<ReportTaskResp> {
    const answer = await send(this.baseUrl, this.#token, "POST", "/workers/tasks", request, signal);
    const resp = parse(answer, "POST /workers/tasks", ReportTaskRespSchema);
    return { url: resp.url === null ? null : this.#absolute(resp.url) };
  }

  /** `GET /workers/tasks/{uuid}`: any task's spec, state and result (for `watch`). */
  async getTask(uuid: string, signal?: AbortSignal): Promise<WorkerTaskResp> {
    const path = `/workers/tasks/${encodeURIComponent(uuid)}`;
    return parse(
      await send(this.baseUrl, this.#token, "GET", path, undefined, signal),
      `GET ${path}`,
      WorkerTaskRespSchema,
    );
  }

  /** `GET /workers/tasks/{uuid}/artifacts/{content_type}`: where to download another task's artifact. */
  async artifactUrl(
    uuid: string,
    contentType: ArtifactContentType,
    signal?: AbortSignal,
  ): Promise<RemoteResourceDownloadResp> {
    const path = `/workers/tasks/${encodeURIComponent(uuid)}/artifacts/${contentType}`;
    return await this.#download(path, signal);
  }

  /** `GET /workers/tasks/{task_uuid}/attachments/{key}`: where to download an attachment of the task's group. */
  async attachmentUrl(taskUuid: string, key: string, signal?: AbortSignal): Promise<RemoteResourceDownloadResp> {
    const path = `/workers/tasks/${encodeURIComponent(taskUuid)}/attachments/${keyPath(key)}`;
    return await this.#download(path, signal);
  }

  /** `DELETE /workers`: unregisters this worker, giving up after `timeoutMs`. */
  async unregister(timeoutMs = 3_000): Promise<void> {
    await send(this.baseUrl, this.#token, "DELETE", "/workers", undefined, AbortSignal.timeout(timeoutMs));
  }

  async #download(path: string, signal?: AbortSignal): Promise<RemoteResourceDownloadResp> {
    const answer = await send(this.baseUrl, this.#token, "GET", path, undefined, signal);
    const resp = parse(answer, `GET ${path}`, RemoteResourceDownloadRespSchema);
    return { url: this.#absolute(resp.url), size: resp.size };
  }

  #absolute(url: string): string {
    return new URL(url, `${this.baseUrl}/`).href;
  }
}

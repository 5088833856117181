/**
 * The REST endpoints a node manager calls with its own manager token:
 * token refresh, download URLs of suite resources, the state of a task a
 * managed task watches, and a cheap check of whether the coordinator still
 * accepts the token.
 */
import { sendRequest } from "../shared/client/request.ts";
import { ClientError } from "../shared/client/errors.ts";
import { RefreshManagerTokenRespSchema } from "../shared/wire/managers.ts";
import type { RemoteResource } from "../shared/wire/tasks.ts";
import { type RemoteResourceDownloadResp, RemoteResourceDownloadRespSchema } from "../shared/wire/storage.ts";
import { type WorkerTaskResp, WorkerTaskRespSchema } from "../shared/wire/workers.ts";

/** Where the token check landed. */
export type TokenCheck = "accepted" | "rejected" | "unreachable";

/** Manager-token REST calls against one coordinator. */
export class ManagerApi {
  readonly #baseUrl: string;
  readonly #token: () => string;

  /** `token` is read on every call, so a refreshed token is used at once. */
  constructor(baseUrl: string, token: () => string) {
    this.#baseUrl = baseUrl.replace(/\/+$/, "");
    this.#token = token;
  }

  /** The coordinator URL without a trailing slash. */
  get baseUrl(): string {
    return this.#baseUrl;
  }

  /** `POST /managers/{uuid}/refresh-token`: a new token (the current one is revoked at once). */
  async refreshToken(managerUuid: string, signal?: AbortSignal): Promise<string> {
    const answer = await sendRequest({
      baseUrl: this.#baseUrl,
      method: "POST",
      path: `/managers/${encodeURIComponent(managerUuid)}/refresh-token`,
      token: this.#token(),
      signal,
    });
    return RefreshManagerTokenRespSchema.parse(JSON.parse(answer.text)).token;
  }

  /** `POST /managers/resources`: a presigned download URL of a resource of a suite this manager serves. */
  async resourceUrl(
    suiteUuid: string,
    remoteFile: RemoteResource,
    signal?: AbortSignal,
  ): Promise<RemoteResourceDownloadResp> {
    const answer = await sendRequest({
      baseUrl: this.#baseUrl,
      method: "POST",
      path: "/managers/resources",
      token: this.#token(),
      body: { suite_uuid: suiteUuid, remote_file: remoteFile },
      signal,
    });
    return RemoteResourceDownloadRespSchema.parse(JSON.parse(answer.text));
  }

  /** `GET /managers/tasks/{uuid}`: any task with its state and result (for `watch`); 404 when unknown. */
  async watchedTask(uuid: string, signal?: AbortSignal): Promise<WorkerTaskResp> {
    const answer = await sendRequest({
      baseUrl: this.#baseUrl,
      method: "GET",
      path: `/managers/tasks/${encodeURIComponent(uuid)}`,
      token: this.#token(),
      signal,
    });
    return WorkerTaskRespSchema.parse(JSON.parse(answer.text));
  }

  /**
   * Whether the coordinator accepts the token, without side effects: a plain
   * `GET /ws/managers` (no upgrade) is authenticated first, so it answers 401
   * for a rejected token and 400 ("expects a WebSocket upgrade") otherwise.
   */
  async checkToken(signal?: AbortSignal): Promise<TokenCheck> {
    try {
      await sendRequest({ baseUrl: this.#baseUrl, method: "GET", path: "/ws/managers", token: this.#token(), signal });
      return "accepted";
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      if (error.status === 401) return "rejected";
      if (error.status === 0 || error.status >= 500) return "unreachable";
      return "accepted";
    }
  }
}

/**
 * Download URLs of hook resources: the manager asks the coordinator with its
 * own token (`POST /managers/resources`), which presigns attachments of the
 * suite's group and artifacts of tasks its groups may read. The downloads
 * themselves are `shared/exec/resources.ts`'s, as for tasks.
 */
import { ClientError } from "../../shared/client/errors.ts";
import { ResourceAccessError, type TaskReporter } from "../../shared/exec/reporter.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { RemoteResource } from "../../shared/wire/tasks.ts";
import type { RemoteResourceDownloadResp } from "../../shared/wire/storage.ts";
import type { ManagerApi } from "../manager_api.ts";
import { Backoff, sleep } from "../connection/backoff.ts";

/** Resolves resource URLs of one suite; remembers the last refusal to explain a failure. */
export class HookResourceResolver implements Pick<TaskReporter, "resourceUrl"> {
  readonly #api: ManagerApi;
  readonly #log: Logger;
  /** Why the last resource could not be resolved, if it could not. */
  lastError: string | null = null;

  constructor(api: ManagerApi, log: Logger) {
    this.#api = api;
    this.#log = log;
  }

  /**
   * The URL of `resource` of suite `suiteUuid` (the engine passes it as the
   * "task" uuid). Retries while the coordinator is unreachable, until
   * `signal` aborts; 404 → `ResourceAccessError("NotFound")`, 403 →
   * `ResourceAccessError("Forbidden")`.
   */
  async resourceUrl(
    suiteUuid: string,
    resource: RemoteResource,
    signal?: AbortSignal,
  ): Promise<RemoteResourceDownloadResp> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    for (;;) {
      try {
        return await this.#api.resourceUrl(suiteUuid, resource, signal);
      } catch (error) {
        if (!(error instanceof ClientError)) throw error;
        if (error.status === 0 && !signal?.aborted) {
          const delay = backoff.next();
          this.#log.warn("cannot reach the coordinator for a resource URL; retrying", {
            error: error.msg,
            retry_in_ms: delay,
          });
          await sleep(delay, signal);
          signal?.throwIfAborted();
          continue;
        }
        this.lastError = `${describe(resource)}: ${error.msg}`;
        if (error.status === 404) throw new ResourceAccessError("NotFound", error.msg, { cause: error });
        if (error.status === 403) throw new ResourceAccessError("Forbidden", error.msg, { cause: error });
        throw error;
      }
    }
  }
}

function describe(resource: RemoteResource): string {
  return "Attachment" in resource
    ? `attachment ${resource.Attachment.key}`
    : `artifact ${resource.Artifact.uuid} (${resource.Artifact.content_type})`;
}

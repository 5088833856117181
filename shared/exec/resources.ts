/**
 * Downloads a task's resources (artifacts of other tasks, group attachments)
 * into `resource/<local_path>` before it runs, as the existing Mitosis does:
 * the coordinator hands out a presigned URL per resource; a 404 fails the
 * task with `ResourceNotFound`, a 403 or any download error with
 * `ResourceForbidden`, and running out of time (30 min for the whole phase,
 * 120 s per download) with `FetchResourceTimeout`.
 */
import { dirname, resolve, sep } from "node:path";
import type { Logger } from "../log/logger.ts";
import type { RemoteResourceDownload, TaskResultMessage } from "../wire/tasks.ts";
import { ResourceAccessError, type TaskReporter, WorkerRemovedError } from "./reporter.ts";

/** Why the resource phase failed; each is the `msg` of the committed result. */
export type ResourceFailure = Extract<
  TaskResultMessage,
  "ResourceNotFound" | "ResourceForbidden" | "FetchResourceTimeout"
>;

/** Options of `fetchResources`. */
export interface FetchResourcesOptions {
  /** Absolute deadline (epoch ms) of the whole phase. */
  deadline: number;
  /** Limit of one download (default 120 s). */
  perDownloadMs?: number;
  /** Worker shutdown. */
  signal?: AbortSignal;
  log: Logger;
}

/** Default limit of one download. */
export const DEFAULT_DOWNLOAD_MS = 120_000;

/** A `local_path` that would land outside the resource directory. */
export class ResourcePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResourcePathError";
  }
}

/**
 * The absolute path of `localPath` inside `resourceDir`; throws
 * `ResourcePathError` for absolute paths, `..` escapes and the directory itself.
 */
export function resolveResourcePath(resourceDir: string, localPath: string): string {
  const base = resolve(resourceDir);
  if (localPath.includes("\0")) throw new ResourcePathError(`resource path ${JSON.stringify(localPath)} contains NUL`);
  const target = resolve(base, localPath);
  if (!target.startsWith(base + sep)) {
    throw new ResourcePathError(`resource path ${JSON.stringify(localPath)} escapes the resource directory`);
  }
  return target;
}

/** A combined signal: worker shutdown, phase deadline, per-download limit. */
function downloadSignal(options: FetchResourcesOptions): { signal: AbortSignal; timedOut: () => boolean } {
  const limit = Math.max(0, Math.min(options.perDownloadMs ?? DEFAULT_DOWNLOAD_MS, options.deadline - Date.now()));
  const timeout = AbortSignal.timeout(limit);
  const signals = options.signal ? [options.signal, timeout] : [timeout];
  return { signal: AbortSignal.any(signals), timedOut: () => timeout.aborted && !options.signal?.aborted };
}

/** Streams `url` into `path`; throws on a non-2xx answer or a transfer error. */
async function download(url: string, path: string, signal: AbortSignal): Promise<number> {
  const res = await fetch(url, { signal });
  if (!res.ok || res.body === null) {
    await res.body?.cancel();
    throw new Error(`download answered HTTP ${res.status}`);
  }
  await Deno.mkdir(dirname(path), { recursive: true });
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  await res.body.pipeTo(file.writable, { signal });
  return (await Deno.stat(path)).size;
}

/**
 * Downloads every resource of `taskUuid` into `resourceDir`. Resolves with
 * null when all are in place, `"interrupted"` when `signal` aborted, or the
 * failure to commit. Errors other than those listed (e.g. `WorkerRemovedError`)
 * propagate.
 */
export async function fetchResources(
  taskUuid: string,
  resources: RemoteResourceDownload[],
  resourceDir: string,
  reporter: Pick<TaskReporter, "resourceUrl">,
  options: FetchResourcesOptions,
): Promise<ResourceFailure | "interrupted" | null> {
  const { log } = options;
  for (const resource of resources) {
    const context = { resource: resource.remote_file, local_path: resource.local_path };
    let path: string;
    try {
      path = resolveResourcePath(resourceDir, resource.local_path);
    } catch (error) {
      log.error("resource refused", { ...context, error });
      return "ResourceForbidden";
    }
    if (Date.now() >= options.deadline) {
      log.warn("resource phase timed out", context);
      return "FetchResourceTimeout";
    }
    const { signal, timedOut } = downloadSignal(options);
    try {
      const location = await reporter.resourceUrl(taskUuid, resource.remote_file, signal);
      const size = await download(location.url, path, signal);
      log.info("resource downloaded", { ...context, size });
    } catch (error) {
      if (options.signal?.aborted) return "interrupted";
      if (timedOut()) {
        log.warn("resource download timed out", { ...context, error });
        return "FetchResourceTimeout";
      }
      if (error instanceof ResourceAccessError) {
        log.warn("resource unavailable", { ...context, error });
        return error.kind === "NotFound" ? "ResourceNotFound" : "ResourceForbidden";
      }
      if (error instanceof WorkerRemovedError) throw error;
      log.error("resource download failed", { ...context, error });
      return "ResourceForbidden";
    }
  }
  return null;
}

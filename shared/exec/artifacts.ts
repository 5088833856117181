/**
 * A finished task's artifacts: each non-empty one of `result/`, `exec-log/`
 * and `std-log/` is packed into `<name>.tar.gz` (entries under `<name>/`, e.g.
 * `std-log/stdout.log`) and uploaded through the presigned PUT URL that the
 * `Upload` report returns. The upload streams the file with an exact
 * `Content-Length` (presigned URLs are signed for it, and S3 refuses chunked
 * bodies); `fetch` in Deno sends streamed bodies chunked, so this uses
 * `node:http`. That and `tar` are loaded on first use: most tasks produce
 * no artifact, and the Node compatibility modules add megabytes to every
 * worker that loads them.
 */
import type { Logger } from "../log/logger.ts";
import type { ArtifactContentType } from "../wire/tasks.ts";
import { TaskGoneError, type TaskReporter, WorkerRemovedError } from "./reporter.ts";
import { prepareOutbox, type TaskWorkDir, WORK_SUBDIRS } from "./workdir.ts";

/** Artifact kinds in upload order, with the work dir entry each one packs. */
export const ARTIFACT_DIRS: readonly { contentType: ArtifactContentType; dir: string }[] = [
  { contentType: "result", dir: WORK_SUBDIRS.result },
  { contentType: "exec-log", dir: WORK_SUBDIRS.execLog },
  { contentType: "std-log", dir: WORK_SUBDIRS.stdLog },
];

/** True when `path` is a directory with at least one entry (synchronous: usually an empty directory). */
function hasEntries(path: string): boolean {
  try {
    for (const _ of Deno.readDirSync(path)) return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  return false;
}

/**
 * Packs `<root>/<name>/` into the gzip tarball `outFile` with entries under
 * `<name>/`; resolves with its size, or null (no file) when the directory is
 * empty or missing.
 */
export async function archiveDir(root: string, name: string, outFile: string): Promise<number | null> {
  if (!hasEntries(`${root}/${name}`)) return null;
  // Loaded on first use: most tasks produce no artifact, and tar adds ~15 MiB to every worker's heap.
  const tar = await import("tar");
  await tar.create({ gzip: true, file: outFile, cwd: root }, [name]);
  return (await Deno.stat(outFile)).size;
}

/** An upload answered with a non-2xx status. */
export class UploadRejectedError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "UploadRejectedError";
    this.status = status;
  }
}

/** PUTs the file at `path` (of `size` bytes) to `url`, streaming it with that exact `Content-Length`. */
export async function putFile(url: string, path: string, size: number, signal?: AbortSignal): Promise<void> {
  const target = new URL(url);
  const [{ createReadStream }, { request }, { pipeline }] = await Promise.all([
    import("node:fs"),
    target.protocol === "https:" ? import("node:https") : import("node:http"),
    import("node:stream/promises"),
  ]);
  await new Promise<void>((resolve, reject) => {
    const req = request(target, { method: "PUT", headers: { "Content-Length": String(size) }, signal }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => body += chunk);
      res.on("error", reject);
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve();
        const detail = body.trim().slice(0, 300);
        reject(new UploadRejectedError(status, `upload answered HTTP ${status}${detail ? `: ${detail}` : ""}`));
      });
    });
    req.on("error", reject);
    pipeline(createReadStream(path), req).catch(reject);
  });
}

/** Options of `uploadArtifacts`. */
export interface UploadOptions {
  /** Absolute deadline (epoch ms) of the whole upload phase. */
  deadline: number;
  signal?: AbortSignal;
  log: Logger;
}

/** Transfer attempts per artifact when the connection fails (not when the store answers an error). */
const UPLOAD_ATTEMPTS = 3;

/**
 * Packs and uploads every non-empty artifact directory of `dir`. Resolves
 * `done` (an artifact that fails is logged and skipped), `timeout` when the
 * deadline passed, or `interrupted`. `TaskGoneError` and `WorkerRemovedError`
 * propagate.
 */
export async function uploadArtifacts(
  taskId: number,
  dir: TaskWorkDir,
  reporter: TaskReporter,
  options: UploadOptions,
): Promise<"done" | "timeout" | "interrupted"> {
  if (options.signal?.aborted) return "interrupted";
  // Nothing to pack (most tasks): no timer, no signal, no outbox.
  const artifacts = ARTIFACT_DIRS.filter(({ dir: name }) => hasEntries(`${dir.root}/${name}`));
  if (artifacts.length === 0) return "done";
  // A timer cleared on return, not `AbortSignal.timeout`, whose timer (and signal) would live the whole window.
  const window = new AbortController();
  const timer = setTimeout(
    () => window.abort(new DOMException("the upload window is over", "TimeoutError")),
    Math.max(0, options.deadline - Date.now()),
  );
  const outer = options.signal;
  const onAbort = () => window.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  try {
    return await uploadEach(taskId, dir, artifacts, reporter, window.signal, options);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}

/** `uploadArtifacts` for the non-empty `artifacts`, within `signal` (the window and the caller's signal). */
async function uploadEach(
  taskId: number,
  dir: TaskWorkDir,
  artifacts: readonly { contentType: ArtifactContentType; dir: string }[],
  reporter: TaskReporter,
  signal: AbortSignal,
  options: UploadOptions,
): Promise<"done" | "timeout" | "interrupted"> {
  const { log } = options;
  const stopped = () => options.signal?.aborted ? "interrupted" : "timeout";
  for (const { contentType, dir: name } of artifacts) {
    if (signal.aborted) return stopped();
    const file = `${dir.outbox}/${contentType}.tar.gz`;
    let size: number | null;
    try {
      await prepareOutbox(dir);
      size = await archiveDir(dir.root, name, file);
    } catch (error) {
      log.error("cannot pack artifact", { content_type: contentType, error });
      continue;
    }
    if (size === null) continue;
    try {
      const url = await reporter.report(
        taskId,
        { Upload: { content_type: contentType, content_length: size } },
        signal,
      );
      if (url === null) throw new Error("the coordinator returned no upload URL");
      for (let attempt = 1;; attempt++) {
        try {
          await putFile(url, file, size, signal);
          break;
        } catch (error) {
          if (signal.aborted || error instanceof UploadRejectedError || attempt >= UPLOAD_ATTEMPTS) throw error;
          log.warn("artifact upload failed; retrying", { content_type: contentType, attempt, error });
          await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
        }
      }
      log.info("artifact uploaded", { content_type: contentType, size });
    } catch (error) {
      if (error instanceof TaskGoneError || error instanceof WorkerRemovedError) throw error;
      if (signal.aborted) return stopped();
      log.error("artifact upload failed", { content_type: contentType, size, error });
    }
  }
  return "done";
}

/**
 * Helpers for task execution tests: an in-memory `TaskReporter` that records
 * every report, a loopback HTTP server standing in for presigned URLs
 * (downloads and uploads with Content-Length checks), tarball reading, and a
 * probe for processes that are still alive.
 */
import * as tar from "tar";
import { ResourceAccessError, TaskGoneError, type TaskReporter, type WatchedTask } from "../../shared/exec/reporter.ts";
import type { RemoteResource, TaskSpec } from "../../shared/wire/tasks.ts";
import type { ReportTaskOp, WorkerTaskResp } from "../../shared/wire/workers.ts";
import type { RemoteResourceDownloadResp } from "../../shared/wire/storage.ts";

/** One upload received by the blob server. */
export interface ReceivedUpload {
  bytes: Uint8Array;
  contentLength: string | null;
  transferEncoding: string | null;
}

/** A loopback server for presigned-URL stand-ins. */
export interface BlobServer extends AsyncDisposable {
  readonly url: string;
  /** Objects served by `GET /objects/<name>`. */
  readonly objects: Map<string, Uint8Array>;
  /** Uploads received by `PUT /uploads/<name>`, by name. */
  readonly uploads: Map<string, ReceivedUpload>;
  /** Delay before answering a PUT (to provoke upload timeouts). */
  putDelayMs: number;
}

/** Starts the blob server. `GET /forbidden/...` answers 403. */
export function startBlobServer(): BlobServer {
  const objects = new Map<string, Uint8Array>();
  const uploads = new Map<string, ReceivedUpload>();
  const state = { putDelayMs: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path.startsWith("/objects/")) {
      const object = objects.get(path.slice("/objects/".length));
      return object === undefined ? new Response("no such object", { status: 404 }) : new Response(object.slice());
    }
    if (req.method === "GET" && path.startsWith("/forbidden/")) return new Response("denied", { status: 403 });
    if (req.method === "PUT" && path.startsWith("/uploads/")) {
      const bytes = new Uint8Array(await req.arrayBuffer());
      if (state.putDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.putDelayMs));
      const contentLength = req.headers.get("content-length");
      uploads.set(path.slice("/uploads/".length), {
        bytes,
        contentLength,
        transferEncoding: req.headers.get("transfer-encoding"),
      });
      if (contentLength !== String(bytes.length)) return new Response("length mismatch", { status: 403 });
      return new Response(null, { status: 200 });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    objects,
    uploads,
    get putDelayMs() {
      return state.putDelayMs;
    },
    set putDelayMs(ms: number) {
      state.putDelayMs = ms;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** The name of a report operation (`Finish`, `Upload`, `Commit`, ...). */
export function opName(op: ReportTaskOp): string {
  return typeof op === "string" ? op : Object.keys(op)[0];
}

/** An in-memory reporter; uploads go to the blob server. */
export class FakeReporter implements TaskReporter {
  /** Every report, in order. */
  readonly ops: ReportTaskOp[] = [];
  /** Resource locations by artifact uuid or attachment key; missing → 404. */
  readonly resources = new Map<string, RemoteResourceDownloadResp | "forbidden">();
  /** Answers of `watchedTask`, by uuid; missing → unknown task. */
  readonly watched = new Map<string, WatchedTask>();
  /** Report operations that answer 404 (task reclaimed). */
  readonly goneOn = new Set<string>();
  resourceRequests = 0;
  readonly #blobs: BlobServer;

  constructor(blobs: BlobServer) {
    this.#blobs = blobs;
  }

  /** Names of the reported operations. */
  get opNames(): string[] {
    return this.ops.map(opName);
  }

  /** The committed result, if any. */
  get commit(): { exit_status: number; msg: string | null } | undefined {
    for (const op of this.ops) {
      if (typeof op === "object" && "Commit" in op) {
        return { exit_status: op.Commit.exit_status, msg: op.Commit.msg ?? null };
      }
    }
    return undefined;
  }

  report(taskId: number, op: ReportTaskOp): Promise<string | null> {
    if (this.goneOn.has(opName(op))) return Promise.reject(new TaskGoneError(`task ${taskId} reclaimed`));
    this.ops.push(op);
    if (typeof op === "object" && "Upload" in op) {
      return Promise.resolve(`${this.#blobs.url}/uploads/${op.Upload.content_type}`);
    }
    return Promise.resolve(null);
  }

  resourceUrl(_taskUuid: string, resource: RemoteResource): Promise<RemoteResourceDownloadResp> {
    this.resourceRequests++;
    const id = "Artifact" in resource ? resource.Artifact.uuid : resource.Attachment.key;
    const found = this.resources.get(id);
    if (found === undefined) return Promise.reject(new ResourceAccessError("NotFound", `${id} not found`));
    if (found === "forbidden") return Promise.reject(new ResourceAccessError("Forbidden", `${id} forbidden`));
    return Promise.resolve(found);
  }

  watchedTask(uuid: string): Promise<WatchedTask | null> {
    return Promise.resolve(this.watched.get(uuid) ?? null);
  }
}

/** A task as the coordinator would hand it out. */
export function makeTask(spec: Partial<TaskSpec> & { args: string[] }, timeout = "1m"): WorkerTaskResp {
  return {
    id: Math.floor(Math.random() * 1_000_000),
    uuid: crypto.randomUUID(),
    timeout,
    upstream_task_uuid: null,
    spec: { envs: {}, resources: [], terminal_output: false, watch: null, ...spec },
  };
}

/** Files of a gzip tarball: path → text (directories omitted). */
export async function tarballFiles(bytes: Uint8Array): Promise<Map<string, string>> {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-tar-" });
  try {
    const file = `${dir}/archive.tar.gz`;
    await Deno.writeFile(file, bytes);
    const files = new Map<string, string>();
    const reads: Promise<void>[] = [];
    await tar.list({
      file,
      onReadEntry: (entry) => {
        if (entry.type !== "File") return entry.resume();
        const chunks: Uint8Array[] = [];
        entry.on("data", (chunk: Uint8Array) => chunks.push(chunk));
        reads.push(
          new Promise((resolve) =>
            entry.on("end", () => {
              const joined = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
              let offset = 0;
              for (const c of chunks) {
                joined.set(c, offset);
                offset += c.length;
              }
              files.set(entry.path, new TextDecoder().decode(joined));
              resolve();
            })
          ),
        );
      },
    });
    await Promise.all(reads);
    return files;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Processes still alive (not zombies) whose command line contains `marker`,
 * as `ps` lists them. Zombies are left out: where PID 1 does not reap
 * orphans they linger, but they are dead.
 */
export async function livingProcesses(marker: string): Promise<string[]> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,stat=,args="], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .map((line) => line.trim())
    .filter((line) => line.includes(marker))
    .filter((line) => !line.split(/\s+/)[1]?.startsWith("Z"))
    .filter((line) => !line.includes("ps -eo"));
}

/** A `sleep` duration unique to one test, so its processes can be told apart from others'. */
export function uniqueSleep(seconds: number): string {
  return `${seconds}.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}1`;
}

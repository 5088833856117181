/**
 * Moving bytes to and from presigned URLs (S3 or the coordinator's local
 * blob store) without holding whole files in memory.
 *
 * Uploads go through `node:http(s)`: `fetch` sends a streamed body with
 * chunked transfer encoding, which presigned PUTs refuse; they need the
 * exact `Content-Length`. Downloads stream into a temporary file beside the
 * target, renamed into place once complete.
 */
import { type IncomingMessage, request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { createReadStream } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ClientError } from "./client.ts";

/** Called as bytes move: bytes done so far and the total when known. */
export type TransferProgress = (done: number, total: number | undefined) => void;

/** What a finished transfer moved. */
export interface TransferResult {
  /** Bytes sent or written. */
  bytes: number;
}

/**
 * PUTs the file at `path` to `url` with its exact `Content-Length`,
 * streaming it from disk. Throws `ClientError` with the storage's message
 * when the PUT is refused, or status 0 when the URL cannot be reached.
 */
export async function uploadFile(url: string, path: string, onProgress?: TransferProgress): Promise<TransferResult> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new ClientError(0, `${path} is not a regular file`);
  const size = info.size;
  const target = parseUrl(url);
  const options: RequestOptions = {
    method: "PUT",
    headers: { "Content-Length": String(size), "Content-Type": "application/octet-stream" },
    agent: false, // one connection per upload, closed afterwards: no idle sockets keep the process alive
  };
  const req = (target.protocol === "https:" ? httpsRequest : httpRequest)(target, options);
  let done = 0;
  onProgress?.(0, size);
  const counter = new Transform({
    transform(chunk: Uint8Array, _encoding, callback) {
      done += chunk.length;
      onProgress?.(done, size);
      callback(null, chunk);
    },
  });
  const sent = pipeline(createReadStream(path), counter, req);
  const answered = responseOf(req).then(async (res) => {
    const status = res.statusCode ?? 0;
    const text = await bodyText(res);
    // A refusal may come before the whole body went out: stop sending.
    if (status < 200 || status >= 300) req.destroy();
    return { status, text };
  });
  const [sending, answer] = await Promise.allSettled([sent, answered]);
  if (answer.status === "fulfilled") {
    const { status, text } = answer.value;
    // An HTTP refusal explains a broken upload better than the write error it caused.
    if (status < 200 || status >= 300) throw new ClientError(status, `upload refused: ${storageMessage(status, text)}`);
    // The storage answers 2xx only once the announced length arrived; a "premature close" of the request
    // stream then only means the response (and socket close) overtook the stream's own finish event.
    if (sending.status === "rejected" && !prematureClose(sending.reason)) throw uploadFailure(url, sending.reason);
    return { bytes: done };
  }
  throw uploadFailure(url, sending.status === "rejected" ? sending.reason : answer.reason);
}

/** True for Node's ERR_STREAM_PREMATURE_CLOSE. */
function prematureClose(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ERR_STREAM_PREMATURE_CLOSE";
}

/**
 * GETs `url` into the file at `path` (parent directories are created),
 * streaming through `<path>.part-<random>` and renaming it into place once
 * every byte arrived, so `path` never holds a partial download.
 */
export async function downloadFile(url: string, path: string, onProgress?: TransferProgress): Promise<TransferResult> {
  let res: Response;
  try {
    // `identity`: the byte count must match the stored object's size.
    res = await fetch(url, { headers: { "Accept-Encoding": "identity" } });
  } catch (error) {
    throw new ClientError(0, `cannot reach ${describeUrl(url)}: ${reason(error)}`, { cause: error });
  }
  if (!res.ok) throw new ClientError(res.status, `download refused: ${storageMessage(res.status, await res.text())}`);
  const header = res.headers.get("content-length");
  const total = header === null ? undefined : Number(header);
  const dir = parentDir(path);
  if (dir !== "") await Deno.mkdir(dir, { recursive: true });
  const temporary = `${path}.part-${crypto.randomUUID().slice(0, 8)}`;
  let done = 0;
  try {
    const file = await Deno.open(temporary, { write: true, createNew: true });
    onProgress?.(0, total);
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        done += chunk.length;
        onProgress?.(done, total);
        controller.enqueue(chunk);
      },
    });
    if (res.body === null) file.close();
    else await res.body.pipeThrough(counter).pipeTo(file.writable);
    if (total !== undefined && done !== total) {
      throw new ClientError(0, `download of ${path} incomplete: ${done} of ${total} bytes arrived`);
    }
    await Deno.rename(temporary, path);
  } catch (error) {
    // The failure itself is what matters; a leftover .part file would only be clutter.
    await Deno.remove(temporary).catch(() => undefined);
    if (error instanceof ClientError) throw error;
    throw new ClientError(0, `download to ${path} failed: ${reason(error)}`, { cause: error });
  }
  return { bytes: done };
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch (error) {
    throw new ClientError(0, `invalid upload URL ${JSON.stringify(url)}`, { cause: error });
  }
}

function responseOf(req: ReturnType<typeof httpRequest>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
}

async function bodyText(res: IncomingMessage): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of res) chunks.push(chunk as Uint8Array);
  return new TextDecoder().decode(concat(chunks));
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function uploadFailure(url: string, error: unknown): ClientError {
  return new ClientError(0, `upload to ${describeUrl(url)} failed: ${reason(error)}`, { cause: error });
}

/** The storage's explanation: `{"msg"}` (local store), S3's XML `<Message>`, or the status and text. */
export function storageMessage(status: number, text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "msg" in parsed && typeof parsed.msg === "string") {
      return parsed.msg;
    }
  } catch {
    // Not JSON: S3 answers XML, others plain text.
  }
  const xml = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  if (xml !== undefined) return `HTTP ${status}: ${xml}`;
  const detail = text.trim().slice(0, 200);
  return `HTTP ${status}${detail ? `: ${detail}` : ""}`;
}

/** Scheme, host and path of a URL, without the signature in its query. */
function describeUrl(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

function parentDir(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? (slash === 0 ? "/" : "") : path.slice(0, slash);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

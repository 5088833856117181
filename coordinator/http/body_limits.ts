/**
 * Request body limits: a body larger than `maxBytes` is refused with 413
 * (at once when `Content-Length` announces it, else as soon as the bytes
 * read pass the limit), and a body not fully received within `timeoutMs` is
 * refused with 408, so neither a huge nor a trickling body can hold memory
 * or a connection. The body is read once into memory and handed on to the
 * route, which reads it as usual. Requests for which `exempt` holds (the
 * local blob store's signed uploads, bounded by their signed length) stream
 * untouched.
 */
import type { Context, MiddlewareHandler } from "hono";

/** Limits of a request body. */
export interface BodyLimits {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Time allowed to receive the whole body, in milliseconds. */
  timeoutMs: number;
  /** Requests whose bodies stream to their handler unlimited. */
  exempt?: (c: Context) => boolean;
}

type ReadOutcome = { kind: "ok"; body: Uint8Array } | { kind: "too_large" } | { kind: "timeout" };

/** Reads `stream` whole, unless it passes `maxBytes` or takes longer than `timeoutMs`. */
async function readBounded(stream: ReadableStream<Uint8Array>, maxBytes: number, timeoutMs: number) {
  const reader = stream.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel("request body timeout").catch(() => {});
  }, timeoutMs);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        if (timedOut) return { kind: "timeout" } satisfies ReadOutcome;
        throw error;
      }
      if (timedOut) return { kind: "timeout" } satisfies ReadOutcome;
      if (result.done) break;
      size += result.value.length;
      if (size > maxBytes) {
        await reader.cancel("request body too large").catch(() => {});
        return { kind: "too_large" } satisfies ReadOutcome;
      }
      chunks.push(result.value);
    }
  } finally {
    clearTimeout(timer);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return { kind: "ok", body } satisfies ReadOutcome;
}

/** Middleware enforcing `limits` on every request body (see the module doc). */
export function bodyLimits(limits: BodyLimits): MiddlewareHandler {
  const tooLarge = (c: Context) => c.json({ msg: `request body exceeds the limit of ${limits.maxBytes} bytes` }, 413);
  return async (c, next) => {
    const body = c.req.raw.body;
    if (body === null || limits.exempt?.(c)) return await next();
    const announced = c.req.header("Content-Length");
    if (announced !== undefined && Number(announced) > limits.maxBytes) {
      await body.cancel().catch(() => {});
      return tooLarge(c);
    }
    const outcome = await readBounded(body, limits.maxBytes, limits.timeoutMs);
    if (outcome.kind === "too_large") return tooLarge(c);
    if (outcome.kind === "timeout") {
      c.header("Connection", "close");
      return c.json({ msg: `request body not received within ${limits.timeoutMs} ms` }, 408);
    }
    // GET and HEAD cannot carry a body onwards; their handlers never read one.
    // (A new Request rather than `new Request(raw)`, which would follow the raw request's abort signal.)
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const raw = c.req.raw;
      c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, body: outcome.body });
    }
    return await next();
  };
}

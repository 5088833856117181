/**
 * Length-prefixed JSON framing for stream transports (SPEC §7): every message
 * is a 4-byte big-endian byte count followed by that many bytes of UTF-8
 * JSON. `FrameDecoder` cuts frames out of arbitrarily chunked input;
 * `FramedConn` wraps a `Deno.Conn` with a frame reader (which closes the
 * connection, with a logged error, on a frame over the size limit) and a
 * writer that queues whole frames so concurrent sends never interleave.
 */
import { MAX_IPC_MESSAGE_BYTES } from "./limits.ts";
import type { Logger } from "../log/logger.ts";

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;
/** Size of the buffer each connection reads into. */
const READ_CHUNK_BYTES = 64 * 1024;
/** Queued frames are coalesced into one write up to this many bytes. */
const WRITE_COALESCE_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** A frame (received or to be sent) whose body exceeds the size limit. */
export class FrameTooLargeError extends Error {
  /** The frame's body size in bytes. */
  readonly bytes: number;
  /** The limit it exceeds. */
  readonly limit: number;

  constructor(bytes: number, limit: number) {
    super(`IPC frame of ${bytes} bytes exceeds the limit of ${limit} bytes`);
    this.name = "FrameTooLargeError";
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** A send on a connection that is already closed. */
export class ConnectionClosedError extends Error {
  constructor(message = "IPC connection is closed") {
    super(message);
    this.name = "ConnectionClosedError";
  }
}

/** Encodes `message` as one frame (header + JSON); throws `FrameTooLargeError` over `maxBytes`. */
export function encodeFrame(message: unknown, maxBytes: number = MAX_IPC_MESSAGE_BYTES): Uint8Array {
  const json = JSON.stringify(message);
  if (typeof json !== "string") throw new TypeError("an IPC message must be JSON-serialisable");
  const body = encoder.encode(json);
  if (body.length > maxBytes) throw new FrameTooLargeError(body.length, maxBytes);
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Incremental frame decoder: feed it chunks as they arrive; it yields each
 * complete frame body (a fresh copy) and keeps partial headers and bodies
 * for the next chunk.
 */
export class FrameDecoder {
  readonly #maxBytes: number;
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  #body: Uint8Array | null = null;
  #bodyFill = 0;

  constructor(maxBytes: number = MAX_IPC_MESSAGE_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes of an incomplete frame held back (0 at a frame boundary). */
  get buffered(): number {
    return this.#body === null ? this.#headerFill : FRAME_HEADER_BYTES + this.#bodyFill;
  }

  /**
   * Yields every frame body completed by `chunk`, in order. Throws
   * `FrameTooLargeError` on reaching a header announcing an oversize body
   * (after yielding the frames before it); the decoder is unusable then.
   */
  *push(chunk: Uint8Array): Generator<Uint8Array, void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#body === null) {
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerFill, chunk.length - offset);
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill);
        this.#headerFill += take;
        offset += take;
        if (this.#headerFill < FRAME_HEADER_BYTES) return;
        this.#headerFill = 0;
        const length = new DataView(this.#header.buffer).getUint32(0, false);
        if (length > this.#maxBytes) throw new FrameTooLargeError(length, this.#maxBytes);
        this.#body = new Uint8Array(length);
        this.#bodyFill = 0;
      }
      const body = this.#body;
      const take = Math.min(body.length - this.#bodyFill, chunk.length - offset);
      body.set(chunk.subarray(offset, offset + take), this.#bodyFill);
      this.#bodyFill += take;
      offset += take;
      if (this.#bodyFill === body.length) {
        this.#body = null;
        yield body;
      }
    }
  }
}

/** One queued frame and the promise of its send. */
interface PendingWrite {
  frame: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Options of `FramedConn`. */
export interface FramedConnOptions {
  /** Where connection problems are logged. */
  log: Logger;
  /** Largest frame body read or written (default `MAX_IPC_MESSAGE_BYTES`). */
  maxBytes?: number;
}

/** Writes all of `bytes` to `conn`. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

/** Concatenates frames into one buffer. */
function concat(frames: Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0];
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}

/** A connection carrying framed JSON messages in both directions. */
export class FramedConn {
  readonly #conn: Deno.Conn;
  readonly #log: Logger;
  readonly #maxBytes: number;
  readonly #queue: PendingWrite[] = [];
  #writing = false;
  #closed = false;
  #resolveClosed!: () => void;
  /** Resolves once the connection is closed (by either side, or on an error). */
  readonly closed: Promise<void> = new Promise((resolve) => this.#resolveClosed = resolve);

  constructor(conn: Deno.Conn, options: FramedConnOptions) {
    this.#conn = conn;
    this.#log = options.log;
    this.#maxBytes = options.maxBytes ?? MAX_IPC_MESSAGE_BYTES;
  }

  /** Whether `close()` has run. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Yields each received frame body until EOF, a read error or an oversize
   * frame (logged as an error), then closes the connection. Iterate once.
   */
  async *frames(): AsyncGenerator<Uint8Array, void> {
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    const decoder = new FrameDecoder(this.#maxBytes);
    try {
      for (;;) {
        let n: number | null;
        try {
          n = await this.#conn.read(buffer);
        } catch (error) {
          if (!this.#closed) this.#log.debug("IPC connection read failed", { error });
          return;
        }
        if (n === null) {
          if (decoder.buffered > 0) {
            this.#log.warn("IPC peer closed the connection in the middle of a frame", {
              buffered_bytes: decoder.buffered,
            });
          }
          return;
        }
        try {
          for (const frame of decoder.push(buffer.subarray(0, n))) yield frame;
        } catch (error) {
          if (!(error instanceof FrameTooLargeError)) throw error;
          this.#log.error("IPC frame over the size limit: closing the connection", {
            bytes: error.bytes,
            limit: error.limit,
          });
          return;
        }
      }
    } finally {
      this.close();
    }
  }

  /**
   * Queues `message` as one frame; resolves once it is written. Rejects with
   * `FrameTooLargeError` (the connection stays usable) or, when the
   * connection is or becomes closed, with the error that closed it.
   */
  send(message: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError());
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message, this.#maxBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ frame, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  /** Writes queued frames in order, coalescing small ones, until the queue is empty. */
  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = [this.#queue.shift()!];
        let bytes = batch[0].frame.length;
        while (this.#queue.length > 0 && bytes + this.#queue[0].frame.length <= WRITE_COALESCE_BYTES) {
          const next = this.#queue.shift()!;
          bytes += next.frame.length;
          batch.push(next);
        }
        try {
          await writeAll(this.#conn, concat(batch.map((w) => w.frame)));
        } catch (error) {
          const failure = this.#closed
            ? new ConnectionClosedError()
            : new ConnectionClosedError(`IPC write failed: ${error instanceof Error ? error.message : error}`);
          if (!this.#closed) this.#log.debug("IPC connection write failed", { error });
          for (const w of [...batch, ...this.#queue.splice(0)]) w.reject(failure);
          this.close();
          return;
        }
        for (const w of batch) w.resolve();
      }
    } finally {
      this.#writing = false;
    }
  }

  /** Closes the connection (idempotent); queued sends reject. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch (error) {
      // Only BadResource (already closed by the runtime) is expected here.
      if (!(error instanceof Deno.errors.BadResource)) this.#log.warn("closing IPC connection failed", { error });
    }
    if (!this.#writing) {
      for (const w of this.#queue.splice(0)) w.reject(new ConnectionClosedError());
    }
    this.#resolveClosed();
  }
}

/**
 * The frames of the `iceoryx` IPC transport, one per shared-memory chunk: a
 * 32-byte little-endian header followed by the message's JSON (UTF-8),
 * written straight into the loaned chunk and read in place by the receiver.
 *
 *   0  u32 magic "MTX1"         16 u32 ack (frames of the other side consumed so far, mod 2^32)
 *   4  u8  kind, 3 bytes zero    20 u32 body length
 *   8  u64 connection id         24 u32 pid (Connect, Welcome)
 *                                28 u32 zero
 *
 * Kinds: the worker's `Connect` (its pid) and `Disconnect`; the manager's
 * `Welcome` (its pid) and `Closing`; `Message` (a JSON body) both ways; `Ack`
 * (credit back, no body) both ways.
 */
import type { IceoryxSymbols } from "../../../ffi/iceoryx.ts";
import {
  ALLOCATION_RESULTS,
  ALLOCATION_SUCCESS,
  CHUNK_HEADER_USER_PAYLOAD_SIZE_OFFSET,
  ChunkReceive,
} from "../../../ffi/iceoryx.ts";
import { FrameTooLargeError } from "../framing.ts";
import { MAX_IPC_MESSAGE_BYTES } from "../limits.ts";

/** Header bytes before the body. */
export const FRAME_HEADER_BYTES = 32;
/** "MTX1" little-endian. */
export const FRAME_MAGIC = 0x3158544d;

/** Frame kinds. */
export const FrameKind = {
  Connect: 1,
  Welcome: 2,
  Message: 3,
  Ack: 4,
  Disconnect: 5,
  Closing: 6,
} as const;
/** A frame kind. */
export type FrameKind = typeof FrameKind[keyof typeof FrameKind];

/** A received frame's header. */
export interface FrameHeader {
  kind: number;
  connection: bigint;
  ack: number;
  bodyLength: number;
  pid: number;
}

/** A chunk could not be loaned from shared memory. */
export class ChunkLoanError extends Error {
  readonly result: string;
  constructor(bytes: number, code: number) {
    const result = ALLOCATION_RESULTS[code] ?? `code ${code}`;
    super(
      `cannot loan a shared-memory chunk of ${bytes} bytes from RouDi: ${result}` +
        (result === "NO_MEMPOOLS_AVAILABLE" ? " (the running RouDi's config has no mempool that large)" : ""),
    );
    this.name = "ChunkLoanError";
    this.result = result;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 length of `text`. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** What to put in a frame's header. */
export interface FrameFields {
  kind: FrameKind;
  connection: bigint;
  ack: number;
  pid?: number;
}

/** Where the publisher's loan result lands. */
const loanOut = new BigUint64Array(1);

/** Loans a chunk of `bytes` from `publisher` and returns it as a pointer and a writable view. */
function loan(lib: IceoryxSymbols, publisher: Deno.PointerObject, bytes: number): {
  chunk: Deno.PointerObject;
  buffer: ArrayBuffer;
} {
  const code = lib.iox_pub_loan_chunk(publisher, loanOut, bytes);
  if (code !== ALLOCATION_SUCCESS) throw new ChunkLoanError(bytes, code);
  const chunk = Deno.UnsafePointer.create(loanOut[0])!;
  return { chunk, buffer: Deno.UnsafePointerView.getArrayBuffer(chunk, bytes) };
}

function writeHeader(buffer: ArrayBuffer, fields: FrameFields, bodyLength: number): void {
  const view = new DataView(buffer, 0, FRAME_HEADER_BYTES);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, fields.kind, true);
  view.setBigUint64(8, fields.connection, true);
  view.setUint32(16, fields.ack >>> 0, true);
  view.setUint32(20, bodyLength, true);
  view.setUint32(24, fields.pid ?? 0, true);
  view.setUint32(28, 0, true);
}

/**
 * Publishes one frame whose body is `json` (already serialised), written
 * into a loaned chunk. Throws `FrameTooLargeError` over the message limit
 * and `ChunkLoanError` when shared memory has no chunk for it.
 */
export function publishFrame(
  lib: IceoryxSymbols,
  publisher: Deno.PointerObject,
  fields: FrameFields,
  json = "",
  maxBytes = MAX_IPC_MESSAGE_BYTES,
): void {
  if (json.length > maxBytes) throw new FrameTooLargeError(utf8Length(json), maxBytes);
  // Most messages are ASCII: try the string's length first, and size exactly only when that was short.
  let size = json.length;
  let { chunk, buffer } = loan(lib, publisher, FRAME_HEADER_BYTES + size);
  let written = json.length === 0 ? 0 : encoder.encodeInto(json, new Uint8Array(buffer, FRAME_HEADER_BYTES)).read;
  if (written < json.length) {
    lib.iox_pub_release_chunk(publisher, chunk);
    size = utf8Length(json);
    if (size > maxBytes) throw new FrameTooLargeError(size, maxBytes);
    ({ chunk, buffer } = loan(lib, publisher, FRAME_HEADER_BYTES + size));
    written = encoder.encodeInto(json, new Uint8Array(buffer, FRAME_HEADER_BYTES)).read;
  }
  writeHeader(buffer, fields, size);
  lib.iox_pub_publish_chunk(publisher, chunk);
}

/**
 * Publishes a frame whose body is `body` verbatim (the conformance suite's
 * raw connector uses it to send malformed bodies); `declaredLength`
 * overrides the length in the header.
 */
export function publishRawFrame(
  lib: IceoryxSymbols,
  publisher: Deno.PointerObject,
  fields: FrameFields,
  body: Uint8Array,
  declaredLength = body.length,
): void {
  const { chunk, buffer } = loan(lib, publisher, FRAME_HEADER_BYTES + body.length);
  new Uint8Array(buffer, FRAME_HEADER_BYTES).set(body);
  writeHeader(buffer, fields, declaredLength);
  lib.iox_pub_publish_chunk(publisher, chunk);
}

/** A frame taken from a subscriber, valid until `release`. */
export interface ReceivedFrame {
  header: FrameHeader;
  /** The body, a view into shared memory (or an error when the header is unusable). */
  body: Uint8Array | { error: string };
}

/**
 * Reads a chunk's frame in place. The header's body length is checked
 * against the chunk's payload size (from iceoryx's chunk header) and the
 * message limit, so a lying header never reads past the chunk.
 */
export function readFrame(
  lib: IceoryxSymbols,
  chunk: Deno.PointerObject,
  maxBytes = MAX_IPC_MESSAGE_BYTES,
): ReceivedFrame {
  const chunkHeader = lib.iox_chunk_header_from_user_payload_const(chunk);
  const payloadSize = chunkHeader === null
    ? 0
    : new Deno.UnsafePointerView(chunkHeader).getUint32(CHUNK_HEADER_USER_PAYLOAD_SIZE_OFFSET);
  if (payloadSize < FRAME_HEADER_BYTES) {
    return {
      header: { kind: 0, connection: 0n, ack: 0, bodyLength: 0, pid: 0 },
      body: { error: `chunk of ${payloadSize} bytes is shorter than a frame header` },
    };
  }
  const view = new Deno.UnsafePointerView(chunk);
  const header: FrameHeader = {
    kind: view.getUint8(4),
    connection: view.getBigUint64(8),
    ack: view.getUint32(16),
    bodyLength: view.getUint32(20),
    pid: view.getUint32(24),
  };
  if (view.getUint32(0) !== FRAME_MAGIC) return { header, body: { error: "not a Mitosis IPC frame (bad magic)" } };
  if (header.bodyLength > maxBytes) {
    return {
      header,
      body: { error: `frame of ${header.bodyLength} bytes exceeds the IPC message limit of ${maxBytes} bytes` },
    };
  }
  if (header.bodyLength > payloadSize - FRAME_HEADER_BYTES) {
    return {
      header,
      body: { error: `frame announces ${header.bodyLength} bytes in a chunk of ${payloadSize - FRAME_HEADER_BYTES}` },
    };
  }
  if (header.bodyLength === 0) return { header, body: new Uint8Array(0) };
  return {
    header,
    body: new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(chunk, header.bodyLength, FRAME_HEADER_BYTES)),
  };
}

/** Decodes a body as UTF-8 (for messages routed without the schemas). */
export function bodyText(body: Uint8Array): string {
  return decoder.decode(body);
}

/** The iceoryx service name of every Mitosis IPC topic. */
export const SERVICE = "Mitosis";
/** The event (topic) every worker of an endpoint publishes its frames on. */
export const REQUESTS_EVENT = "requests";
/** Message frames a worker may have in the manager's queue unacknowledged (64 workers × 3 < the queue's 256). */
export const CLIENT_CREDIT = 3;
/** Message frames the manager may have in one worker's queue unacknowledged (the queue holds 256). */
export const SERVER_CREDIT = 128;

/** How often the peer's process is checked (pid and start time). */
export const LIVENESS_INTERVAL_MS = 250;
/** How long a new connection may take to be matched by RouDi's discovery (runs every 100 ms). */
export const CONNECT_TIMEOUT_MS = 10_000;

/** The iceoryx instance name of a transport address (any string; hashed to fit iceoryx's id rules). */
export function instanceFor(address: string): string {
  // FNV-1a, 64 bits.
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(address)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `m${hash.toString(16).padStart(16, "0")}`;
}

/** The event (topic) the manager answers connection `connection` on. */
export function replyEvent(connection: bigint): string {
  return `r${connection.toString(16).padStart(16, "0")}`;
}

/** A fresh random, non-zero connection id. */
export function newConnectionId(): bigint {
  const words = crypto.getRandomValues(new Uint32Array(2));
  const id = (BigInt(words[0]) << 32n) | BigInt(words[1]);
  return id === 0n ? 1n : id;
}

/** Throws `FrameTooLargeError` when `json` would not fit one message. */
export function checkMessageSize(json: string, maxBytes = MAX_IPC_MESSAGE_BYTES): void {
  if (json.length > maxBytes) throw new FrameTooLargeError(json.length, maxBytes);
  if (json.length * 3 > maxBytes) {
    const bytes = utf8Length(json);
    if (bytes > maxBytes) throw new FrameTooLargeError(bytes, maxBytes);
  }
}

/** Polls `ready` every 2 ms until it holds; throws `message` after `timeoutMs`. */
export async function waitUntil(ready: () => boolean, timeoutMs: number, message: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ready()) {
    if (performance.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const takeOut = new BigUint64Array(1);

/**
 * Takes every frame queued on `subscriber`, hands each to `onFrame` (which
 * must be done with the in-place body when it returns) and releases its
 * chunk. Returns false when iceoryx refused a take (logged by the caller).
 */
export function takeFrames(
  lib: IceoryxSymbols,
  subscriber: Deno.PointerObject,
  onFrame: (frame: ReceivedFrame) => void,
): { ok: true } | { ok: false; code: number } {
  while (true) {
    const code = lib.iox_sub_take_chunk(subscriber, takeOut);
    if (code === ChunkReceive.NO_CHUNK) return { ok: true };
    if (code !== ChunkReceive.SUCCESS) return { ok: false, code };
    const chunk = Deno.UnsafePointer.create(takeOut[0])!;
    try {
      onFrame(readFrame(lib, chunk));
    } finally {
      lib.iox_sub_release_chunk(subscriber, chunk);
    }
  }
}

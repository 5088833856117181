/**
 * Decoding of `/ws/managers` frames: size limit, JSON, the message schema.
 * A frame that cannot be used yields the text of an `Error` reply and, when
 * it can be read, the request id to echo; it never closes the connection.
 */
import type { z } from "zod";
import {
  ManagerMessageSchema,
  MAX_MANAGER_FRAME_BYTES,
  type ValidManagerMessage,
} from "../../shared/wire/manager_ws.ts";

/** A decoded frame: a valid message, or the error to answer. */
export type DecodedFrame =
  | { ok: true; message: ValidManagerMessage }
  | { ok: false; request_id: number | null; msg: string };

const KNOWN_TYPES: ReadonlySet<string> = new Set(ManagerMessageSchema.options.map((o) => o.shape.type.value));
/** How much of an oversized or unparsable frame is searched for its request id. */
const REQUEST_ID_SCAN_CHARS = 4096;
const encoder = new TextEncoder();

/** The UTF-8 size of `text` when it exceeds the frame limit, else null (encodes only when its length cannot decide). */
function oversize(text: string): number | null {
  // Each UTF-16 code unit takes 1 to 3 bytes in UTF-8.
  if (text.length * 3 <= MAX_MANAGER_FRAME_BYTES) return null;
  const bytes = encoder.encode(text).length;
  return bytes > MAX_MANAGER_FRAME_BYTES ? bytes : null;
}

function isRequestId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A request id found by a textual scan of a frame that cannot be parsed as a whole. */
function scanRequestId(text: string): number | null {
  const match = /"request_id"\s*:\s*(\d{1,16})\b/.exec(text.slice(0, REQUEST_ID_SCAN_CHARS));
  const id = match ? Number(match[1]) : null;
  return isRequestId(id) ? id : null;
}

/** Formats zod issues as `field: problem; field: problem`. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
}

/** Decodes one received frame (`data` as the WebSocket delivered it). */
export function decodeManagerFrame(data: unknown): DecodedFrame {
  if (typeof data !== "string") {
    return { ok: false, request_id: null, msg: "binary frames are not supported: send JSON text frames" };
  }
  const size = oversize(data);
  if (size !== null) {
    return {
      ok: false,
      request_id: scanRequestId(data),
      msg: `frame too large: ${size} bytes (limit ${MAX_MANAGER_FRAME_BYTES})`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (error) {
    return {
      ok: false,
      request_id: scanRequestId(data),
      msg: `malformed JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, request_id: null, msg: 'a frame must be a JSON object with a "type" field' };
  }
  const fields = value as Record<string, unknown>;
  const requestId = isRequestId(fields.request_id) ? fields.request_id : null;
  if (typeof fields.type !== "string") {
    return { ok: false, request_id: requestId, msg: 'missing "type" (a string such as "Heartbeat")' };
  }
  if (!KNOWN_TYPES.has(fields.type)) {
    return { ok: false, request_id: requestId, msg: `unknown message type "${fields.type.slice(0, 100)}"` };
  }
  const parsed = ManagerMessageSchema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, request_id: requestId, msg: `invalid ${fields.type}: ${describeIssues(parsed.error)}` };
  }
  return { ok: true, message: parsed.data };
}

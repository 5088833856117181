/**
 * Decoding of `/ws/managers` frames: size limit, JSON, the message schema.
 * A frame that cannot be used yields the text of an `Error` reply and, when
 * it can be read, the request id to echo; it never closes the connection.
 */
import {
  ManagerMessageSchema,
  MAX_MANAGER_FRAME_BYTES,
  type ValidManagerMessage,
} from "../../shared/wire/manager_ws.ts";
import { decodeRequest, scanRequestId, typeNames } from "../../shared/wire/decode.ts";

/** A decoded frame: a valid message, or the error to answer. */
export type DecodedFrame =
  | { ok: true; message: ValidManagerMessage }
  | { ok: false; request_id: number | null; msg: string };

const KNOWN_TYPES = typeNames(ManagerMessageSchema);
const WORDING = { unit: "frame", kind: "message", example: "Heartbeat" };
const encoder = new TextEncoder();

/** The UTF-8 size of `text` when it exceeds the frame limit, else null (encodes only when its length cannot decide). */
function oversize(text: string): number | null {
  // Each UTF-16 code unit takes 1 to 3 bytes in UTF-8.
  if (text.length * 3 <= MAX_MANAGER_FRAME_BYTES) return null;
  const bytes = encoder.encode(text).length;
  return bytes > MAX_MANAGER_FRAME_BYTES ? bytes : null;
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
  const decoded = decodeRequest(data, ManagerMessageSchema, KNOWN_TYPES, WORDING);
  return decoded.ok ? { ok: true, message: decoded.value } : decoded;
}

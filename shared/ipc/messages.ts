/**
 * Decoding of IPC frame bodies into the messages of `shared/wire/ipc.ts`:
 * worker requests on the manager side, replies and control messages on the
 * worker side. An unusable body yields the text of the `Error` to answer
 * and, when it can be read, the request id to echo.
 */
import type { z } from "zod";
import {
  type ManagerReply,
  ManagerReplySchema,
  type ValidWorkerRequest,
  type WorkerControl,
  WorkerControlSchema,
  WorkerRequestSchema,
} from "../wire/ipc.ts";

/** A decoded worker request, or the `Error` reply it deserves. */
export type DecodedRequest =
  | { ok: true; request: ValidWorkerRequest }
  | { ok: false; request_id: number | null; msg: string };

/** A decoded manager → worker message. */
export type DecodedManagerMessage =
  | { ok: true; kind: "reply"; reply: ManagerReply }
  | { ok: true; kind: "control"; control: WorkerControl }
  | { ok: false; msg: string };

const REQUEST_TYPES: ReadonlySet<string> = new Set(WorkerRequestSchema.options.map((o) => o.shape.type.value));
const CONTROL_TYPES: ReadonlySet<string> = new Set(WorkerControlSchema.options.map((o) => o.shape.type.value));
/** How much of an unparsable body is searched for its request id. */
const REQUEST_ID_SCAN_CHARS = 4096;
const decoder = new TextDecoder("utf-8", { fatal: true });

function isRequestId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A request id found by a textual scan of a body that cannot be parsed as a whole. */
function scanRequestId(text: string): number | null {
  const match = /"request_id"\s*:\s*(\d{1,16})\b/.exec(text.slice(0, REQUEST_ID_SCAN_CHARS));
  const id = match ? Number(match[1]) : null;
  return isRequestId(id) ? id : null;
}

/** Formats zod issues as `field: problem; field: problem`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
}

/** Parses a body as a JSON object; the error text otherwise. */
function parseObject(
  body: Uint8Array,
): { ok: true; fields: Record<string, unknown> } | { ok: false; text: string | null; msg: string } {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    return { ok: false, text: null, msg: "malformed frame: not valid UTF-8" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, text, msg: `malformed JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, text: null, msg: 'a message must be a JSON object with a "type" field' };
  }
  return { ok: true, fields: value as Record<string, unknown> };
}

/** Decodes a frame body received by the manager. */
export function decodeWorkerRequest(body: Uint8Array): DecodedRequest {
  const parsed = parseObject(body);
  if (!parsed.ok) {
    return { ok: false, request_id: parsed.text === null ? null : scanRequestId(parsed.text), msg: parsed.msg };
  }
  const { fields } = parsed;
  const requestId = isRequestId(fields.request_id) ? fields.request_id : null;
  if (typeof fields.type !== "string") {
    return { ok: false, request_id: requestId, msg: 'missing "type" (a string such as "FetchTask")' };
  }
  if (!REQUEST_TYPES.has(fields.type)) {
    return { ok: false, request_id: requestId, msg: `unknown request type "${fields.type.slice(0, 100)}"` };
  }
  const result = WorkerRequestSchema.safeParse(fields);
  if (!result.success) {
    return { ok: false, request_id: requestId, msg: `invalid ${fields.type}: ${describeIssues(result.error)}` };
  }
  return { ok: true, request: result.data };
}

/** Decodes a frame body received by a worker: a reply or a control message. */
export function decodeManagerMessage(body: Uint8Array): DecodedManagerMessage {
  const parsed = parseObject(body);
  if (!parsed.ok) return { ok: false, msg: parsed.msg };
  const { fields } = parsed;
  if (typeof fields.type !== "string") return { ok: false, msg: 'missing "type"' };
  if (CONTROL_TYPES.has(fields.type)) {
    const result = WorkerControlSchema.safeParse(fields);
    if (!result.success) return { ok: false, msg: `invalid ${fields.type}: ${describeIssues(result.error)}` };
    return { ok: true, kind: "control", control: result.data };
  }
  const result = ManagerReplySchema.safeParse(fields);
  if (!result.success) {
    return { ok: false, msg: `invalid ${fields.type.slice(0, 100)}: ${describeIssues(result.error)}` };
  }
  return { ok: true, kind: "reply", reply: result.data };
}

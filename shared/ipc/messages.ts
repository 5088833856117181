/**
 * Decoding of IPC frame bodies into the messages of `shared/wire/ipc.ts`:
 * worker requests on the manager side, replies and control messages on the
 * worker side. An unusable body yields the text of the `Error` to answer
 * and, when it can be read, the request id to echo.
 *
 * The common messages are recognised by the hand-written checks of
 * `fast_check.ts`; everything else (and everything those refuse) goes
 * through the zod schemas, which accept it or say precisely what is wrong.
 * A worker reaches this module only for such a message (`unix_client.ts`
 * loads it on first need), so it does not load the schemas otherwise.
 */
import { ManagerReplySchema, WorkerControlSchema, WorkerRequestSchema } from "../wire/ipc.ts";
import type { ValidWorkerRequest } from "../wire/ipc.ts";
import { decodeRequest, describeIssues, parseJsonObject, typeNames } from "../wire/decode.ts";
import { type DecodedManagerMessage, fastManagerMessage, fastWorkerRequest, utf8 } from "./fast_check.ts";

export type { DecodedManagerMessage } from "./fast_check.ts";

/** A decoded worker request, or the `Error` reply it deserves. */
export type DecodedRequest =
  | { ok: true; request: ValidWorkerRequest }
  | { ok: false; request_id: number | null; msg: string };

const REQUEST_TYPES = typeNames(WorkerRequestSchema);
const CONTROL_TYPES = typeNames(WorkerControlSchema);
const WORDING = { unit: "message", kind: "request", example: "FetchTask" };

/** Decodes a frame body received by the manager. */
export function decodeWorkerRequest(body: Uint8Array): DecodedRequest {
  const text = utf8(body);
  if (text === null) return { ok: false, request_id: null, msg: "malformed frame: not valid UTF-8" };
  const decoded = decodeRequest(text, WorkerRequestSchema, REQUEST_TYPES, WORDING, fastWorkerRequest);
  return decoded.ok ? { ok: true, request: decoded.value } : decoded;
}

/** Decodes a frame body received by a worker: a reply or a control message. */
export function decodeManagerMessage(body: Uint8Array): DecodedManagerMessage {
  const text = utf8(body);
  if (text === null) return { ok: false, msg: "malformed frame: not valid UTF-8" };
  const parsed = parseJsonObject(text, WORDING.unit);
  if (!parsed.ok) return { ok: false, msg: parsed.msg };
  const { fields } = parsed;
  if (typeof fields.type !== "string") return { ok: false, msg: 'missing "type"' };
  const fast = fastManagerMessage(fields);
  if (fast !== null) return { ok: true, ...fast };
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

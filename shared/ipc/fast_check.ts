/**
 * Hand-written checks of the common IPC messages (`shared/wire/ipc.ts`), so
 * the hot path — `FetchTask` / `FetchTaskReply` of a task without resources
 * or watch, `ReportTask` with `Finish` / `Cancel` / `Commit` / `Upload`,
 * `Heartbeat`, `Hello`, the control messages — needs neither zod nor its
 * schemas (a managed worker never loads them while all goes well).
 *
 * Each check accepts a strict subset of what the zod schema accepts: only
 * objects with no unknown key, every defaulted field present, no value the
 * schema would transform (artifact aliases), so the schema's output would be
 * the input itself, which is then used as is. Anything else — an unknown or
 * rarer message, a bad value, an extra key — gets `null`, and the caller runs
 * the zod schema, which accepts it or produces the precise error. These
 * checks decide nothing on their own: a message they refuse is never
 * refused for that.
 *
 * No dependency on zod here; `tests/ipc_fast_check.test.ts` runs every
 * message both ways.
 */
import type { ManagerReply, ValidWorkerRequest, WorkerControl } from "../wire/ipc.ts";
import { parseJsonObject } from "../wire/decode.ts";

type Fields = Record<string, unknown>;

/** zod's `z.uuid()` pattern (RFC 9562 variants, nil and max). */
const UUID =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/;
/** `TASK_RESULT_MESSAGES` of `shared/wire/tasks.ts` (kept equal by the tests). */
export const FAST_RESULT_MESSAGES: ReadonlySet<string> = new Set([
  "FetchResourceTimeout",
  "ExecTimeout",
  "UploadResultTimeout",
  "ResourceNotFound",
  "ResourceForbidden",
  "WatchTimeout",
  "UserCancellation",
  "SubmitNewTaskFailed",
]);
/** The canonical artifact kinds (aliases go to the schema, which maps them). */
export const FAST_CONTENT_TYPES: ReadonlySet<string> = new Set(["result", "exec-log", "std-log"]);
const INT4_MIN = -(2 ** 31);
const INT4_MAX = 2 ** 31 - 1;

const isObject = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isRequestId = (v: unknown): boolean => isInt(v) && (v as number) >= 0;
const isWorkerLocalId = (v: unknown): boolean => isInt(v) && (v as number) >= 0 && (v as number) <= 65_535;
const isUuid = (v: unknown): boolean => typeof v === "string" && UUID.test(v);
const isOptionalString = (v: unknown): boolean => v === undefined || v === null || typeof v === "string";

/** Whether every own key of `obj` is in `allowed` (the caller checks the required ones). */
function keysWithin(obj: Fields, allowed: readonly string[]): boolean {
  for (const key in obj) if (!allowed.includes(key)) return false;
  return true;
}

/** Exactly the keys `keys` (all present). */
function exactKeys(obj: Fields, keys: readonly string[]): boolean {
  let n = 0;
  for (const key in obj) {
    if (!keys.includes(key)) return false;
    n++;
  }
  return n === keys.length;
}

/** `TaskResultSpec` with `msg` present (the schema defaults it). */
function isResult(v: unknown): boolean {
  if (!isObject(v) || !keysWithin(v, ["exit_status", "msg", "detail"])) return false;
  const { exit_status, msg, detail } = v;
  return isInt(exit_status) && exit_status >= INT4_MIN && exit_status <= INT4_MAX &&
    (msg === null || (typeof msg === "string" && FAST_RESULT_MESSAGES.has(msg))) &&
    (detail === undefined || detail === null || (typeof detail === "string" && detail.length <= 65_536));
}

/** `ReportTaskOp` without `Submit` (left to the schema). */
function isReportOp(op: unknown): boolean {
  if (op === "Finish" || op === "Cancel") return true;
  if (!isObject(op)) return false;
  if (exactKeys(op, ["Commit"])) return isResult(op.Commit);
  if (exactKeys(op, ["Upload"])) {
    const upload = op.Upload;
    return isObject(upload) && exactKeys(upload, ["content_type", "content_length"]) &&
      typeof upload.content_type === "string" && FAST_CONTENT_TYPES.has(upload.content_type) &&
      isInt(upload.content_length) && upload.content_length >= 0;
  }
  return false;
}

const REQUEST_KEYS = ["type", "request_id", "worker_local_id"] as const;
const HELLO_KEYS = [...REQUEST_KEYS, "secret"] as const;
const REPORT_KEYS = [...REQUEST_KEYS, "task_id", "op"] as const;

/**
 * `fields` as a valid worker request when it is one of the common shapes
 * (`Hello`, `FetchTask`, `Heartbeat`, `ReportTask` without `Submit`); null
 * means "ask the schema".
 */
export function fastWorkerRequest(fields: Fields): ValidWorkerRequest | null {
  if (!isRequestId(fields.request_id) || !isWorkerLocalId(fields.worker_local_id)) return null;
  switch (fields.type) {
    case "FetchTask":
    case "Heartbeat":
      return exactKeys(fields, REQUEST_KEYS) ? fields as ValidWorkerRequest : null;
    case "ReportTask":
      return exactKeys(fields, REPORT_KEYS) && isInt(fields.task_id) && isReportOp(fields.op)
        ? fields as ValidWorkerRequest
        : null;
    case "Hello":
      return exactKeys(fields, HELLO_KEYS) && typeof fields.secret === "string" && fields.secret.length <= 256
        ? fields as ValidWorkerRequest
        : null;
    default:
      return null;
  }
}

const SPEC_KEYS = ["args", "envs", "resources", "terminal_output", "watch"] as const;
const TASK_KEYS = ["id", "uuid", "timeout", "spec", "upstream_task_uuid", "attempt", "suite_uuid"] as const;

/** A `TaskSpec` with every field present, no resource and no watch (those go to the schema). */
function isPlainSpec(spec: unknown): boolean {
  if (!isObject(spec) || !exactKeys(spec, SPEC_KEYS)) return false;
  const { args, envs, resources, terminal_output, watch } = spec;
  if (!Array.isArray(args) || args.length === 0) return false;
  for (const arg of args) if (typeof arg !== "string") return false;
  if (!isObject(envs) || Object.getPrototypeOf(envs) !== Object.prototype) return false;
  for (const key in envs) {
    // `__proto__` would be copied differently by the schema's record.
    if (key === "__proto__" || typeof envs[key] !== "string") return false;
  }
  return Array.isArray(resources) && resources.length === 0 && typeof terminal_output === "boolean" && watch === null;
}

/** A `ManagedTask` as the fast path takes it. */
function isPlainManagedTask(task: unknown): boolean {
  if (!isObject(task) || !exactKeys(task, TASK_KEYS)) return false;
  return isInt(task.id) && isUuid(task.uuid) && typeof task.timeout === "string" && isPlainSpec(task.spec) &&
    (task.upstream_task_uuid === null || isUuid(task.upstream_task_uuid)) && isInt(task.attempt) &&
    isUuid(task.suite_uuid);
}

/**
 * `fields` as a valid manager → worker message when it is one of the common
 * shapes (`HelloReply`, `FetchTaskReply`, `ReportTaskReply`,
 * `HeartbeatReply`, `Error`, `Shutdown`, `CancelTask`); null means "ask the
 * schema".
 */
export function fastManagerMessage(
  fields: Fields,
): { kind: "reply"; reply: ManagerReply } | { kind: "control"; control: WorkerControl } | null {
  switch (fields.type) {
    case "FetchTaskReply":
      return exactKeys(fields, ["type", "request_id", "task"]) && isRequestId(fields.request_id) &&
          (fields.task === null || isPlainManagedTask(fields.task))
        ? { kind: "reply", reply: fields as ManagerReply }
        : null;
    case "ReportTaskReply":
      return keysWithin(fields, ["type", "request_id", "success", "url", "error"]) && isRequestId(fields.request_id) &&
          typeof fields.success === "boolean" && isOptionalString(fields.url) && isOptionalString(fields.error)
        ? { kind: "reply", reply: fields as ManagerReply }
        : null;
    case "HelloReply":
    case "HeartbeatReply":
      return exactKeys(fields, ["type", "request_id"]) && isRequestId(fields.request_id)
        ? { kind: "reply", reply: fields as ManagerReply }
        : null;
    case "Error":
      return keysWithin(fields, ["type", "request_id", "msg"]) && typeof fields.msg === "string" &&
          (fields.request_id === undefined || fields.request_id === null || isRequestId(fields.request_id))
        ? { kind: "reply", reply: fields as ManagerReply }
        : null;
    case "Shutdown":
      return exactKeys(fields, ["type", "graceful"]) && typeof fields.graceful === "boolean"
        ? { kind: "control", control: fields as WorkerControl }
        : null;
    case "CancelTask":
      return exactKeys(fields, ["type", "task_id"]) && isInt(fields.task_id)
        ? { kind: "control", control: fields as WorkerControl }
        : null;
    default:
      return null;
  }
}

/** A decoded manager → worker message. */
export type DecodedManagerMessage =
  | { ok: true; kind: "reply"; reply: ManagerReply }
  | { ok: true; kind: "control"; control: WorkerControl }
  | { ok: false; msg: string };

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** The body as text, or null when it is not valid UTF-8. */
export function utf8(body: Uint8Array): string | null {
  try {
    return utf8Decoder.decode(body);
  } catch {
    return null;
  }
}

/**
 * Decodes a frame body received by a worker as far as it can without the
 * schemas: the message when it is a common one, the error when the body is
 * not a JSON object with a string `type`; null when only the schemas can
 * tell (`decodeManagerMessage` of `messages.ts`), with the same results.
 */
export function decodeManagerMessageFast(body: Uint8Array): DecodedManagerMessage | null {
  const text = utf8(body);
  if (text === null) return { ok: false, msg: "malformed frame: not valid UTF-8" };
  const parsed = parseJsonObject(text, "message");
  if (!parsed.ok) return { ok: false, msg: parsed.msg };
  const { fields } = parsed;
  if (typeof fields.type !== "string") return { ok: false, msg: 'missing "type"' };
  const fast = fastManagerMessage(fields);
  return fast === null ? null : { ok: true, ...fast };
}

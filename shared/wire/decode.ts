/**
 * Decoding of JSON request messages against a schema that is a union of
 * `{type, …}` objects, shared by the `/ws/managers` frames and the worker
 * IPC: JSON, the `type` field, then the schema. A message that cannot be
 * used yields the text of the `Error` to answer and, when it can be read,
 * the request id to echo. Text the database cannot store (NUL, lone
 * surrogates) is refused here, naming the field, before the schema runs.
 */
import type { z } from "zod";
import { describeTextProblem, findTextProblem } from "./text.ts";

/** A decoded request, or the `Error` reply it deserves. */
export type Decoded<T> =
  | { ok: true; value: T }
  | { ok: false; request_id: number | null; msg: string };

/** Words of the error texts: what a message is called, and an example type. */
export interface DecodeWording {
  /** "frame" or "message". */
  unit: string;
  /** "message" or "request", as in `unknown request type "X"`. */
  kind: string;
  /** A valid type, for `missing "type" (a string such as "Heartbeat")`. */
  example: string;
}

/** How much of an unparsable message is searched for its request id. */
const REQUEST_ID_SCAN_CHARS = 4096;

/** The type names of a union schema of `{type: literal, …}` objects. */
export function typeNames(schema: { options: readonly { shape: { type: { value: string } } }[] }): ReadonlySet<string> {
  return new Set(schema.options.map((o) => o.shape.type.value));
}

/** Whether `value` can be a request id (a non-negative safe integer). */
export function isRequestId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A request id found by a textual scan of a message that cannot be parsed as a whole. */
export function scanRequestId(text: string): number | null {
  const match = /"request_id"\s*:\s*(\d{1,16})\b/.exec(text.slice(0, REQUEST_ID_SCAN_CHARS));
  const id = match ? Number(match[1]) : null;
  return isRequestId(id) ? id : null;
}

/** Formats the first zod issues as `field: problem; field: problem`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
}

/** Parses `text` as a JSON object; the error text otherwise. */
export function parseJsonObject(
  text: string,
  unit: string,
): { ok: true; fields: Record<string, unknown> } | { ok: false; request_id: number | null; msg: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      request_id: scanRequestId(text),
      msg: `malformed JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, request_id: null, msg: `a ${unit} must be a JSON object with a "type" field` };
  }
  return { ok: true, fields: value as Record<string, unknown> };
}

/**
 * Decodes the JSON request `text` with `schema`, whose type names are
 * `types`. `fast`, when given, is tried before the schema: a hand-written
 * check that returns the request when it is certain the schema would accept
 * it unchanged, else null (the schema then decides, and words any error).
 */
export function decodeRequest<T>(
  text: string,
  schema: z.ZodType<T>,
  types: ReadonlySet<string>,
  wording: DecodeWording,
  fast?: (fields: Record<string, unknown>) => T | null,
): Decoded<T> {
  const parsed = parseJsonObject(text, wording.unit);
  if (!parsed.ok) return parsed;
  const { fields } = parsed;
  const requestId = isRequestId(fields.request_id) ? fields.request_id : null;
  if (typeof fields.type !== "string") {
    return { ok: false, request_id: requestId, msg: `missing "type" (a string such as "${wording.example}")` };
  }
  if (!types.has(fields.type)) {
    return { ok: false, request_id: requestId, msg: `unknown ${wording.kind} type "${fields.type.slice(0, 100)}"` };
  }
  const unstorable = findTextProblem(fields);
  if (unstorable !== null) {
    return { ok: false, request_id: requestId, msg: describeTextProblem(unstorable, `invalid ${fields.type}`) };
  }
  const checked = fast?.(fields) ?? null;
  if (checked !== null) return { ok: true, value: checked };
  const result = schema.safeParse(fields);
  if (!result.success) {
    return { ok: false, request_id: requestId, msg: `invalid ${fields.type}: ${describeIssues(result.error)}` };
  }
  return { ok: true, value: result.data };
}

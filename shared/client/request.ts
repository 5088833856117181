/**
 * One HTTP request to the coordinator, shared by the user SDK and the worker
 * client: JSON in, raw status and text out, and every failure as a
 * `ClientError` (status 0 when the coordinator could not be reached)
 * carrying the server's `{"msg"}`.
 */
import { ClientError } from "./errors.ts";
import { ErrorMsgSchema } from "../wire/common.ts";

/** A raw 2xx answer: status and body text. */
export interface Answer {
  status: number;
  text: string;
}

/** What to send. */
export interface RequestSpec {
  baseUrl: string;
  method: string;
  path: string;
  token?: string;
  body?: unknown;
  signal?: AbortSignal;
}

/** Sends one request; resolves on 2xx, throws `ClientError` otherwise. */
export async function sendRequest(spec: RequestSpec): Promise<Answer> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (spec.token !== undefined) headers.Authorization = `Bearer ${spec.token}`;
  if (spec.body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${spec.baseUrl}${spec.path}`, {
      method: spec.method,
      headers,
      body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
      signal: spec.signal,
    });
    text = await res.text();
  } catch (error) {
    if (spec.signal?.aborted) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ClientError(0, `cannot reach the coordinator at ${spec.baseUrl}: ${reason}`, { cause: error });
  }
  if (res.ok) return { status: res.status, text };
  throw new ClientError(res.status, errorMessage(res, text));
}

/** The `{"msg"}` of an error response, or a description of the response when it has none. */
export function errorMessage(res: Response, text: string): string {
  try {
    const parsed = ErrorMsgSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data.msg;
  } catch {
    // Not JSON: fall through to the status line and raw text below.
  }
  const detail = text.trim().slice(0, 200);
  return `HTTP ${res.status} ${res.statusText}${detail ? `: ${detail}` : ""}`;
}

/**
 * The request primitives the resource APIs of `MitosisClient` (tasks,
 * artifacts, attachments, workers) are built on, and path helpers.
 */
import type { z } from "zod";

/** HTTP methods the API uses. */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** Authenticated requests against one coordinator; failures throw `ClientError`. */
export interface ApiTransport {
  /** Sends a request whose success body is JSON matching `schema`; resolves with the parsed body. */
  json<S extends z.ZodType>(method: HttpMethod, path: string, schema: S, body?: unknown): Promise<z.infer<S>>;
  /** Sends a request whose success body carries nothing of interest. */
  send(method: HttpMethod, path: string, body?: unknown): Promise<void>;
  /** Makes a URL the coordinator answered absolute (a presigned URL may be relative to the coordinator). */
  resolve(url: string): string;
}

/** Encodes one path segment (user, group, uuid, content type). */
export const segment = encodeURIComponent;

/** Encodes an attachment key for a `{*key}` path: each segment encoded, slashes kept. */
export function keyPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

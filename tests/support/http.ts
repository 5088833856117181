/**
 * Minimal raw HTTP helpers for API tests: they send exactly the bytes a test
 * wants (including malformed JSON) and return status plus parsed body.
 */
import { md5Array } from "../../shared/client/md5.ts";

/** A response as tests inspect it. */
export interface RawResponse {
  status: number;
  /** Parsed JSON body, or the text when it is not JSON, or null when empty. */
  body: unknown;
  text: string;
}

/** Sends a request; `body` strings are sent verbatim, other values as JSON. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = null;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed, text };
}

/** Logs in and returns the token; throws on failure. */
export async function login(baseUrl: string, username: string, password: string, retain = false): Promise<string> {
  const res = await call(baseUrl, "POST", "/login", {
    body: { username, md5_password: md5Array(password), retain },
  });
  if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${res.text}`);
  return (res.body as { token: string }).token;
}

/** Creates a user through the admin API and returns a token for it. */
export async function createUser(
  baseUrl: string,
  adminToken: string,
  username: string,
  password = `${username}-pw`,
  admin = false,
): Promise<string> {
  const res = await call(baseUrl, "POST", "/admin/users", {
    token: adminToken,
    body: { username, md5_password: md5Array(password), admin },
  });
  if (res.status !== 200) throw new Error(`create user ${username} failed: ${res.status} ${res.text}`);
  return await login(baseUrl, username, password);
}

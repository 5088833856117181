/**
 * Refuses, with 400 naming the part, a request whose decoded path segments
 * or query parameters hold text the database cannot store (a NUL from
 * `%00`). Path parameters and query values reach routes decoded, some
 * without a schema, so this one check covers them all.
 */
import type { MiddlewareHandler } from "hono";
import { textProblem } from "../../shared/wire/text.ts";

/** Decodes one path segment as routes see it (undecodable segments stay as they are). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The problem with the URL's path or query, or null. */
export function urlTextProblem(url: URL): string | null {
  for (const segment of url.pathname.split("/")) {
    const problem = textProblem(decodeSegment(segment));
    if (problem !== null) return `path segment ${problem}`;
  }
  for (const [name, value] of url.searchParams) {
    const nameProblem = textProblem(name);
    if (nameProblem !== null) return `query parameter name ${nameProblem}`;
    const problem = textProblem(value);
    if (problem !== null) return `query parameter ${name}: ${problem}`;
  }
  return null;
}

/** Middleware answering 400 `{"msg"}` for URLs with unstorable text. */
export function rejectUnstorableUrl(): MiddlewareHandler {
  return async (c, next) => {
    const problem = urlTextProblem(new URL(c.req.url));
    if (problem !== null) return c.json({ msg: `invalid URL: ${problem}` }, 400);
    return await next();
  };
}

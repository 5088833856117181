/**
 * Request validation with the shared zod schemas. Any malformed JSON or
 * schema violation becomes a 400 `{"msg"}` naming the offending fields, and
 * so does text the database cannot store (NUL, lone surrogates), checked
 * once here for every body, path parameter and query value.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { badRequest } from "../../shared/errors.ts";
import { describeTextProblem, findTextProblem } from "../../shared/wire/text.ts";

/** Renders zod issues as `field: problem; field: problem`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

/** Parses a value with a schema or throws a 400 prefixed with `what`. */
export function parseOrBadRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const unstorable = findTextProblem(value);
  if (unstorable !== null) throw badRequest(describeTextProblem(unstorable, `invalid ${what}`));
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(`invalid ${what}: ${describeIssues(result.error)}`);
  return result.data;
}

/** Reads and validates the JSON body of a request. */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest(text.trim() === "" ? "request body is empty: expected JSON" : "request body is not valid JSON");
  }
  return parseOrBadRequest(schema, value, "request body");
}

/** Validates a path parameter. */
export function param<S extends z.ZodType>(c: Context, name: string, schema: S): z.output<S> {
  return parseOrBadRequest(schema, c.req.param(name), `path parameter ${name}`);
}

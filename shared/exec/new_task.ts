/**
 * A downstream task requested by the task itself: a `SubmitTaskReq` written
 * as JSON to `$MITO_NEW_TASK`. As in the existing Mitosis, a missing or blank
 * file means no request; an unreadable or invalid one is a failed submission.
 */
import type { ValidSubmitTaskReq } from "../wire/tasks.ts";

/** What `readNewTask` found. */
export type NewTaskRequest =
  | { kind: "none" }
  | { kind: "invalid"; reason: string }
  | { kind: "valid"; request: ValidSubmitTaskReq };

/** Reads and validates the new-task file at `path`. */
export async function readNewTask(path: string): Promise<NewTaskRequest> {
  let text: string;
  try {
    // A link could make the worker read (and log) a file the task itself cannot read.
    if (!(await Deno.lstat(path)).isFile) return { kind: "invalid", reason: `${path} is not a regular file` };
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "none" };
    return { kind: "invalid", reason: `cannot read ${path}: ${(error as Error).message}` };
  }
  if (text.trim() === "") return { kind: "none" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: "invalid", reason: `${path} is not JSON: ${(error as Error).message}` };
  }
  // The schemas (zod) are loaded only by a worker whose task asks for a new task.
  const { SubmitTaskReqSchema } = await import("../wire/tasks.ts");
  const parsed = SubmitTaskReqSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    return { kind: "invalid", reason: `${path} is not a valid task submission: ${issues}` };
  }
  return { kind: "valid", request: parsed.data };
}

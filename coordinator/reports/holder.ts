/** Who reports on a claimed task, and the refusal when it does not hold the task. */
import { type ApiError, notFound } from "../../shared/errors.ts";

/**
 * Who reports on a task: an independent worker, or a node manager with the
 * claim attempt it believes it holds (`null`/absent: any attempt it holds).
 */
export type TaskHolder =
  | { kind: "worker"; id: number; uuid: string }
  | { kind: "manager"; id: number; uuid: string; attempt?: number | null };

/** The 404 for a task the holder does not (or no longer) hold. */
export function notHeld(holder: TaskHolder, taskId: number): ApiError {
  if (holder.kind === "worker") return notFound(`task ${taskId} is not assigned to this worker`);
  const attempt = holder.attempt === undefined || holder.attempt === null ? "" : ` (attempt ${holder.attempt})`;
  return notFound(`task ${taskId}${attempt} is not held by this manager`);
}

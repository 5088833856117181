/**
 * The environment of a task process: the worker's own environment (minus
 * secrets), then the task's `envs`, then the `MITO_*` variables, which win.
 */
import type { WorkerTaskResp } from "../wire/workers.ts";
import { WORKER_SECRET_ENV } from "../ipc/worker_secret.ts";
import type { TaskWorkDir } from "./workdir.ts";

/** Variables of the worker's environment never passed to tasks (a managed worker's IPC secret included). */
export const WITHHELD_VARIABLES: readonly string[] = ["MITOSIS_PASSWORD", WORKER_SECRET_ENV];

/** The worker's environment without `WITHHELD_VARIABLES`. */
export function inheritableEnvironment(): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of WITHHELD_VARIABLES) delete env[name];
  return env;
}

/** The complete environment of `task` running in `dir` on top of `base`. */
export function taskEnvironment(
  task: Pick<WorkerTaskResp, "uuid" | "spec" | "upstream_task_uuid">,
  dir: TaskWorkDir,
  base: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = { ...base, ...task.spec.envs };
  delete env.MITO_UPSTREAM_TASK_UUID; // only ever set from the task's own upstream below
  Object.assign(env, {
    MITO_TASK_UUID: task.uuid,
    MITO_RESULT_DIR: dir.result,
    MITO_EXEC_DIR: dir.execLog,
    MITO_RESOURCE_DIR: dir.resource,
    MITO_NEW_TASK: dir.newTask,
  });
  if (task.upstream_task_uuid !== null) env.MITO_UPSTREAM_TASK_UUID = task.upstream_task_uuid;
  return env;
}

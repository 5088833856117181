/**
 * A task as runners (independent workers and node managers) see it: the
 * form handed out for execution, plus its state and, once archived, its
 * result, so that `watch` can follow any task without Redis.
 */
import type { Sql } from "../db/connect.ts";
import { formatDuration } from "../../shared/config/duration.ts";
import { TASK_STATES } from "../../shared/wire/tasks.ts";
import type { WorkerTaskResp } from "../../shared/wire/workers.ts";
import type { ClaimedTask } from "../scheduler/claim.ts";
import { getTask } from "../tasks/store.ts";

/** A task as a worker receives it. */
export function workerTask(task: ClaimedTask): WorkerTaskResp {
  return {
    id: task.id,
    uuid: task.uuid,
    timeout: formatDuration(task.timeout * 1000),
    spec: task.spec,
    upstream_task_uuid: task.upstream_task_uuid,
  };
}

/** Any task by uuid with its state and result (404 when unknown). */
export async function watchedTaskView(sql: Sql, uuid: string): Promise<WorkerTaskResp> {
  const task = await getTask(sql, uuid);
  return {
    ...workerTask(task),
    state: TASK_STATES[task.state] ?? "Unknown",
    result: task.archived ? task.result : null,
  };
}

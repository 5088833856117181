/**
 * A task as runners (independent workers and node managers) see it: the
 * form handed out for execution, plus its state and, once archived, its
 * result, so that `watch` can follow a task without Redis.
 */
import { formatDuration } from "../../shared/config/duration.ts";
import { TASK_STATES } from "../../shared/wire/tasks.ts";
import type { WorkerTaskResp } from "../../shared/wire/workers.ts";
import type { ClaimedTask } from "../scheduler/claim.ts";
import type { TaskRow } from "../tasks/rows.ts";

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

/** A task with its state and result, as `watch` follows it. */
export function watchedTaskView(task: TaskRow): WorkerTaskResp {
  return {
    ...workerTask(task),
    state: TASK_STATES[task.state] ?? "Unknown",
    result: task.archived ? task.result : null,
  };
}

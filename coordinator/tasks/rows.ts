/**
 * Task rows as stored in `active_tasks` / `archived_tasks`, and their wire
 * presentation (`TaskQueryInfo`).
 */
import { formatTimestamp } from "../../shared/time.ts";
import { TASK_STATES, type TaskQueryInfo, type TaskResultSpec, type TaskSpec } from "../../shared/wire/tasks.ts";

/** A task row joined with its creator's and group's names. */
export interface TaskRow {
  id: number;
  creator_id: number;
  group_id: number;
  task_id: number;
  uuid: string;
  tags: string[];
  labels: string[];
  state: number;
  assigned_worker: number | null;
  timeout: number;
  priority: number;
  spec: TaskSpec;
  result: TaskResultSpec | null;
  upstream_task_uuid: string | null;
  downstream_task_uuid: string | null;
  reporter_uuid: string | null;
  created_at: Date;
  updated_at: Date;
  creator_username: string;
  group_name: string;
  /** True for rows of `archived_tasks`. */
  archived: boolean;
}

/** Columns selecting a TaskRow from alias `t` joined with users `u` and groups `g`. */
export const TASK_COLUMNS = `t.id, t.creator_id, t.group_id, t.task_id, t.uuid, t.tags, t.labels, t.state,
  t.assigned_worker, t.timeout, t.priority, t.spec, t.result, t.upstream_task_uuid, t.downstream_task_uuid,
  t.created_at, t.updated_at, u.username AS creator_username, g.group_name`;

/** Renders a task row as the wire `TaskQueryInfo`. */
export function presentTask(row: TaskRow): TaskQueryInfo {
  return {
    uuid: row.uuid,
    reporter_uuid: row.reporter_uuid ?? null,
    creator_username: row.creator_username,
    group_name: row.group_name,
    task_id: row.task_id,
    tags: row.tags,
    labels: row.labels,
    created_at: formatTimestamp(row.created_at),
    updated_at: formatTimestamp(row.updated_at),
    state: TASK_STATES[row.state] ?? "Unknown",
    timeout: row.timeout,
    priority: row.priority,
    spec: row.spec,
    result: row.result,
    upstream_task_uuid: row.upstream_task_uuid,
    downstream_task_uuid: row.downstream_task_uuid,
  };
}

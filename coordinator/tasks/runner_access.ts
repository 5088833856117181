/**
 * What a worker or node manager token may read: a task (its spec for
 * `watch`, its artifacts, its group's attachments) that the runner holds
 * right now, or any task of a group the runner serves (views
 * `worker_served_groups` and `manager_served_groups`: the group has Write or
 * Admin on the runner and the runner's registering user is active with Write
 * or Admin in it). A runner token never reads another group's data by uuid.
 */
import type { Db } from "../db/connect.ts";
import { forbidden } from "../../shared/errors.ts";
import type { TaskRow } from "./rows.ts";
import { getTask } from "./store.ts";

/** The runner behind a worker or manager token. */
export interface Runner {
  kind: "worker" | "manager";
  id: number;
}

/** True when the runner holds the task now or serves its group. */
export async function runnerMayRead(
  db: Db,
  runner: Runner,
  task: Pick<TaskRow, "uuid" | "group_id">,
): Promise<boolean> {
  const [row] = runner.kind === "worker"
    ? await db<{ ok: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM active_tasks WHERE uuid = ${task.uuid} AND assigned_worker = ${runner.id})
        OR EXISTS (SELECT 1 FROM worker_served_groups WHERE worker_id = ${runner.id} AND group_id = ${task.group_id})
        AS ok`
    : await db<{ ok: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM active_tasks WHERE uuid = ${task.uuid} AND assigned_manager = ${runner.id})
        OR EXISTS (
          SELECT 1 FROM manager_served_groups WHERE node_manager_id = ${runner.id} AND group_id = ${task.group_id})
        AS ok`;
  return row.ok;
}

/** Loads a task (404) the runner may read (403 otherwise). */
export async function taskForRunner(db: Db, runner: Runner, uuid: string): Promise<TaskRow> {
  const task = await getTask(db, uuid);
  if (!await runnerMayRead(db, runner, task)) {
    throw forbidden(`this ${runner.kind} neither holds task ${uuid} nor serves its group`);
  }
  return task;
}

/**
 * Dispatch to independent workers: one statement picks the best Ready task
 * the worker may run and marks it Running, skipping rows other claimers hold
 * (`FOR UPDATE SKIP LOCKED`), so any number of workers and coordinators can
 * claim concurrently without per-worker queues in memory. It takes the head
 * of each served group's Ready queue from the `active_tasks_ready_by_group`
 * index and keeps the best of those heads, so a claim costs a few index
 * probes at any queue length.
 *
 * Eligibility: the worker serves the task's group (view
 * `worker_served_groups`: the group has Write or Admin on the worker and the
 * worker's registering user is active with Write or Admin in the group),
 * `worker.tags ⊇ task.tags`, and the task belongs to no suite. Order: higher
 * priority first, then older.
 */
import { type Db, jsonb } from "../db/connect.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";
import type { TaskSpec } from "../../shared/wire/tasks.ts";
import { backToReady, isHeld } from "./held_tasks.ts";

/** What a worker receives for a claimed task. */
export interface ClaimedTask {
  id: number;
  uuid: string;
  timeout: number;
  spec: TaskSpec;
  upstream_task_uuid: string | null;
}

/**
 * Claims one task for the worker, or returns null when none is eligible.
 *
 * A worker asks for a task only when it runs none (one at a time, the next
 * fetch after the previous commit), so a task still held by it was claimed
 * by a fetch whose reply never reached it (its coordinator killed after the
 * claim committed, the connection dropped). The oldest such task still
 * Running is given to it again instead of a new one; any other it holds goes
 * back to Ready. Without this, such a task stayed Running until the worker
 * was removed, which a live worker never is.
 */
export async function claimTaskForWorker(db: Db, workerId: number, workerTags: string[]): Promise<ClaimedTask | null> {
  // The tags travel as JSON: bound as a text[] parameter, an empty list was now and then sent as "" (PostgreSQL:
  // "malformed array literal"), failing the fetch with 400.
  const [task] = await db<ClaimedTask[]>`
    WITH mine AS (
      SELECT t.id, t.state FROM active_tasks t
      WHERE t.assigned_worker = ${workerId} AND t.task_suite_id IS NULL AND ${isHeld(db)}
      FOR UPDATE
    ), again AS (
      SELECT id FROM mine WHERE state = ${TaskStateCode.Running} ORDER BY id LIMIT 1
    ), released AS (
      UPDATE active_tasks t SET ${backToReady(db)}
      FROM mine m WHERE t.id = m.id AND NOT EXISTS (SELECT 1 FROM again a WHERE a.id = m.id)
    ), candidate AS (
      SELECT id FROM again
      UNION ALL
      (SELECT c.id FROM worker_served_groups gw
      CROSS JOIN LATERAL (
        SELECT t.id, t.priority FROM active_tasks t
        WHERE t.group_id = gw.group_id AND t.state = ${TaskStateCode.Ready} AND t.task_suite_id IS NULL
          AND t.tags <@ ARRAY(SELECT jsonb_array_elements_text(${jsonb(db, workerTags)}))
        ORDER BY t.priority DESC, t.id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
      ) c
      WHERE gw.worker_id = ${workerId} AND NOT EXISTS (SELECT 1 FROM again)
      ORDER BY c.priority DESC, c.id
      LIMIT 1)
    ), claimed AS (
      UPDATE active_tasks t SET state = ${TaskStateCode.Running}, assigned_worker = ${workerId}, updated_at = now()
      FROM candidate WHERE t.id = candidate.id
      RETURNING t.id, t.uuid, t.timeout, t.spec, t.upstream_task_uuid
    ), noted AS (
      UPDATE workers SET assigned_task_id = (SELECT id FROM claimed), last_heartbeat = now(), updated_at = now()
      WHERE id = ${workerId} AND EXISTS (SELECT 1 FROM claimed)
    )
    SELECT * FROM claimed`;
  return task ?? null;
}

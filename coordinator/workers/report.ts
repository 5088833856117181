/**
 * A worker's reports on its task: Finish, Cancel, Upload (returns a presigned
 * PUT URL), Submit (a Pending downstream task) and Commit (archive the task,
 * release downstream tasks, finish a graceful shutdown). A report about a task
 * that is not assigned to this worker is rejected and changes nothing.
 */
import { type Db, jsonb, type Sql } from "../db/connect.ts";
import { badRequest, forbidden, notFound } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log/logger.ts";
import {
  type ArtifactContentType,
  type TaskResultSpec,
  TaskStateCode,
  type ValidSubmitTaskReq,
} from "../../shared/wire/tasks.ts";
import { type BlobStore, UPLOAD_URL_TTL_SEC } from "../storage/blob_store.ts";
import { artifactKey, upsertArtifact } from "../artifacts/store.ts";
import { insertTasks } from "../tasks/store.ts";
import { removeWorkers, WorkerStateCode } from "./store.ts";

/** The task a report is about, as the reporting worker holds it. */
interface HeldTask {
  id: number;
  uuid: string;
  group_id: number;
  creator_id: number;
  state: number;
  group_name: string;
}

const HELD_STATES = [TaskStateCode.Running, TaskStateCode.Finished, TaskStateCode.Cancelled];

/** Loads the task if it is assigned to the worker (and locks it inside a transaction); else 404. */
async function heldTask(db: Db, taskId: number, workerId: number, lock: boolean): Promise<HeldTask> {
  const [task] = lock
    ? await db<HeldTask[]>`
      SELECT t.id, t.uuid, t.group_id, t.creator_id, t.state, g.group_name
      FROM active_tasks t JOIN groups g ON g.id = t.group_id
      WHERE t.id = ${taskId} AND t.assigned_worker = ${workerId} AND t.state = ANY(${HELD_STATES}::int[])
      FOR UPDATE OF t`
    : await db<HeldTask[]>`
      SELECT t.id, t.uuid, t.group_id, t.creator_id, t.state, g.group_name
      FROM active_tasks t JOIN groups g ON g.id = t.group_id
      WHERE t.id = ${taskId} AND t.assigned_worker = ${workerId} AND t.state = ANY(${HELD_STATES}::int[])`;
  if (!task) throw notFound(`task ${taskId} is not assigned to this worker`);
  return task;
}

/** Finish or Cancel: records that the process ended (or was cancelled). */
export async function reportEnd(db: Db, workerId: number, taskId: number, cancelled: boolean): Promise<void> {
  const next = cancelled ? TaskStateCode.Cancelled : TaskStateCode.Finished;
  const result = await db`
    UPDATE active_tasks SET state = ${next}, updated_at = now()
    WHERE id = ${taskId} AND assigned_worker = ${workerId} AND state = ANY(${HELD_STATES}::int[])`;
  if (result.count === 0) throw notFound(`task ${taskId} is not assigned to this worker`);
}

/** Upload: records the artifact (charging quota) and returns a presigned PUT URL. */
export async function reportUpload(
  sql: Sql,
  blobs: BlobStore,
  workerId: number,
  taskId: number,
  ct: ArtifactContentType,
  size: number,
): Promise<string> {
  const task = await sql.begin(async (tx) => {
    const held = await heldTask(tx, taskId, workerId, true);
    await upsertArtifact(tx, held.uuid, held.group_id, ct, size);
    return held;
  });
  return await blobs.presignPut("artifacts", artifactKey(task.uuid, ct), size, UPLOAD_URL_TTL_SEC);
}

/**
 * Submit: creates a Pending downstream task in the same group, owned by the
 * upstream task's creator, which turns Ready when the upstream commits.
 */
export async function reportSubmit(
  sql: Sql,
  workerId: number,
  taskId: number,
  req: ValidSubmitTaskReq,
): Promise<string> {
  return await sql.begin(async (tx) => {
    const held = await heldTask(tx, taskId, workerId, true);
    if (req.group_name !== held.group_name) {
      throw badRequest(`a downstream task must be in the upstream task's group ${held.group_name}`);
    }
    const [creator] = await tx<{ state: number }[]>`SELECT state FROM users WHERE id = ${held.creator_id}`;
    if (creator?.state !== 0) throw forbidden("the task's creator is no longer active");
    const [role] = await tx<{ role: number }[]>`
      SELECT role FROM group_worker WHERE group_id = ${held.group_id} AND worker_id = ${workerId}`;
    if (!role || role.role < 1) throw forbidden(`group ${held.group_name} may not submit through this worker`);
    const [created] = await insertTasks(tx, [{
      creatorId: held.creator_id,
      groupId: held.group_id,
      req,
      state: TaskStateCode.Pending,
      upstreamUuid: held.uuid,
    }]);
    await tx`UPDATE active_tasks SET downstream_task_uuid = ${created.uuid}, updated_at = now() WHERE id = ${held.id}`;
    return created.uuid;
  });
}

/**
 * Commit: in one statement, moves the task to `archived_tasks` with its
 * result and reporter, makes its Pending downstream tasks Ready and frees the
 * worker; then removes the worker if it was shutting down gracefully.
 */
export async function reportCommit(
  sql: Sql,
  log: Logger,
  worker: { id: number; uuid: string },
  taskId: number,
  result: TaskResultSpec,
): Promise<void> {
  const [row] = await sql<{ uuid: string | null; worker_state: number | null }[]>`
    WITH moved AS (
      DELETE FROM active_tasks
      WHERE id = ${taskId} AND assigned_worker = ${worker.id} AND state = ANY(${HELD_STATES}::int[])
      RETURNING *
    ), archived AS (
      INSERT INTO archived_tasks (id, creator_id, group_id, task_id, uuid, tags, labels, state, assigned_worker,
        timeout, priority, spec, result, upstream_task_uuid, downstream_task_uuid, task_suite_id, attempt, reporter_uuid,
        created_at, updated_at)
      SELECT id, creator_id, group_id, task_id, uuid, tags, labels,
        CASE WHEN state = ${TaskStateCode.Running} THEN ${TaskStateCode.Finished} ELSE state END,
        assigned_worker, timeout, priority, spec, ${jsonb(sql, result)}, upstream_task_uuid, downstream_task_uuid,
        task_suite_id, attempt, ${worker.uuid}, created_at, now()
      FROM moved
      RETURNING uuid
    ), released AS (
      UPDATE active_tasks SET state = ${TaskStateCode.Ready}, updated_at = now()
      WHERE upstream_task_uuid IN (SELECT uuid FROM moved) AND state = ${TaskStateCode.Pending}
    ), freed AS (
      UPDATE workers SET assigned_task_id = NULL, updated_at = now()
      WHERE id = ${worker.id} AND EXISTS (SELECT 1 FROM moved)
      RETURNING state
    )
    SELECT (SELECT uuid FROM archived) AS uuid, (SELECT state FROM freed) AS worker_state`;
  if (!row?.uuid) throw notFound(`task ${taskId} is not assigned to this worker`);
  if (row.worker_state === WorkerStateCode.GracefulShutdown) {
    await removeWorkers(sql, [worker.id]);
    log.info("worker removed after its last task (graceful shutdown)", { worker: worker.uuid });
  }
  log.info("task committed", {
    task_uuid: row.uuid,
    worker: worker.uuid,
    exit_status: result.exit_status,
    msg: result.msg,
  });
}

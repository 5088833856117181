/**
 * Reports on a claimed task, by an independent worker (`POST /workers/tasks`)
 * or a node manager (`ReportTask` over `/ws/managers`): Finish, Cancel,
 * Upload (returns a presigned PUT URL), Submit (a Pending downstream task)
 * and Commit (archive the task, release downstream tasks, free the worker).
 *
 * Every operation first checks that the reporter still holds the task —
 * `assigned_worker = worker`, or `assigned_manager = manager` and, when the
 * manager names one, the same claim `attempt` — inside the statement that
 * changes it. A report about a task that is not held (it was reclaimed and
 * perhaps claimed again) is rejected with 404 and changes nothing.
 */
import { type Db, jsonb, type Sql } from "../db/connect.ts";
import type { Fragment } from "../tasks/filter.ts";
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
import { HELD_TASK_STATES } from "../scheduler/held_tasks.ts";

/**
 * Who reports on a task: an independent worker, or a node manager with the
 * claim attempt it believes it holds (`null`/absent: any attempt it holds).
 */
export type TaskHolder =
  | { kind: "worker"; id: number; uuid: string }
  | { kind: "manager"; id: number; uuid: string; attempt?: number | null };

/** The task a report is about, as the reporter holds it. */
interface HeldTask {
  id: number;
  uuid: string;
  group_id: number;
  creator_id: number;
  state: number;
  group_name: string;
  task_suite_id: number | null;
  downstream_task_uuid: string | null;
}

/** SQL condition (on an `active_tasks` row) that the holder still holds it. */
function holds(db: Db, holder: TaskHolder): Fragment {
  if (holder.kind === "worker") return db`assigned_worker = ${holder.id}`;
  if (holder.attempt === undefined || holder.attempt === null) return db`assigned_manager = ${holder.id}`;
  return db`assigned_manager = ${holder.id} AND attempt = ${holder.attempt}`;
}

/** The 404 for a task the holder does not (or no longer) hold. */
function notHeld(holder: TaskHolder, taskId: number) {
  if (holder.kind === "worker") return notFound(`task ${taskId} is not assigned to this worker`);
  const attempt = holder.attempt === undefined || holder.attempt === null ? "" : ` (attempt ${holder.attempt})`;
  return notFound(`task ${taskId}${attempt} is not held by this manager`);
}

/** Loads the task if the holder holds it (and locks it inside a transaction); else 404. */
async function heldTask(db: Db, taskId: number, holder: TaskHolder, lock: boolean): Promise<HeldTask> {
  const [task] = await db<HeldTask[]>`
    SELECT t.id, t.uuid, t.group_id, t.creator_id, t.state, g.group_name, t.task_suite_id, t.downstream_task_uuid
    FROM active_tasks t JOIN groups g ON g.id = t.group_id
    WHERE t.id = ${taskId} AND ${holds(db, holder)} AND t.state = ANY(${HELD_TASK_STATES}::int[])
    ${lock ? db`FOR UPDATE OF t` : db``}`;
  if (!task) throw notHeld(holder, taskId);
  return task;
}

/** Finish or Cancel: records that the process ended (or was cancelled). */
export async function reportEnd(db: Db, holder: TaskHolder, taskId: number, cancelled: boolean): Promise<void> {
  const next = cancelled ? TaskStateCode.Cancelled : TaskStateCode.Finished;
  const result = await db`
    UPDATE active_tasks SET state = ${next}, updated_at = now()
    WHERE id = ${taskId} AND ${holds(db, holder)} AND state = ANY(${HELD_TASK_STATES}::int[])`;
  if (result.count === 0) throw notHeld(holder, taskId);
}

/** Upload: records the artifact (charging quota) and returns a presigned PUT URL. */
export async function reportUpload(
  sql: Sql,
  blobs: BlobStore,
  holder: TaskHolder,
  taskId: number,
  ct: ArtifactContentType,
  size: number,
): Promise<string> {
  const task = await sql.begin(async (tx) => {
    const held = await heldTask(tx, taskId, holder, true);
    await upsertArtifact(tx, held.uuid, held.group_id, ct, size);
    return held;
  });
  return await blobs.presignPut("artifacts", artifactKey(task.uuid, ct), size, UPLOAD_URL_TTL_SEC);
}

/** Whether the holder still serves the task's group (views `worker_served_groups`, `manager_served_groups`). */
async function holderMaySubmit(tx: Db, holder: TaskHolder, groupId: number): Promise<boolean> {
  const [row] = holder.kind === "worker"
    ? await tx`SELECT 1 FROM worker_served_groups WHERE group_id = ${groupId} AND worker_id = ${holder.id}`
    : await tx`SELECT 1 FROM manager_served_groups WHERE group_id = ${groupId} AND node_manager_id = ${holder.id}`;
  return row !== undefined;
}

/**
 * Submit: creates a Pending downstream task in the same group, owned by the
 * upstream task's creator, which turns Ready when the upstream commits. A
 * downstream of a suite task joins the same suite (with the suite's tags), so
 * the suite completes only after it. A task has one downstream task: when an
 * earlier attempt already created it (the worker crashed, or lost the task,
 * between Submit and Commit) and it is still Pending, Submit answers that
 * task again instead of creating a second one.
 */
export async function reportSubmit(
  sql: Sql,
  holder: TaskHolder,
  taskId: number,
  req: ValidSubmitTaskReq,
): Promise<string> {
  return await sql.begin(async (tx) => {
    const held = await heldTask(tx, taskId, holder, true);
    if (req.group_name !== held.group_name) {
      throw badRequest(`a downstream task must be in the upstream task's group ${held.group_name}`);
    }
    const [creator] = await tx<{ state: number }[]>`SELECT state FROM users WHERE id = ${held.creator_id}`;
    if (creator?.state !== 0) throw forbidden("the task's creator is no longer active");
    if (!(await holderMaySubmit(tx, holder, held.group_id))) {
      throw forbidden(`group ${held.group_name} may not submit through this ${holder.kind}`);
    }
    if (held.downstream_task_uuid !== null) {
      const [earlier] = await tx<{ uuid: string }[]>`
        SELECT uuid FROM active_tasks WHERE uuid = ${held.downstream_task_uuid} AND state = ${TaskStateCode.Pending}`;
      if (earlier !== undefined) return earlier.uuid;
    }
    let downstream = req;
    if (held.task_suite_id !== null) {
      const [suite] = await tx<{ tags: string[] }[]>`SELECT tags FROM task_suites WHERE id = ${held.task_suite_id}`;
      downstream = { ...req, tags: suite?.tags ?? req.tags };
    }
    const [created] = await insertTasks(tx, [{
      creatorId: held.creator_id,
      groupId: held.group_id,
      req: downstream,
      state: TaskStateCode.Pending,
      upstreamUuid: held.uuid,
      suiteId: held.task_suite_id,
    }]);
    await tx`UPDATE active_tasks SET downstream_task_uuid = ${created.uuid}, updated_at = now() WHERE id = ${held.id}`;
    return created.uuid;
  });
}

/**
 * Commit: in one statement, moves the task to `archived_tasks` with its
 * result and reporter (worker or manager uuid), makes its Pending downstream
 * tasks Ready and frees the worker; then removes a worker that was shutting
 * down gracefully. Returns the task's uuid.
 */
export async function reportCommit(
  sql: Sql,
  log: Logger,
  holder: TaskHolder,
  taskId: number,
  result: TaskResultSpec,
): Promise<string> {
  const freed = holder.kind === "worker"
    ? sql`
      UPDATE workers SET assigned_task_id = NULL, updated_at = now()
      WHERE id = ${holder.id} AND EXISTS (SELECT 1 FROM moved)
      RETURNING state`
    : sql`SELECT NULL::int AS state WHERE false`;
  const [row] = await sql<{ uuid: string | null; worker_state: number | null }[]>`
    WITH moved AS (
      DELETE FROM active_tasks
      WHERE id = ${taskId} AND ${holds(sql, holder)} AND state = ANY(${HELD_TASK_STATES}::int[])
      RETURNING *
    ), archived AS (
      INSERT INTO archived_tasks (id, creator_id, group_id, task_id, uuid, tags, labels, state, assigned_worker,
        timeout, priority, spec, result, upstream_task_uuid, downstream_task_uuid, task_suite_id, attempt, reporter_uuid,
        created_at, updated_at)
      SELECT id, creator_id, group_id, task_id, uuid, tags, labels,
        CASE WHEN state = ${TaskStateCode.Running} THEN ${TaskStateCode.Finished} ELSE state END,
        assigned_worker, timeout, priority, spec, ${jsonb(sql, result)}, upstream_task_uuid, downstream_task_uuid,
        task_suite_id, attempt, ${holder.uuid}, created_at, now()
      FROM moved
      RETURNING uuid
    ), released AS (
      UPDATE active_tasks SET state = ${TaskStateCode.Ready}, updated_at = now()
      WHERE upstream_task_uuid IN (SELECT uuid FROM moved) AND state = ${TaskStateCode.Pending}
    ), freed AS (${freed})
    SELECT (SELECT uuid FROM archived) AS uuid, (SELECT state FROM freed) AS worker_state`;
  if (!row?.uuid) throw notHeld(holder, taskId);
  if (row.worker_state === WorkerStateCode.GracefulShutdown) {
    await removeWorkers(sql, [holder.id]);
    log.info("worker removed after its last task (graceful shutdown)", { worker: holder.uuid });
  }
  log.info("task committed", {
    task_uuid: row.uuid,
    [holder.kind]: holder.uuid,
    exit_status: result.exit_status,
    result_msg: result.msg,
  });
  return row.uuid;
}

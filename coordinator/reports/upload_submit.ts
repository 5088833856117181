/**
 * The reports on a claimed task that answer more than accepted/refused, by
 * an independent worker (`POST /workers/tasks`) or a node manager (over
 * `/ws/managers`): Upload (returns a presigned PUT URL) and Submit (a Pending
 * downstream task). Finish, Cancel and Commit go through the completion
 * pipeline (`pipeline.ts`).
 *
 * Every operation first checks that the reporter still holds the task —
 * `assigned_worker = worker`, or `assigned_manager = manager` and, when the
 * manager names one, the same claim `attempt` — inside the statement that
 * changes it. A report about a task that is not held (it was reclaimed and
 * perhaps claimed again) is rejected with 404 and changes nothing.
 */
import type { Db, Sql } from "../db/connect.ts";
import type { Fragment } from "../tasks/filter.ts";
import { badRequest, forbidden } from "../../shared/errors.ts";
import { type ArtifactContentType, TaskStateCode, type ValidSubmitTaskReq } from "../../shared/wire/tasks.ts";
import { type BlobStore, UPLOAD_URL_TTL_SEC } from "../storage/blob_store.ts";
import { artifactKey, upsertArtifact } from "../artifacts/store.ts";
import { insertTasks } from "../tasks/store.ts";
import { HELD_TASK_STATES } from "../scheduler/held_tasks.ts";
import { notHeld, type TaskHolder } from "./holder.ts";

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

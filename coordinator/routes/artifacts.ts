/**
 * Artifact endpoints for users (under `/tasks`): upload URLs, downloads and
 * deletions, one at a time, by task filter or by uuid list. Bytes go straight
 * to blob storage through presigned URLs.
 */
import type { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv, AuthUser } from "../http/context.ts";
import { param, readJson } from "../http/validate.ts";
import { ApiError, badRequest } from "../../shared/errors.ts";
import {
  ARTIFACT_CONTENT_TYPES,
  type ArtifactContentType,
  ArtifactContentTypeSchema,
} from "../../shared/wire/tasks.ts";
import {
  ArtifactsDeleteByFilterReqSchema,
  ArtifactsDeleteByUuidsReqSchema,
  ArtifactsDownloadByFilterReqSchema,
  ArtifactsDownloadByUuidsReqSchema,
  UploadArtifactReqSchema,
} from "../../shared/wire/storage.ts";
import { effectiveRole, groupWithRole, requireRole, roleAtLeast } from "../groups/access.ts";
import { getTask, queryTasks } from "../tasks/store.ts";
import type { TaskRow } from "../tasks/rows.ts";
import {
  artifactKey,
  type ArtifactRow,
  artifactsOf,
  deleteArtifactRow,
  getArtifact,
  upsertArtifact,
} from "../artifacts/store.ts";
import { downloadUrlTtlSec, UPLOAD_URL_TTL_SEC } from "../storage/blob_store.ts";

const UuidSchema = z.uuid();
/** Non-admins may not delete an artifact updated less than this long ago. */
const DELETE_LOCKOUT_MS = 3_600_000;

const groupOf = (task: TaskRow) => ({ id: task.group_id, group_name: task.group_name });

/** Deletes one artifact (row, quota, blob); `bypassLockout` for admin deletions. */
export async function deleteArtifact(
  deps: AppDeps,
  task: TaskRow,
  ct: ArtifactContentType,
  bypassLockout: boolean,
): Promise<void> {
  await deps.sql.begin(async (tx) => {
    const row = await getArtifact(tx, task.uuid, ct);
    if (!bypassLockout && Date.now() - row.updated_at.getTime() < DELETE_LOCKOUT_MS) {
      throw badRequest(`the ${ct} artifact of task ${task.uuid} was updated less than an hour ago; try later`);
    }
    await deleteArtifactRow(tx, row, task.group_id);
  });
  await deps.blobs.delete("artifacts", artifactKey(task.uuid, ct));
  deps.log.info("artifact deleted", { task_uuid: task.uuid, content_type: ct });
}

/** Tasks the caller may act on from a list of uuids, with the needed role. */
async function permittedTasks(
  deps: AppDeps,
  user: AuthUser,
  uuids: string[],
  min: "Read" | "Write",
): Promise<Map<string, TaskRow>> {
  const permitted = new Map<string, TaskRow>();
  for (const uuid of new Set(uuids)) {
    try {
      const task = await getTask(deps.sql, uuid);
      if (roleAtLeast(await effectiveRole(deps.sql, user, task.group_id), min)) permitted.set(uuid, task);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }
  return permitted;
}

async function downloads(deps: AppDeps, rows: ArtifactRow[]) {
  return await Promise.all(rows.map(async (row) => ({
    uuid: row.task_id,
    url: await deps.blobs.presignGet("artifacts", artifactKey(row.task_id, ctOf(row)), downloadUrlTtlSec(row.size)),
    size: row.size,
  })));
}

const ctOf = (row: ArtifactRow): ArtifactContentType => ARTIFACT_CONTENT_TYPES[row.content_type];

/** Adds the artifact routes to the `/tasks` router (which already requires a user). */
export function artifactRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  app.post("/download/artifacts", async (c) => {
    const req = await readJson(c, ArtifactsDownloadByFilterReqSchema);
    const group = await groupWithRole(deps.sql, c.var.user, req.group_name ?? c.var.user.username, "Read");
    const tasks = await queryTasks(deps.sql, group.id, req, {});
    const rows = await artifactsOf(deps.sql, tasks.map((t) => t.uuid), req.content_type);
    return c.json({ downloads: await downloads(deps, rows) });
  });

  app.post("/download/artifacts/list", async (c) => {
    const req = await readJson(c, ArtifactsDownloadByUuidsReqSchema);
    const tasks = await permittedTasks(deps, c.var.user, req.uuids, "Read");
    const rows = await artifactsOf(deps.sql, [...tasks.keys()], req.content_type);
    return c.json({ downloads: await downloads(deps, rows) });
  });

  app.post("/delete/artifacts", async (c) => {
    const req = await readJson(c, ArtifactsDeleteByFilterReqSchema);
    const group = await groupWithRole(deps.sql, c.var.user, req.group_name ?? c.var.user.username, "Write");
    const tasks = await queryTasks(deps.sql, group.id, req, {});
    const byUuid = new Map(tasks.map((t) => [t.uuid, t]));
    const rows = await artifactsOf(deps.sql, [...byUuid.keys()], req.content_type);
    let deleted = 0;
    for (const row of rows) {
      try {
        await deleteArtifact(deps, byUuid.get(row.task_id)!, req.content_type, false);
        deleted++;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    }
    return c.json({ deleted_count: deleted });
  });

  app.post("/delete/artifacts/list", async (c) => {
    const req = await readJson(c, ArtifactsDeleteByUuidsReqSchema);
    const tasks = await permittedTasks(deps, c.var.user, req.uuids, "Write");
    const failed: string[] = [];
    let deleted = 0;
    for (const uuid of req.uuids) {
      const task = tasks.get(uuid);
      try {
        if (!task) throw badRequest("not permitted");
        await deleteArtifact(deps, task, req.content_type, false);
        deleted++;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        failed.push(uuid);
      }
    }
    return c.json({ deleted_count: deleted, failed_uuids: failed });
  });

  app.post("/:uuid/artifacts", async (c) => {
    const uuid = param(c, "uuid", UuidSchema);
    const req = await readJson(c, UploadArtifactReqSchema);
    const task = await getTask(deps.sql, uuid);
    await requireRole(deps.sql, c.var.user, groupOf(task), "Write");
    const exist = await deps.sql.begin((tx) =>
      upsertArtifact(tx, uuid, task.group_id, req.content_type, req.content_length)
    );
    const url = await deps.blobs.presignPut(
      "artifacts",
      artifactKey(uuid, req.content_type),
      req.content_length,
      UPLOAD_URL_TTL_SEC,
    );
    deps.log.info("artifact upload granted", {
      task_uuid: uuid,
      content_type: req.content_type,
      user: c.var.user.username,
    });
    return c.json({ exist, url });
  });

  app.delete("/:uuid/artifacts/:content_type", async (c) => {
    const uuid = param(c, "uuid", UuidSchema);
    const ct = param(c, "content_type", ArtifactContentTypeSchema);
    const task = await getTask(deps.sql, uuid);
    await requireRole(deps.sql, c.var.user, groupOf(task), "Write");
    await deleteArtifact(deps, task, ct, false);
    return c.body(null, 200);
  });

  app.get("/:uuid/download/artifacts/:content_type", async (c) => {
    const uuid = param(c, "uuid", UuidSchema);
    const ct = param(c, "content_type", ArtifactContentTypeSchema);
    const task = await getTask(deps.sql, uuid);
    await requireRole(deps.sql, c.var.user, groupOf(task), "Read");
    const row = await getArtifact(deps.sql, uuid, ct);
    const url = await deps.blobs.presignGet("artifacts", artifactKey(uuid, ct), downloadUrlTtlSec(row.size));
    return c.json({ url, size: row.size });
  });
}

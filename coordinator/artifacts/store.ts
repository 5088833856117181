/**
 * Data access for artifacts (a task's `result`, `exec-log` and `std-log`
 * archives): rows keyed by (task uuid, content type), storage quota charged
 * to the task's group on upload and released on delete.
 */
import type { Db } from "../db/connect.ts";
import { notFound } from "../../shared/errors.ts";
import { ARTIFACT_CONTENT_TYPES, type ArtifactContentType, type ArtifactQueryResp } from "../../shared/wire/tasks.ts";
import { chargeStorage } from "../groups/storage_quota.ts";
import { formatTimestamp } from "../../shared/time.ts";

/** A row of `artifacts`. */
export interface ArtifactRow {
  id: number;
  task_id: string;
  content_type: number;
  size: number;
  created_at: Date;
  updated_at: Date;
}

/** Database code of a content type. */
export const artifactCode = (ct: ArtifactContentType): number => ARTIFACT_CONTENT_TYPES.indexOf(ct);

/** Object key of an artifact in the artifacts bucket: `<task uuid>/<type>.tar.gz`. */
export const artifactKey = (taskUuid: string, ct: ArtifactContentType): string => `${taskUuid}/${ct}.tar.gz`;

/**
 * Records an artifact of `size` bytes for a task of group `groupId`, charging
 * the size difference to the group's storage quota (403 when over). Returns
 * whether an artifact of that type already existed. Run inside a transaction.
 */
export async function upsertArtifact(
  tx: Db,
  taskUuid: string,
  groupId: number,
  ct: ArtifactContentType,
  size: number,
): Promise<boolean> {
  const [old] = await tx<{ size: number }[]>`
    SELECT size FROM artifacts WHERE task_id = ${taskUuid} AND content_type = ${artifactCode(ct)} FOR UPDATE`;
  await chargeStorage(tx, groupId, size - (old?.size ?? 0));
  await tx`
    INSERT INTO artifacts (task_id, content_type, size) VALUES (${taskUuid}, ${artifactCode(ct)}, ${size})
    ON CONFLICT (task_id, content_type) DO UPDATE SET size = EXCLUDED.size, updated_at = now()`;
  return old !== undefined;
}

/** The artifact, or 404. */
export async function getArtifact(db: Db, taskUuid: string, ct: ArtifactContentType): Promise<ArtifactRow> {
  const [row] = await db<ArtifactRow[]>`
    SELECT * FROM artifacts WHERE task_id = ${taskUuid} AND content_type = ${artifactCode(ct)}`;
  if (!row) throw notFound(`task ${taskUuid} has no ${ct} artifact`);
  return row;
}

/** Artifacts of many tasks of one type (missing ones are absent from the result). */
export async function artifactsOf(db: Db, taskUuids: string[], ct: ArtifactContentType): Promise<ArtifactRow[]> {
  return await db<ArtifactRow[]>`
    SELECT * FROM artifacts WHERE task_id = ANY(${taskUuids}::uuid[]) AND content_type = ${artifactCode(ct)}
    ORDER BY id`;
}

/** All artifacts of a task. */
export async function listArtifacts(db: Db, taskUuid: string): Promise<ArtifactQueryResp[]> {
  const rows = await db<ArtifactRow[]>`SELECT * FROM artifacts WHERE task_id = ${taskUuid} ORDER BY content_type`;
  return rows.map((r) => ({
    content_type: ARTIFACT_CONTENT_TYPES[r.content_type] ?? "result",
    size: r.size,
    created_at: formatTimestamp(r.created_at),
    updated_at: formatTimestamp(r.updated_at),
  }));
}

/** Deletes an artifact row and releases its size from the group's quota; returns the row. */
export async function deleteArtifactRow(tx: Db, row: ArtifactRow, groupId: number): Promise<void> {
  await tx`DELETE FROM artifacts WHERE id = ${row.id}`;
  await chargeStorage(tx, groupId, -row.size);
}

/**
 * Data access for attachments (files shared by a group): rows keyed by
 * (group, key), with the group's storage quota charged when an upload is
 * granted and released when the attachment is deleted.
 */
import type { Db, Sql } from "../db/connect.ts";
import { badRequest, forbidden, notFound } from "../../shared/errors.ts";
import { codeOf, GROUP_STATES, valueOf } from "../../shared/wire/common.ts";
import type { z } from "zod";
import { ATTACHMENT_CONTENT_TYPES, type AttachmentQueryInfoSchema } from "../../shared/wire/storage.ts";
import { chargeStorage } from "../groups/storage_quota.ts";
import { formatTimestamp } from "../../shared/time.ts";

/** A row of `attachments`. */
export interface AttachmentRow {
  id: number;
  group_id: number;
  key: string;
  content_type: number;
  size: number;
  created_at: Date;
  updated_at: Date;
}

/** An attachment as the wire shows it. */
export type AttachmentInfo = z.infer<typeof AttachmentQueryInfoSchema>;

/** Which attachments of a group a listing covers: `key` is a substring. */
export interface AttachmentFilter {
  key?: string | null;
  limit?: number | null;
  offset?: number | null;
}

const ACTIVE = codeOf(GROUP_STATES, "Active");

/** Object key of an attachment in the attachments bucket: `<group>/<key>`. */
export const attachmentStorageKey = (groupName: string, key: string): string => `${groupName}/${key}`;

/** The wire form of a row. */
export function attachmentInfo(row: AttachmentRow): AttachmentInfo {
  return {
    key: row.key,
    content_type: ATTACHMENT_CONTENT_TYPES[row.content_type] ?? ATTACHMENT_CONTENT_TYPES[0],
    size: row.size,
    created_at: formatTimestamp(row.created_at),
    updated_at: formatTimestamp(row.updated_at),
  };
}

/** The attachment, or 404. */
export async function getAttachment(db: Db, groupId: number, key: string): Promise<AttachmentRow> {
  const [row] = await db<AttachmentRow[]>`SELECT * FROM attachments WHERE group_id = ${groupId} AND key = ${key}`;
  if (!row) throw notFound(`attachment ${key} not found`);
  return row;
}

/**
 * Records an upload of `size` bytes under `key`: creates the row or resizes
 * the existing one, and charges the size difference to the group's storage
 * quota, all in one transaction. The group must be Active (403 otherwise);
 * over quota is a 403 and changes nothing. Returns whether the key existed.
 */
export async function recordAttachmentUpload(
  sql: Sql,
  groupId: number,
  key: string,
  size: number,
): Promise<{ exist: boolean }> {
  return await sql.begin(async (tx) => {
    // Locking the group serialises concurrent uploads to it, so each sees the other's row.
    const [group] = await tx<{ group_name: string; state: number }[]>`
      SELECT group_name, state FROM groups WHERE id = ${groupId} FOR UPDATE`;
    if (!group) throw notFound(`group ${groupId} not found`);
    if (group.state !== ACTIVE) {
      throw forbidden(`group ${group.group_name} is ${valueOf(GROUP_STATES, group.state)}: uploads are refused`);
    }
    const [old] = await tx<{ size: number }[]>`
      SELECT size FROM attachments WHERE group_id = ${groupId} AND key = ${key} FOR UPDATE`;
    await chargeStorage(tx, groupId, size - (old?.size ?? 0));
    await tx`
      INSERT INTO attachments (group_id, key, size) VALUES (${groupId}, ${key}, ${size})
      ON CONFLICT (group_id, key) DO UPDATE SET size = EXCLUDED.size, updated_at = now()`;
    return { exist: old !== undefined };
  });
}

/** Attachments of a group whose key contains `filter.key`, in key order, paged. */
export async function listAttachments(db: Db, groupId: number, filter: AttachmentFilter): Promise<AttachmentRow[]> {
  return await db<AttachmentRow[]>`
    SELECT * FROM attachments
    WHERE group_id = ${groupId} AND strpos(key, ${filter.key ?? ""}) > 0
    ORDER BY key
    LIMIT ${filter.limit ?? null} OFFSET ${filter.offset ?? 0}`;
}

/** How many attachments of a group have a key containing `key`. */
export async function countAttachments(db: Db, groupId: number, key: string | null | undefined): Promise<number> {
  const [row] = await db<{ count: number }[]>`
    SELECT count(*)::int AS count FROM attachments WHERE group_id = ${groupId} AND strpos(key, ${key ?? ""}) > 0`;
  return row.count;
}

/** The attachments of a group among `keys` (missing keys are absent), in key order. */
export async function attachmentsByKeys(db: Db, groupId: number, keys: string[]): Promise<AttachmentRow[]> {
  return await db<AttachmentRow[]>`
    SELECT * FROM attachments WHERE group_id = ${groupId} AND key = ANY(${keys}::text[]) ORDER BY key`;
}

/**
 * Deletes an attachment row and releases its size from the group's quota.
 * With `lockoutSec`, an attachment updated less than that long ago (its
 * upload URL may still be in use) is refused with 400. 404 when absent.
 * Returns the deleted row.
 */
export async function deleteAttachmentRow(
  sql: Sql,
  groupId: number,
  key: string,
  lockoutSec: number | null,
): Promise<AttachmentRow> {
  return await sql.begin(async (tx) => {
    const [row] = await tx<(AttachmentRow & { locked: boolean })[]>`
      SELECT *, updated_at > now() - make_interval(secs => ${lockoutSec ?? 0}) AS locked
      FROM attachments WHERE group_id = ${groupId} AND key = ${key} FOR UPDATE`;
    if (!row) throw notFound(`attachment ${key} not found`);
    if (lockoutSec !== null && row.locked) {
      throw badRequest(
        `attachment ${key} was updated less than ${lockoutSec / 60} minutes ago and cannot be deleted yet`,
      );
    }
    await tx`DELETE FROM attachments WHERE id = ${row.id}`;
    await chargeStorage(tx, groupId, -row.size);
    const { locked: _, ...deleted } = row;
    return deleted;
  });
}

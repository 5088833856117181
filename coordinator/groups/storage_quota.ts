/**
 * Group storage accounting: artifact and attachment uploads charge their size
 * to the owning group's `storage_used` up front, deletions release it.
 */
import type { Db } from "../db/connect.ts";
import { forbidden, notFound } from "../../shared/errors.ts";

/**
 * Adds `delta` bytes to the group's `storage_used` in one atomic statement.
 * A positive delta that would take `storage_used` above `storage_quota` is
 * refused with 403 and changes nothing; a negative delta (a release) always
 * applies and never takes the counter below zero. Call it inside the
 * transaction that writes the artifact or attachment row, so the counter and
 * the rows cannot disagree.
 */
export async function chargeStorage(tx: Db, groupId: number, delta: number): Promise<void> {
  if (delta === 0) return;
  const updated = await tx<{ storage_used: number }[]>`
    UPDATE groups SET storage_used = GREATEST(0, storage_used + ${delta}::bigint), updated_at = now()
    WHERE id = ${groupId} AND (${delta}::bigint < 0 OR storage_used + ${delta}::bigint <= storage_quota)
    RETURNING storage_used`;
  if (updated.length > 0) return;
  const [group] = await tx<{ group_name: string; storage_used: number; storage_quota: number }[]>`
    SELECT group_name, storage_used, storage_quota FROM groups WHERE id = ${groupId}`;
  if (!group) throw notFound(`group ${groupId} not found`);
  throw forbidden(
    `storage quota exceeded for group ${group.group_name}: ${group.storage_used} bytes used + ${delta} ` +
      `requested > ${group.storage_quota} bytes allowed`,
  );
}

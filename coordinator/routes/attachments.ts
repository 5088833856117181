/**
 * Attachment endpoints (files shared by a group, under
 * `/groups/{group_name}/...`): upload URLs, listing, metadata, downloads and
 * deletions one at a time, by key filter or by key list; plus the admin
 * deletion under `/admin/groups/{group_name}/attachments/{key}`. Bytes go
 * straight to blob storage through presigned URLs.
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { param, readJson } from "../http/validate.ts";
import { requireAdmin, requireUser } from "../auth/middleware.ts";
import { ApiError, badRequest } from "../../shared/errors.ts";
import { NameSchema, type UserGroupRole } from "../../shared/wire/common.ts";
import {
  AttachmentKeySchema,
  AttachmentsByFilterReqSchema,
  AttachmentsByKeysReqSchema,
  AttachmentsQueryReqSchema,
  UploadAttachmentReqSchema,
} from "../../shared/wire/storage.ts";
import { getGroupByName, type GroupRow } from "../groups/store.ts";
import { groupWithRole } from "../groups/access.ts";
import {
  attachmentInfo,
  type AttachmentRow,
  attachmentsByKeys,
  attachmentStorageKey,
  countAttachments,
  deleteAttachmentRow,
  getAttachment,
  listAttachments,
  recordAttachmentUpload,
} from "../attachments/store.ts";
import { downloadUrlTtlSec, UPLOAD_URL_TTL_SEC } from "../storage/blob_store.ts";

/** Non-admins may not delete an attachment updated less than this long ago (its upload URL may be live). */
const DELETE_LOCKOUT_SEC = UPLOAD_URL_TTL_SEC;
/** S3's limit on object keys, which the full key `<group>/<key>` must stay under. */
const MAX_STORAGE_KEY_BYTES = 1024;
const encoder = new TextEncoder();

/**
 * Checks an attachment key beyond the wire schema: the full storage key
 * `<group>/<key>` must stay under 1024 bytes, and the key must name a file
 * (no trailing `/`) that PostgreSQL can store (no NUL).
 */
function checkKey(groupName: string, key: string): string {
  if (key.endsWith("/")) throw badRequest(`invalid attachment key ${JSON.stringify(key)}: must not end with '/'`);
  if (key.includes("\0")) throw badRequest("invalid attachment key: must not contain NUL characters");
  const bytes = encoder.encode(attachmentStorageKey(groupName, key)).length;
  if (bytes >= MAX_STORAGE_KEY_BYTES) {
    throw badRequest(
      `invalid attachment key: "${groupName}/<key>" is ${bytes} bytes, must be under ${MAX_STORAGE_KEY_BYTES}`,
    );
  }
  return key;
}

/** Rejects NUL characters in free-form strings (filters, key lists) that PostgreSQL cannot take. */
function noNul(values: (string | null | undefined)[], what: string): void {
  if (values.some((v) => v?.includes("\0"))) throw badRequest(`invalid ${what}: must not contain NUL characters`);
}

/** `requireUser`, skipped when a middleware mounted earlier on the path already authenticated the caller. */
function authenticated(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const auth = requireUser(deps);
  return async (c, next) => {
    if (c.get("user") === undefined) return await auth(c, next);
    await next();
  };
}

/** The group named in the path, if the caller holds at least `min` in it (admin users act as Admin). */
async function groupFor(deps: AppDeps, c: Context<AppEnv>, min: UserGroupRole): Promise<GroupRow> {
  return await groupWithRole(deps.sql, c.var.user, param(c, "group_name", NameSchema), min);
}

/** The key named in the path, validated. */
function keyParam(c: Context<AppEnv>, group: GroupRow): string {
  return checkKey(group.group_name, param(c, "key", AttachmentKeySchema));
}

/** A presigned download of a row. */
async function download(deps: AppDeps, group: GroupRow, row: AttachmentRow) {
  const storageKey = attachmentStorageKey(group.group_name, row.key);
  return { url: await deps.blobs.presignGet("attachments", storageKey, downloadUrlTtlSec(row.size)), size: row.size };
}

/**
 * Deletes one attachment: its row and quota in one transaction (with the 1 h
 * lock-out unless `bypassLockout`), then its blob. A blob that cannot be
 * deleted is logged as an error and left behind; the attachment stays deleted.
 */
async function removeAttachment(
  deps: AppDeps,
  group: GroupRow,
  key: string,
  by: { username: string; bypassLockout: boolean },
): Promise<void> {
  const row = await deleteAttachmentRow(deps.sql, group.id, key, by.bypassLockout ? null : DELETE_LOCKOUT_SEC);
  deps.log.info("attachment deleted", { group: group.group_name, key, size: row.size, by: by.username });
  const storageKey = attachmentStorageKey(group.group_name, key);
  try {
    await deps.blobs.delete("attachments", storageKey);
  } catch (error) {
    // The attachment is gone (row and quota); only its bytes are left behind for the operator.
    deps.log.error("attachment object not deleted from blob storage", {
      bucket: "attachments",
      key: storageKey,
      error,
    });
  }
}

/**
 * Deletes each key, skipping those that are missing or locked out (API
 * errors); returns the deleted and the skipped keys.
 */
async function removeMany(
  deps: AppDeps,
  group: GroupRow,
  keys: string[],
  by: { username: string; bypassLockout: boolean },
): Promise<{ deleted: number; failed: string[] }> {
  let deleted = 0;
  const failed: string[] = [];
  for (const key of new Set(keys)) {
    try {
      await removeAttachment(deps, group, key, by);
      deleted++;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      deps.log.debug("attachment not deleted", { group: group.group_name, key, reason: error.message });
      failed.push(key);
    }
  }
  return { deleted, failed };
}

/** Routes under `/groups` (mount before the group router so its user middleware does not run twice). */
export function attachmentRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = authenticated(deps);
  const actor = (c: Context<AppEnv>) => ({ username: c.var.user.username, bypassLockout: c.var.user.admin });

  app.post("/:group_name/attachments", auth, async (c) => {
    const group = await groupFor(deps, c, "Write");
    const req = await readJson(c, UploadAttachmentReqSchema);
    const key = checkKey(group.group_name, req.key);
    const url = await deps.blobs.presignPut(
      "attachments",
      attachmentStorageKey(group.group_name, key),
      req.content_length,
      UPLOAD_URL_TTL_SEC,
    );
    const { exist } = await recordAttachmentUpload(deps.sql, group.id, key, req.content_length);
    deps.log.info("attachment upload granted", {
      group: group.group_name,
      key,
      size: req.content_length,
      replaced: exist,
      by: c.var.user.username,
    });
    return c.json({ exist, url });
  });

  app.post("/:group_name/attachments/query", auth, async (c) => {
    const group = await groupFor(deps, c, "Read");
    const req = await readJson(c, AttachmentsQueryReqSchema);
    noNul([req.key], "key filter");
    if (req.count) {
      const count = await countAttachments(deps.sql, group.id, req.key);
      return c.json({ count, attachments: [], group_name: group.group_name });
    }
    const rows = await listAttachments(deps.sql, group.id, req);
    return c.json({ count: rows.length, attachments: rows.map(attachmentInfo), group_name: group.group_name });
  });

  app.get("/:group_name/attachments/:key{.+}", auth, async (c) => {
    const group = await groupFor(deps, c, "Read");
    const { key: _, ...metadata } = attachmentInfo(await getAttachment(deps.sql, group.id, keyParam(c, group)));
    return c.json(metadata);
  });

  app.delete("/:group_name/attachments/:key{.+}", auth, async (c) => {
    const group = await groupFor(deps, c, "Write");
    await removeAttachment(deps, group, keyParam(c, group), actor(c));
    return c.body(null, 200);
  });

  // The OpenAPI documents a 302 here, but existing clients parse `{url, size}` JSON.
  app.get("/:group_name/download/attachments/:key{.+}", auth, async (c) => {
    const group = await groupFor(deps, c, "Read");
    const row = await getAttachment(deps.sql, group.id, keyParam(c, group));
    return c.json(await download(deps, group, row));
  });

  app.post("/:group_name/download/attachments", auth, async (c) => {
    const group = await groupFor(deps, c, "Read");
    const req = await readJson(c, AttachmentsByFilterReqSchema);
    noNul([req.key], "key filter");
    const rows = await listAttachments(deps.sql, group.id, req);
    const downloads = await Promise.all(rows.map(async (r) => ({ key: r.key, ...await download(deps, group, r) })));
    return c.json({ downloads, group_name: group.group_name });
  });

  app.post("/:group_name/download/attachments/list", auth, async (c) => {
    const group = await groupFor(deps, c, "Read");
    const req = await readJson(c, AttachmentsByKeysReqSchema);
    noNul(req.keys, "keys");
    const rows = await attachmentsByKeys(deps.sql, group.id, req.keys);
    const downloads = await Promise.all(rows.map(async (r) => ({ key: r.key, ...await download(deps, group, r) })));
    return c.json({ downloads, group_name: group.group_name });
  });

  app.post("/:group_name/delete/attachments", auth, async (c) => {
    const group = await groupFor(deps, c, "Write");
    const req = await readJson(c, AttachmentsByFilterReqSchema);
    noNul([req.key], "key filter");
    const rows = await listAttachments(deps.sql, group.id, req);
    const { deleted } = await removeMany(deps, group, rows.map((r) => r.key), actor(c));
    return c.json({ deleted_count: deleted, group_name: group.group_name });
  });

  app.post("/:group_name/delete/attachments/list", auth, async (c) => {
    const group = await groupFor(deps, c, "Write");
    const req = await readJson(c, AttachmentsByKeysReqSchema);
    noNul(req.keys, "keys");
    const { deleted, failed } = await removeMany(deps, group, req.keys, actor(c));
    return c.json({ deleted_count: deleted, failed_keys: failed, group_name: group.group_name });
  });

  return app;
}

/** Routes under `/admin`: delete any attachment, with no lock-out (mount before the admin router). */
export function adminAttachmentRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.delete("/groups/:group_name/attachments/:key{.+}", authenticated(deps), requireAdmin(), async (c) => {
    const group = await getGroupByName(deps.sql, param(c, "group_name", NameSchema));
    await removeAttachment(deps, group, keyParam(c, group), { username: c.var.user.username, bypassLockout: true });
    return c.body(null, 200);
  });
  return app;
}

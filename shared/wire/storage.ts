/**
 * Wire schemas of artifacts (task outputs) and attachments (group files).
 * Bytes never travel through the coordinator: these requests and responses
 * carry presigned URLs.
 */
import { z } from "zod";
import { ARTIFACT_CONTENT_TYPES, ArtifactContentTypeSchema, TaskFilterSchema } from "./tasks.ts";

/** A presigned download URL and the object's size. */
export const RemoteResourceDownloadRespSchema = z.object({ url: z.string(), size: z.number().int() });
/** A download location. */
export type RemoteResourceDownloadResp = z.infer<typeof RemoteResourceDownloadRespSchema>;

/** A presigned upload URL; `exist` tells whether an object was replaced. */
export const UploadRespSchema = z.object({ exist: z.boolean(), url: z.string() });
/** An upload location. */
export type UploadResp = z.infer<typeof UploadRespSchema>;

/** `POST /tasks/{uuid}/artifacts` request. */
export const UploadArtifactReqSchema = z.object({
  content_type: ArtifactContentTypeSchema,
  content_length: z.number().int().min(0),
});

/** `POST /tasks/download/artifacts` request. */
export const ArtifactsDownloadByFilterReqSchema = TaskFilterSchema.extend({ content_type: ArtifactContentTypeSchema });
/** `POST /tasks/download/artifacts/list` request. */
export const ArtifactsDownloadByUuidsReqSchema = z.object({
  uuids: z.array(z.uuid()).min(1),
  content_type: ArtifactContentTypeSchema,
});
/** One artifact download. */
export const ArtifactDownloadItemSchema = z.object({ uuid: z.uuid(), url: z.string(), size: z.number().int() });
/** Response of both artifact download batch endpoints. */
export const ArtifactsDownloadListRespSchema = z.object({ downloads: z.array(ArtifactDownloadItemSchema) });

/** `POST /tasks/delete/artifacts` request. */
export const ArtifactsDeleteByFilterReqSchema = ArtifactsDownloadByFilterReqSchema;
/** `POST /tasks/delete/artifacts` response. */
export const ArtifactsDeleteByFilterRespSchema = z.object({ deleted_count: z.number().int() });
/** `POST /tasks/delete/artifacts/list` request. */
export const ArtifactsDeleteByUuidsReqSchema = ArtifactsDownloadByUuidsReqSchema;
/** `POST /tasks/delete/artifacts/list` response. */
export const ArtifactsDeleteByUuidsRespSchema = z.object({
  deleted_count: z.number().int(),
  failed_uuids: z.array(z.uuid()),
});

/**
 * Attachment content types in database code order (only one exists): spelled
 * `NoSet` as v0.6.8's code writes it (its OpenAPI document says
 * `application/octet-stream`, which is still read).
 */
export const ATTACHMENT_CONTENT_TYPES = ["NoSet"] as const;

/** An attachment content type as read: `NoSet`, or the OpenAPI document's `application/octet-stream`. */
export const AttachmentContentTypeSchema = z.enum([...ATTACHMENT_CONTENT_TYPES, "application/octet-stream"]);

/** An attachment key: under 1024 chars with the group, no `/./`, `/../` or `//`. */
export const AttachmentKeySchema = z.string().min(1, "must not be empty").max(1000).refine(
  (k) => !k.startsWith("/") && !`/${k}/`.includes("/./") && !`/${k}/`.includes("/../") && !k.includes("//"),
  "must not start with '/' or contain '/./', '/../' or '//'",
);

/** `POST /groups/{g}/attachments` request. */
export const UploadAttachmentReqSchema = z.object({
  key: AttachmentKeySchema,
  content_length: z.number().int().min(0),
});

/** `GET /groups/{g}/attachments/{key}` response. */
export const AttachmentMetadataSchema = z.object({
  content_type: AttachmentContentTypeSchema,
  size: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** `POST /groups/{g}/attachments/query` request; `key` is a substring filter. */
export const AttachmentsQueryReqSchema = z.object({
  key: z.string().nullable().optional(),
  limit: z.number().int().min(0).nullable().optional(),
  offset: z.number().int().min(0).nullable().optional(),
  count: z.boolean().default(false),
});
/** One attachment as listed. */
export const AttachmentQueryInfoSchema = AttachmentMetadataSchema.extend({ key: z.string() });
/** `POST /groups/{g}/attachments/query` response. */
export const AttachmentsQueryRespSchema = z.object({
  count: z.number().int(),
  attachments: z.array(AttachmentQueryInfoSchema),
  group_name: z.string(),
});

/** `POST /groups/{g}/download/attachments` and `/delete/attachments` request. */
export const AttachmentsByFilterReqSchema = AttachmentsQueryReqSchema.omit({ count: true });
/** `POST /groups/{g}/download/attachments/list` and `/delete/attachments/list` request. */
export const AttachmentsByKeysReqSchema = z.object({ keys: z.array(z.string().min(1)).min(1) });
/** One attachment download. */
export const AttachmentDownloadItemSchema = z.object({ key: z.string(), url: z.string(), size: z.number().int() });
/** Response of both attachment download batch endpoints. */
export const AttachmentsDownloadListRespSchema = z.object({
  downloads: z.array(AttachmentDownloadItemSchema),
  group_name: z.string(),
});
/** `POST /groups/{g}/delete/attachments` response. */
export const AttachmentsDeleteByFilterRespSchema = z.object({
  deleted_count: z.number().int(),
  group_name: z.string(),
});
/** `POST /groups/{g}/delete/attachments/list` response. */
export const AttachmentsDeleteByKeysRespSchema = z.object({
  deleted_count: z.number().int(),
  failed_keys: z.array(z.string()),
  group_name: z.string(),
});

/** Artifact kinds in database code order. */
export { ARTIFACT_CONTENT_TYPES };

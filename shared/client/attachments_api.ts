/**
 * `client.attachments`: a group's shared files. Presigned upload and
 * download URLs, metadata, queries and deletion; the bytes go to and from
 * the returned URLs (see `transfer.ts`), never through the coordinator.
 * Returned URLs are absolute.
 */
import type { z } from "zod";
import {
  AttachmentDownloadItemSchema,
  AttachmentMetadataSchema,
  type AttachmentsByFilterReqSchema,
  AttachmentsDeleteByFilterRespSchema,
  AttachmentsDeleteByKeysRespSchema,
  AttachmentsDownloadListRespSchema,
  type AttachmentsQueryReqSchema,
  AttachmentsQueryRespSchema,
  type RemoteResourceDownloadResp,
  RemoteResourceDownloadRespSchema,
  type UploadResp,
  UploadRespSchema,
} from "../wire/storage.ts";
import { type ApiTransport, keyPath, segment } from "./transport.ts";

/** Attachment metadata (`GET /groups/{g}/attachments/{key}`). */
export type AttachmentMetadata = z.infer<typeof AttachmentMetadataSchema>;
/** Attachment query (`key` is a substring filter). */
export type AttachmentsQueryReq = z.input<typeof AttachmentsQueryReqSchema>;
/** Attachment query results. */
export type AttachmentsQueryResp = z.infer<typeof AttachmentsQueryRespSchema>;
/** Filter of the batch download and delete endpoints. */
export type AttachmentsByFilterReq = z.input<typeof AttachmentsByFilterReqSchema>;
/** One attachment download of a batch: key, presigned URL, size. */
export type AttachmentDownloadItem = z.infer<typeof AttachmentDownloadItemSchema>;
/** `POST /groups/{g}/delete/attachments` answer. */
export type AttachmentsDeleteByFilterResp = z.infer<typeof AttachmentsDeleteByFilterRespSchema>;
/** `POST /groups/{g}/delete/attachments/list` answer. */
export type AttachmentsDeleteByKeysResp = z.infer<typeof AttachmentsDeleteByKeysRespSchema>;

const group = (name: string) => `/groups/${segment(name)}`;

/** Attachment endpoints; reach them as `client.attachments`. */
export class AttachmentsApi {
  readonly #t: ApiTransport;

  constructor(transport: ApiTransport) {
    this.#t = transport;
  }

  /**
   * `POST /groups/{g}/attachments`: a URL accepting one PUT of exactly
   * `contentLength` bytes (charged to the group's storage quota now).
   */
  async uploadUrl(groupName: string, key: string, contentLength: number): Promise<UploadResp> {
    const body = { key, content_length: contentLength };
    const resp = await this.#t.json("POST", `${group(groupName)}/attachments`, UploadRespSchema, body);
    return { ...resp, url: this.#t.resolve(resp.url) };
  }

  /** `POST /groups/{g}/attachments/query`: attachments whose key contains `req.key`. */
  async query(groupName: string, req: AttachmentsQueryReq = {}): Promise<AttachmentsQueryResp> {
    return await this.#t.json("POST", `${group(groupName)}/attachments/query`, AttachmentsQueryRespSchema, req);
  }

  /** `GET /groups/{g}/attachments/{key}`: one attachment's metadata. */
  async get(groupName: string, key: string): Promise<AttachmentMetadata> {
    return await this.#t.json("GET", `${group(groupName)}/attachments/${keyPath(key)}`, AttachmentMetadataSchema);
  }

  /** `DELETE /groups/{g}/attachments/{key}` (refused within an hour of the last upload). */
  async delete(groupName: string, key: string): Promise<void> {
    await this.#t.send("DELETE", `${group(groupName)}/attachments/${keyPath(key)}`);
  }

  /** `GET /groups/{g}/download/attachments/{key}`: presigned GET URL and size. */
  async downloadUrl(groupName: string, key: string): Promise<RemoteResourceDownloadResp> {
    const path = `${group(groupName)}/download/attachments/${keyPath(key)}`;
    const resp = await this.#t.json("GET", path, RemoteResourceDownloadRespSchema);
    return { ...resp, url: this.#t.resolve(resp.url) };
  }

  /** `POST /groups/{g}/download/attachments`: download URLs of the matching attachments. */
  async downloadByFilter(groupName: string, req: AttachmentsByFilterReq = {}): Promise<AttachmentDownloadItem[]> {
    const path = `${group(groupName)}/download/attachments`;
    const resp = await this.#t.json("POST", path, AttachmentsDownloadListRespSchema, req);
    return resp.downloads.map((d) => ({ ...d, url: this.#t.resolve(d.url) }));
  }

  /** `POST /groups/{g}/download/attachments/list`: download URLs of the given keys. */
  async downloadByKeys(groupName: string, keys: readonly string[]): Promise<AttachmentDownloadItem[]> {
    const path = `${group(groupName)}/download/attachments/list`;
    const resp = await this.#t.json("POST", path, AttachmentsDownloadListRespSchema, { keys });
    return resp.downloads.map((d) => ({ ...d, url: this.#t.resolve(d.url) }));
  }

  /** `POST /groups/{g}/delete/attachments`: deletes the matching attachments. */
  async deleteByFilter(groupName: string, req: AttachmentsByFilterReq = {}): Promise<AttachmentsDeleteByFilterResp> {
    const path = `${group(groupName)}/delete/attachments`;
    return await this.#t.json("POST", path, AttachmentsDeleteByFilterRespSchema, req);
  }

  /** `POST /groups/{g}/delete/attachments/list`: deletes the given keys; failures are listed. */
  async deleteByKeys(groupName: string, keys: readonly string[]): Promise<AttachmentsDeleteByKeysResp> {
    const path = `${group(groupName)}/delete/attachments/list`;
    return await this.#t.json("POST", path, AttachmentsDeleteByKeysRespSchema, { keys });
  }

  /** `DELETE /admin/groups/{g}/attachments/{key}`: admin users delete any attachment at any time. */
  async adminDelete(groupName: string, key: string): Promise<void> {
    await this.#t.send("DELETE", `/admin${group(groupName)}/attachments/${keyPath(key)}`);
  }
}

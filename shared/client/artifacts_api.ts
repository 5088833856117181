/**
 * `client.artifacts`: presigned upload and download URLs of task artifacts,
 * deletion one by one or in batches. The bytes go to and from the returned
 * URLs (see `transfer.ts`), never through the coordinator. Returned URLs
 * are absolute.
 */
import type { z } from "zod";
import type { ArtifactContentType } from "../wire/tasks.ts";
import {
  ArtifactDownloadItemSchema,
  ArtifactsDeleteByFilterRespSchema,
  ArtifactsDeleteByUuidsRespSchema,
  ArtifactsDownloadByFilterReqSchema,
  ArtifactsDownloadListRespSchema,
  type RemoteResourceDownloadResp,
  RemoteResourceDownloadRespSchema,
  type UploadResp,
  UploadRespSchema,
} from "../wire/storage.ts";
import { type ApiTransport, segment } from "./transport.ts";

/** Task filters plus the artifact kind, as sent to the batch endpoints. */
export type ArtifactsByFilterReq = z.input<typeof ArtifactsDownloadByFilterReqSchema>;
/** One artifact download of a batch: task uuid, presigned URL, size. */
export type ArtifactDownloadItem = z.infer<typeof ArtifactDownloadItemSchema>;
/** `POST /tasks/delete/artifacts` answer. */
export type ArtifactsDeleteByFilterResp = z.infer<typeof ArtifactsDeleteByFilterRespSchema>;
/** `POST /tasks/delete/artifacts/list` answer. */
export type ArtifactsDeleteByUuidsResp = z.infer<typeof ArtifactsDeleteByUuidsRespSchema>;

const artifactPath = (uuid: string, contentType: ArtifactContentType) =>
  `${segment(uuid)}/artifacts/${segment(contentType)}`;

/** Artifact endpoints; reach them as `client.artifacts`. */
export class ArtifactsApi {
  readonly #t: ApiTransport;

  constructor(transport: ApiTransport) {
    this.#t = transport;
  }

  /**
   * `POST /tasks/{uuid}/artifacts`: a URL accepting one PUT of exactly
   * `contentLength` bytes; `exist` tells whether an artifact is replaced.
   */
  async uploadUrl(uuid: string, contentType: ArtifactContentType, contentLength: number): Promise<UploadResp> {
    const body = { content_type: contentType, content_length: contentLength };
    const resp = await this.#t.json("POST", `/tasks/${segment(uuid)}/artifacts`, UploadRespSchema, body);
    return { ...resp, url: this.#t.resolve(resp.url) };
  }

  /** `DELETE /tasks/{uuid}/artifacts/{content_type}`. */
  async delete(uuid: string, contentType: ArtifactContentType): Promise<void> {
    await this.#t.send("DELETE", `/tasks/${artifactPath(uuid, contentType)}`);
  }

  /** `GET /tasks/{uuid}/download/artifacts/{content_type}`: presigned GET URL and size. */
  async downloadUrl(uuid: string, contentType: ArtifactContentType): Promise<RemoteResourceDownloadResp> {
    const path = `/tasks/${segment(uuid)}/download/artifacts/${segment(contentType)}`;
    const resp = await this.#t.json("GET", path, RemoteResourceDownloadRespSchema);
    return { ...resp, url: this.#t.resolve(resp.url) };
  }

  /** `POST /tasks/download/artifacts`: download URLs of one artifact kind of the matching tasks. */
  async downloadByFilter(req: ArtifactsByFilterReq): Promise<ArtifactDownloadItem[]> {
    const resp = await this.#t.json("POST", "/tasks/download/artifacts", ArtifactsDownloadListRespSchema, req);
    return resp.downloads.map((d) => ({ ...d, url: this.#t.resolve(d.url) }));
  }

  /** `POST /tasks/download/artifacts/list`: download URLs of one artifact kind of the given tasks. */
  async downloadByUuids(uuids: readonly string[], contentType: ArtifactContentType): Promise<ArtifactDownloadItem[]> {
    const body = { uuids, content_type: contentType };
    const path = "/tasks/download/artifacts/list";
    const resp = await this.#t.json("POST", path, ArtifactsDownloadListRespSchema, body);
    return resp.downloads.map((d) => ({ ...d, url: this.#t.resolve(d.url) }));
  }

  /** `POST /tasks/delete/artifacts`: deletes one artifact kind of the matching tasks. */
  async deleteByFilter(req: ArtifactsByFilterReq): Promise<ArtifactsDeleteByFilterResp> {
    return await this.#t.json("POST", "/tasks/delete/artifacts", ArtifactsDeleteByFilterRespSchema, req);
  }

  /** `POST /tasks/delete/artifacts/list`: deletes one artifact kind of the given tasks. */
  async deleteByUuids(uuids: readonly string[], contentType: ArtifactContentType): Promise<ArtifactsDeleteByUuidsResp> {
    const body = { uuids, content_type: contentType };
    return await this.#t.json("POST", "/tasks/delete/artifacts/list", ArtifactsDeleteByUuidsRespSchema, body);
  }

  /** `DELETE /admin/tasks/{uuid}/artifacts/{content_type}`: admin users delete any artifact at any time. */
  async adminDelete(uuid: string, contentType: ArtifactContentType): Promise<void> {
    await this.#t.send("DELETE", `/admin/tasks/${artifactPath(uuid, contentType)}`);
  }
}

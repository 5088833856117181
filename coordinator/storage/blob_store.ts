/**
 * The blob storage interface (SPEC §4.6). Artifact and attachment bytes
 * never pass through the coordinator: it only hands out presigned URLs.
 * Implementations: S3 (`s3.ts`) and a local directory served by the
 * coordinator under `/blobs/...` (`local.ts`).
 */
import type { Hono } from "hono";

/** The two buckets Mitosis uses. */
export type Bucket = "artifacts" | "attachments";

/** Stores objects by bucket and key and signs URLs for them. */
export interface BlobStore {
  /** `s3` or `local`, for logs. */
  readonly kind: "s3" | "local";
  /** Creates the buckets if missing; fails clearly on bad credentials or endpoint. */
  init(): Promise<void>;
  /** A URL that accepts one PUT of exactly `contentLength` bytes until it expires. */
  presignPut(bucket: Bucket, key: string, contentLength: number, expiresInSec: number): Promise<string>;
  /** A URL that serves the object with GET until it expires. */
  presignGet(bucket: Bucket, key: string, expiresInSec: number): Promise<string>;
  /** Deletes an object; deleting a missing object is not an error. */
  delete(bucket: Bucket, key: string): Promise<void>;
  /** The size of an object, or null when it does not exist. */
  size(bucket: Bucket, key: string): Promise<number | null>;
  /** Routes the coordinator mounts under `/blobs` (local store only). */
  readonly routes?: Hono;
}

/** Upload URLs are valid for one hour. */
export const UPLOAD_URL_TTL_SEC = 3600;

/** Download URLs are valid for size/1 MB seconds, clamped to [1 h, 24 h]. */
export function downloadUrlTtlSec(sizeBytes: number): number {
  return Math.min(86_400, Math.max(3_600, Math.ceil(sizeBytes / 1_000_000)));
}

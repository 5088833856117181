/**
 * The local blob store for single-machine use: objects are files under
 * `<dir>/<bucket name>/<key>`, and the coordinator itself serves them under
 * `/blobs/...` with HMAC-signed, expiring URLs (`url_signing.ts`) that bind
 * the method, bucket, key and, for uploads, the exact content length.
 */
import type { BlobStore, Bucket } from "./blob_store.ts";
import { loadUrlSigner } from "./url_signing.ts";
import { InvalidObjectKey, localObjects, privateDir, segmentsOf } from "./local_files.ts";
import { badRequest } from "../../shared/errors.ts";
import { localBlobRoutes, objectUrlPath, signedQuery } from "./local_routes.ts";

/** Settings of the local store. */
export interface LocalStoreOptions {
  /** Root directory; also holds the signing key `signing.key`. */
  dir: string;
  /** The coordinator's public base URL (read at signing time, after the server is listening). */
  baseUrl: () => string;
  /** Bucket (directory) name of each logical bucket. */
  buckets: Record<Bucket, string>;
}

/** Where coordinator/app.ts mounts `routes`. */
const LOCAL_BLOBS_MOUNT = "/blobs";

/** Bucket names become directory names: plain names only, none of the store's own files. */
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Builds the local store, loading (or creating) its signing key. */
export async function createLocalStore(o: LocalStoreOptions): Promise<BlobStore> {
  const names = [...new Set(Object.values(o.buckets))];
  for (const name of names) {
    if (!BUCKET_NAME.test(name) || name === "signing.key") {
      throw new Error(`bucket name ${JSON.stringify(name)} cannot be a directory of the local blob store`);
    }
  }
  await privateDir(o.dir);
  const signer = await loadUrlSigner(`${o.dir}/signing.key`);
  const objects = localObjects(o.dir);

  async function presign(method: "GET" | "PUT", bucket: Bucket, key: string, ttl: number, length: number | null) {
    try {
      segmentsOf(key);
    } catch (error) {
      if (error instanceof InvalidObjectKey) {
        throw badRequest(`the local blob store cannot hold this key: ${error.message}`);
      }
      throw error;
    }
    const grant = {
      method,
      bucket: o.buckets[bucket],
      key,
      expires: Math.floor(Date.now() / 1000) + ttl,
      length,
    };
    const path = objectUrlPath(grant.bucket, key);
    return `${o.baseUrl()}${LOCAL_BLOBS_MOUNT}${path}?${signedQuery(grant, await signer.sign(grant))}`;
  }

  return {
    kind: "local",
    routes: localBlobRoutes({ objects, signer, buckets: names }),
    async init() {
      await objects.prepare(names);
    },
    presignPut: (bucket, key, contentLength, expiresInSec) => presign("PUT", bucket, key, expiresInSec, contentLength),
    presignGet: (bucket, key, expiresInSec) => presign("GET", bucket, key, expiresInSec, null),
    delete: (bucket, key) => objects.remove(o.buckets[bucket], key),
    size: (bucket, key) => objects.size(o.buckets[bucket], key),
  };
}

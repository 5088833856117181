/**
 * Chooses the blob store from configuration: S3 when `s3_url` is set, else
 * the local directory store under `<data_dir>/blobs`.
 */
import type { BlobStore } from "./blob_store.ts";
import { createS3Store } from "./s3.ts";
import { createLocalStore } from "./local.ts";
import type { CoordinatorConfig } from "../http/context.ts";

/** Builds (but does not init) the configured blob store. `baseUrl` is the coordinator's public URL. */
export async function createBlobStore(
  config: CoordinatorConfig,
  dataDir: string,
  baseUrl: () => string,
): Promise<BlobStore> {
  if (config.s3_url !== undefined) {
    return createS3Store({
      endpoint: config.s3_url,
      region: config.s3_region,
      accessKeyId: config.s3_access_key,
      secretAccessKey: config.s3_secret_key,
      forcePathStyle: config.s3_force_path_style,
      buckets: { artifacts: config.artifacts_bucket, attachments: config.attachments_bucket },
    });
  }
  return await createLocalStore({
    dir: `${dataDir}/blobs`,
    baseUrl,
    buckets: { artifacts: config.artifacts_bucket, attachments: config.attachments_bucket },
  });
}

/**
 * The S3 blob store: objects live in two buckets of an S3-compatible service
 * (AWS, MinIO, s3rver); the coordinator only signs URLs and deletes objects.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { BlobStore, Bucket } from "./blob_store.ts";

/** Settings of the S3 store. */
export interface S3StoreOptions {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), needed by MinIO and s3rver. */
  forcePathStyle: boolean;
  /** Bucket name of each logical bucket. */
  buckets: Record<Bucket, string>;
  /** Adjusts the SDK client after creation (tests add middleware for s3rver quirks). */
  configureClient?: (client: S3Client) => void;
}

/** Error codes by which S3 says the access key or its signature is wrong. */
const CREDENTIAL_ERRORS = new Set([
  "SignatureDoesNotMatch",
  "InvalidAccessKeyId",
  "InvalidClientTokenId",
  "AuthorizationHeaderMalformed",
]);

const testClientHooks = new Set<(client: S3Client) => void>();

/**
 * Test-only: applies `hook` to every S3 client `createS3Store` creates until
 * the returned function is called. The test harness uses it to work around
 * s3rver quirks inside in-process coordinators; production code never calls it.
 */
export function addS3ClientHookForTests(hook: (client: S3Client) => void): () => void {
  testClientHooks.add(hook);
  return () => testClientHooks.delete(hook);
}

/** HTTP status of an SDK error, or undefined when no response came back (network failure). */
function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof S3ServiceException) return error.$metadata.httpStatusCode;
  return undefined;
}

/** The S3 error code (`NoSuchBucket`, `SignatureDoesNotMatch`, ...) or the error's name. */
function codeOf(error: unknown): string {
  if (error instanceof S3ServiceException) return error.name;
  if (error instanceof Error) return (error as Error & { code?: string }).code ?? error.name;
  return String(error);
}

/** Builds the S3 store; `init()` then checks the credentials and creates missing buckets. */
export function createS3Store(o: S3StoreOptions): BlobStore {
  const client = new S3Client({
    endpoint: o.endpoint,
    region: o.region,
    forcePathStyle: o.forcePathStyle,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    // Presigned PUTs must not carry an SDK-computed checksum (it would be the checksum
    // of an empty body, which real S3 checks against the upload and rejects).
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  o.configureClient?.(client);
  for (const hook of testClientHooks) hook(client);
  const where = (bucket: string) => `bucket ${bucket} at ${o.endpoint}`;

  /** Turns a failed bucket check into an error an operator can act on. */
  async function explain(bucket: string, error: unknown): Promise<Error> {
    const status = httpStatusOf(error);
    if (status === undefined) {
      const message = error instanceof Error ? error.message : String(error);
      return new Error(`S3 endpoint unreachable while checking ${where(bucket)}: ${message}`, { cause: error });
    }
    let code = codeOf(error);
    // HEAD responses have no body, so the SDK cannot tell why it was refused: ask with a GET.
    if (code === "Unknown" || code === "Forbidden" || code === "NotFound") {
      try {
        await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
      } catch (probeError) {
        code = codeOf(probeError);
      }
    }
    if (CREDENTIAL_ERRORS.has(code)) {
      return new Error(`S3 rejected the credentials for ${where(bucket)}: ${code}`, { cause: error });
    }
    return new Error(`S3 refused access to ${where(bucket)}: ${code} (HTTP ${status})`, { cause: error });
  }

  async function ensureBucket(bucket: string): Promise<void> {
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (error) {
      if (httpStatusOf(error) !== 404) throw await explain(bucket, error);
    }
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      const code = codeOf(error);
      if (code === "BucketAlreadyOwnedByYou" || code === "BucketAlreadyExists") return;
      if (CREDENTIAL_ERRORS.has(code)) throw await explain(bucket, error);
      throw new Error(`S3 could not create ${where(bucket)}: ${code}`, { cause: error });
    }
  }

  return {
    kind: "s3",
    async init() {
      for (const bucket of new Set(Object.values(o.buckets))) await ensureBucket(bucket);
    },
    async presignPut(bucket, key, contentLength, expiresInSec) {
      // ContentLength is a signed header: the upload must carry exactly this length.
      const command = new PutObjectCommand({ Bucket: o.buckets[bucket], Key: key, ContentLength: contentLength });
      return await getSignedUrl(client, command, { expiresIn: expiresInSec });
    },
    async presignGet(bucket, key, expiresInSec) {
      const command = new GetObjectCommand({ Bucket: o.buckets[bucket], Key: key });
      return await getSignedUrl(client, command, { expiresIn: expiresInSec });
    },
    async delete(bucket, key) {
      await client.send(new DeleteObjectCommand({ Bucket: o.buckets[bucket], Key: key }));
    },
    async size(bucket, key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: o.buckets[bucket], Key: key }));
        return head.ContentLength ?? 0;
      } catch (error) {
        if (httpStatusOf(error) === 404) return null;
        throw error;
      }
    },
  };
}

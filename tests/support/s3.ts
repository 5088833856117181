/**
 * An in-process S3 server (npm:@20minutes/s3rver, which checks SigV4
 * signatures) on 127.0.0.1 with a random port and a fresh directory, and the
 * client-side workaround for its one signing quirk.
 */
import S3rver from "@20minutes/s3rver";
import { S3Client } from "@aws-sdk/client-s3";
import { addS3ClientHookForTests } from "../../coordinator/storage/s3.ts";
import type { CoordinatorConfig } from "../../coordinator/http/context.ts";

/** The parts of s3rver these tests use (the package ships no types). */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

/** s3rver's built-in account: the only credentials it accepts. */
const ACCESS_KEY = "S3RVER";
const SECRET_KEY = "S3RVER";

/**
 * s3rver computes the canonical URI of bucket-level requests as `/bucket`,
 * while the SDK signs `/bucket/`: strip the slash before signing. Tests only;
 * real S3 and MinIO accept what the SDK sends.
 */
export function stripBucketTrailingSlash(client: S3Client): void {
  client.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { path?: unknown };
      if (typeof request.path === "string" && /^\/[^/]+\/$/.test(request.path)) {
        request.path = request.path.slice(0, -1);
      }
      return next(args);
    },
    { step: "build", name: "stripBucketTrailingSlash" },
  );
}

/** A running s3rver. */
export interface TestS3 extends AsyncDisposable {
  readonly url: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** Coordinator settings pointing at this server (path-style). */
  coordinatorConfig(): Partial<CoordinatorConfig>;
  /** A fresh SDK client for this server, with the quirk workaround. */
  client(): S3Client;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver with `buckets` pre-created (default: the coordinator's two
 * default buckets). While it runs, every S3 store the coordinator creates in
 * this process gets the trailing-slash workaround.
 */
export async function startS3(
  buckets: string[] = ["mitosis-artifacts", "mitosis-attachments"],
): Promise<TestS3> {
  const directory = await Deno.makeTempDir({ prefix: "mitosis-test-s3-" });
  const Server = S3rver as unknown as S3rverConstructor;
  const server = new Server({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const removeHook = addS3ClientHookForTests(stripBucketTrailingSlash);
  const url = `http://127.0.0.1:${port}`;
  const region = "mitosis";
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      removeHook();
      await server.close();
      await Deno.remove(directory, { recursive: true });
    })();
    return stopped;
  };
  return {
    url,
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    region,
    coordinatorConfig: () => ({
      s3_url: url,
      s3_access_key: ACCESS_KEY,
      s3_secret_key: SECRET_KEY,
      s3_region: region,
      s3_force_path_style: true,
    }),
    client() {
      const client = new S3Client({
        endpoint: url,
        region,
        forcePathStyle: true,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      });
      stripBucketTrailingSlash(client);
      return client;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * The S3 blob store against an in-process s3rver (which checks SigV4
 * signatures): buckets created at start, presigned uploads of exactly the
 * signed length, downloads, deletions, and clear start failures on wrong
 * credentials or an unreachable endpoint.
 */
import { HeadBucketCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { assertEquals, assertIncludes, assertRejects, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, spawnCoordinator, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { freshDatabase } from "./support/postgres.ts";
import { startS3 } from "./support/s3.ts";
import { unreachableUrl } from "./support/cli.ts";
import { createS3Store } from "../coordinator/storage/s3.ts";

const encoder = new TextEncoder();

test("S3 store: the coordinator creates missing buckets and attachments round-trip through presigned URLs", async () => {
  await using s3 = await startS3([]);
  const client = s3.client();
  await using coord = await startTestCoordinator({
    ...s3.coordinatorConfig(),
    artifacts_bucket: "test-artifacts",
    attachments_bucket: "test-attachments",
  });
  for (const bucket of ["test-artifacts", "test-attachments"]) {
    const head = await client.send(new HeadBucketCommand({ Bucket: bucket }));
    assertEquals(head.$metadata.httpStatusCode, 200, bucket);
  }

  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  const alice = await createUser(coord.url, admin, "alice");
  const content = encoder.encode("bytes via s3 ".repeat(1000));
  const key = "inputs/data set #1.txt";
  const granted = await call(coord.url, "POST", "/groups/alice/attachments", {
    token: alice,
    body: { key, content_length: content.length },
  });
  assertEquals(granted.status, 200, granted.text);
  const { url: putUrl, exist } = granted.body as { url: string; exist: boolean };
  assertEquals(exist, false);
  assertTrue(putUrl.startsWith(`${s3.url}/test-attachments/alice/inputs/`), putUrl);

  // The signed Content-Length binds the upload to exactly the announced size.
  const wrong = await fetch(putUrl, { method: "PUT", body: content.slice(1) });
  assertEquals(wrong.status, 403);
  assertIncludes(await wrong.text(), "SignatureDoesNotMatch");
  const put = await fetch(putUrl, { method: "PUT", body: content });
  await put.body?.cancel();
  assertEquals(put.status, 200);
  const object = await client.send(new HeadObjectCommand({ Bucket: "test-attachments", Key: `alice/${key}` }));
  assertEquals(object.ContentLength, content.length);

  const dl = await call(
    coord.url,
    "GET",
    `/groups/alice/download/attachments/inputs/${encodeURIComponent("data set #1.txt")}`,
    {
      token: alice,
    },
  );
  assertEquals(dl.status, 200, dl.text);
  const download = dl.body as { url: string; size: number };
  assertEquals(download.size, content.length);
  const got = await fetch(download.url);
  assertEquals(got.status, 200);
  assertEquals(new Uint8Array(await got.arrayBuffer()), content);

  const del = await call(
    coord.url,
    "DELETE",
    `/admin/groups/alice/attachments/inputs/${encodeURIComponent("data set #1.txt")}`,
    {
      token: admin,
    },
  );
  assertEquals(del.status, 200, del.text);
  const gone = await assertRejects(() =>
    client.send(new HeadObjectCommand({ Bucket: "test-attachments", Key: `alice/${key}` }))
  );
  assertEquals((gone as Error & { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 404);
});

test("S3 store: size, delete and presigned URLs against existing buckets", async () => {
  await using s3 = await startS3();
  const store = createS3Store({
    endpoint: s3.url,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    buckets: { artifacts: "mitosis-artifacts", attachments: "mitosis-attachments" },
  });
  await store.init();
  const key = "0b2c7f7e-0000-4000-8000-000000000000/result.tar.gz";
  assertEquals(await store.size("artifacts", key), null);
  const put = await fetch(await store.presignPut("artifacts", key, 3, 60), { method: "PUT", body: "abc" });
  await put.body?.cancel();
  assertEquals(put.status, 200);
  assertEquals(await store.size("artifacts", key), 3);
  assertEquals(await store.size("attachments", key), null);
  assertEquals(await (await fetch(await store.presignGet("artifacts", key, 60))).text(), "abc");
  await store.delete("artifacts", key);
  assertEquals(await store.size("artifacts", key), null);
  await store.delete("artifacts", key); // deleting a missing object is fine
});

test("S3 store: a wrong S3 secret stops the coordinator from starting, with an error naming S3", async () => {
  await using s3 = await startS3();
  const error = await assertRejects(() =>
    startTestCoordinator({ ...s3.coordinatorConfig(), s3_secret_key: "not-the-secret" })
  );
  assertIncludes(error.message, "S3 rejected the credentials for bucket mitosis-");
  assertIncludes(error.message, s3.url);
  assertIncludes(error.message, "SignatureDoesNotMatch");

  const wrongKey = await assertRejects(() =>
    startTestCoordinator({ ...s3.coordinatorConfig(), s3_access_key: "nobody" })
  );
  assertIncludes(wrongKey.message, "InvalidAccessKeyId");

  // The real executable exits non-zero and logs why.
  const dbUrl = await freshDatabase();
  const dataDir = await Deno.makeTempDir({ prefix: "mitosis-test-s3-coord-" });
  try {
    const spawned = await assertRejects(() =>
      spawnCoordinator([
        "--bind",
        "127.0.0.1:0",
        "--db-url",
        dbUrl,
        "--data-dir",
        dataDir,
        "--s3",
        s3.url,
        "--s3-access-key",
        s3.accessKeyId,
        "--s3-secret-key",
        "not-the-secret",
        "--s3-force-path-style",
      ])
    );
    assertIncludes(spawned.message, "exited with 1");
    assertIncludes(spawned.message, "S3 rejected the credentials");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

test("S3 store: an unreachable S3 endpoint stops the coordinator from starting", async () => {
  const endpoint = unreachableUrl();
  const error = await assertRejects(() =>
    startTestCoordinator({ s3_url: endpoint, s3_force_path_style: true, s3_access_key: "a", s3_secret_key: "b" })
  );
  assertIncludes(error.message, "S3 endpoint unreachable");
  assertIncludes(error.message, endpoint);
});

/**
 * The local blob store served by the coordinator under `/blobs`: signed PUT
 * and GET round trips, and refusal (403) of expired, tampered or misused
 * URLs, wrong body lengths, missing objects (404) and path traversal.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { freshDatabase } from "./support/postgres.ts";
import { createLocalStore } from "../coordinator/storage/local.ts";
import { loadUrlSigner } from "../coordinator/storage/url_signing.ts";

const BUCKETS = { artifacts: "mitosis-artifacts", attachments: "mitosis-attachments" };
const encoder = new TextEncoder();

/** Logs in a fresh user `alice` and returns her token. */
async function alice(coord: TestCoordinator): Promise<string> {
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  return await createUser(coord.url, admin, "alice");
}

/** An upload URL for `key` in alice's group, for `length` bytes. */
async function uploadUrl(coord: TestCoordinator, token: string, key: string, length: number): Promise<string> {
  const res = await call(coord.url, "POST", "/groups/alice/attachments", {
    token,
    body: { key, content_length: length },
  });
  assertEquals(res.status, 200, res.text);
  return (res.body as { url: string }).url;
}

/** The download URL of `key` in alice's group. */
async function downloadUrl(coord: TestCoordinator, token: string, key: string): Promise<string> {
  const path = key.split("/").map(encodeURIComponent).join("/");
  const res = await call(coord.url, "GET", `/groups/alice/download/attachments/${path}`, { token });
  assertEquals(res.status, 200, res.text);
  return (res.body as { url: string }).url;
}

/** Sends a request and returns status and parsed JSON (or text) body. */
async function send(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** Asserts a 403 with a `msg` mentioning `part`. */
function assertForbidden(res: { status: number; body: unknown }, part: string, what: string): void {
  assertEquals(res.status, 403, `${what}: ${JSON.stringify(res.body)}`);
  assertIncludes((res.body as { msg: string }).msg, part, what);
}

/** Files under a directory, recursively, relative to it. */
async function filesUnder(dir: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) found.push(...await filesUnder(`${dir}/${entry.name}`, `${prefix}${entry.name}/`));
    else found.push(`${prefix}${entry.name}`);
  }
  return found.sort();
}

/** The same URL with one query parameter replaced (or removed when `value` is null). */
function withParam(url: string, name: string, value: string | null): string {
  const u = new URL(url);
  if (value === null) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.toString();
}

test("local blob store: an upload URL stores exactly the signed bytes and a download URL streams them", async () => {
  await using coord = await startTestCoordinator();
  const token = await alice(coord);
  const key = "data sets/ümlaut & co/file #1.bin";
  const content = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251);
  const put = await uploadUrl(coord, token, key, content.length);
  assertTrue(put.startsWith(`${coord.url}/blobs/mitosis-attachments/alice/`), put);
  const stored = await send(put, { method: "PUT", body: content });
  assertEquals(stored.status, 200);
  const onDisk = await Deno.readFile(`${coord.dataDir}/blobs/mitosis-attachments/alice/${key}`);
  assertEquals(onDisk, content);

  const get = await fetch(await downloadUrl(coord, token, key));
  assertEquals(get.status, 200);
  assertEquals(get.headers.get("content-length"), String(content.length));
  assertEquals(new Uint8Array(await get.arrayBuffer()), content);
  const head = await fetch(await downloadUrl(coord, token, key), { method: "HEAD" });
  assertEquals(head.status, 200);
  assertEquals(head.headers.get("content-length"), String(content.length));

  // A streamed (chunked) upload of the right length is accepted too, and replaces the object.
  const next = encoder.encode("streamed body");
  const streamed = await send(await uploadUrl(coord, token, key, next.length), {
    method: "PUT",
    body: ReadableStream.from([next.slice(0, 5), next.slice(5)]),
  });
  assertEquals(streamed.status, 200);
  assertEquals(await (await fetch(await downloadUrl(coord, token, key))).text(), "streamed body");
  // An empty object works.
  assertEquals((await send(await uploadUrl(coord, token, "empty", 0), { method: "PUT" })).status, 200);
  const empty = await fetch(await downloadUrl(coord, token, "empty"));
  assertEquals([empty.status, await empty.text()], [200, ""]);
});

test("local blob store: expired, tampered and misused URLs answer 403 and store nothing", async () => {
  await using coord = await startTestCoordinator();
  const token = await alice(coord);
  const put = await uploadUrl(coord, token, "docs/a.txt", 5);
  const body = encoder.encode("hello");

  assertForbidden(await send(put.replace("/docs/a.txt?", "/docs/b.txt?"), { method: "PUT", body }), "signature", "key");
  assertForbidden(await send(put.replace("/alice/", "/bob/"), { method: "PUT", body }), "signature", "group");
  assertForbidden(
    await send(put.replace("/mitosis-attachments/", "/mitosis-artifacts/"), { method: "PUT", body }),
    "signature",
    "bucket",
  );
  assertForbidden(
    await send(withParam(put, "length", "6"), { method: "PUT", body: encoder.encode("hello!") }),
    "signature",
    "length",
  );
  const expires = new URL(put).searchParams.get("expires")!;
  assertForbidden(
    await send(withParam(put, "expires", String(Number(expires) + 10)), { method: "PUT", body }),
    "signature",
    "expiry",
  );
  const signature = new URL(put).searchParams.get("signature")!;
  const flipped = (signature[0] === "0" ? "1" : "0") + signature.slice(1);
  assertForbidden(await send(withParam(put, "signature", flipped), { method: "PUT", body }), "signature", "sig");
  assertForbidden(await send(withParam(put, "signature", null), { method: "PUT", body }), "signature", "no sig");
  assertForbidden(await send(withParam(put, "expires", "soon"), { method: "PUT", body }), "signature", "bad expiry");
  // Method: an upload URL does not download, a download URL does not upload.
  assertForbidden(await send(put), "signature", "GET with a PUT URL");
  const get = await downloadUrl(coord, token, "docs/a.txt");
  assertForbidden(await send(get, { method: "PUT", body }), "signature", "PUT with a GET URL");
  assertForbidden(await send(`${coord.url}/blobs/mitosis-attachments/alice/docs/a.txt`), "signature", "unsigned");

  // Expired URLs, signed with the coordinator's own key.
  const store = await createLocalStore({ dir: `${coord.dataDir}/blobs`, baseUrl: () => coord.url, buckets: BUCKETS });
  const expiredPut = await store.presignPut("attachments", "alice/docs/a.txt", 5, -1);
  assertForbidden(await send(expiredPut, { method: "PUT", body }), "expired", "expired PUT");
  const expiredGet = await store.presignGet("attachments", "alice/docs/a.txt", -1);
  assertForbidden(await send(expiredGet), "expired", "expired GET");

  assertEquals(await filesUnder(`${coord.dataDir}/blobs/mitosis-attachments`), []);
  // The untampered URL still works.
  assertEquals((await send(put, { method: "PUT", body })).status, 200);
  assertEquals(await filesUnder(`${coord.dataDir}/blobs/mitosis-attachments`), ["alice/docs/a.txt"]);
});

test("local blob store: a body of the wrong length is rejected and leaves no file", async () => {
  await using coord = await startTestCoordinator();
  const token = await alice(coord);
  const put = await uploadUrl(coord, token, "exact.bin", 10);
  const short = await send(put, { method: "PUT", body: encoder.encode("123456789") });
  assertForbidden(short, "10 bytes", "short body");
  const long = await send(put, { method: "PUT", body: encoder.encode("12345678901") });
  assertForbidden(long, "10 bytes", "long body");
  const chunks = (n: number) => ReadableStream.from(Array.from({ length: n }, () => encoder.encode("x")));
  assertForbidden(await send(put, { method: "PUT", body: chunks(9) }), "10 bytes", "short stream");
  assertForbidden(await send(put, { method: "PUT", body: chunks(50) }), "10 bytes", "long stream");
  assertEquals(await filesUnder(`${coord.dataDir}/blobs/mitosis-attachments`), []);
  assertEquals(await filesUnder(`${coord.dataDir}/blobs/.uploads`), []);
  assertEquals((await send(put, { method: "PUT", body: encoder.encode("1234567890") })).status, 200);
  assertEquals(await filesUnder(`${coord.dataDir}/blobs/.uploads`), []);
});

test("local blob store: missing objects are 404, traversal keys are refused, key conflicts are 409", async () => {
  await using coord = await startTestCoordinator();
  const token = await alice(coord);
  // The attachment row exists once the upload URL is granted, but nothing was uploaded yet.
  await uploadUrl(coord, token, "never/uploaded.txt", 3);
  const missing = await send(await downloadUrl(coord, token, "never/uploaded.txt"));
  assertEquals(missing.status, 404);
  assertEquals(typeof (missing.body as { msg: string }).msg, "string");

  // Even a correctly signed URL for a key that climbs out of its bucket is refused.
  const signer = await loadUrlSigner(`${coord.dataDir}/blobs/signing.key`);
  for (const key of ["../signing.key", "alice/../../signing.key", "a/./b", "a//b"]) {
    const grant = { method: "GET" as const, bucket: "mitosis-attachments", key, expires: 2e9, length: null };
    const url = `${coord.url}/blobs/mitosis-attachments/${encodeURIComponent(key)}?expires=${grant.expires}` +
      `&signature=${await signer.sign(grant)}`;
    const res = await send(url);
    assertEquals(res.status, 400, `${key}: ${JSON.stringify(res.body)}`);
    assertEquals(typeof (res.body as { msg: string }).msg, "string");
  }

  // A file system cannot hold an object at "a" and another at "a/b".
  await send(await uploadUrl(coord, token, "a", 1), { method: "PUT", body: encoder.encode("1") });
  const conflict = await send(await uploadUrl(coord, token, "a/b", 1), { method: "PUT", body: encoder.encode("2") });
  assertEquals(conflict.status, 409, JSON.stringify(conflict.body));
  // Names longer than a file system allows are refused when the upload is requested.
  const long = await call(coord.url, "POST", "/groups/alice/attachments", {
    token,
    body: { key: `dir/${"n".repeat(256)}`, content_length: 1 },
  });
  assertEquals(long.status, 400, long.text);
  assertIncludes((long.body as { msg: string }).msg, "255 bytes");
  const [row] = await coord.sql`SELECT count(*)::int AS n FROM attachments WHERE key LIKE 'dir/%'`;
  assertEquals(row.n, 0);
});

test("local blob store: the signing key is private and URLs stay valid across a restart", async () => {
  const dbUrl = await freshDatabase();
  const dataDir = await Deno.makeTempDir({ prefix: "mitosis-test-blobs-" });
  const first = await startTestCoordinator({ db_url: dbUrl, data_dir: dataDir });
  let url: string;
  try {
    const token = await alice(first);
    const put = await uploadUrl(first, token, "keep.txt", 4);
    assertEquals((await send(put, { method: "PUT", body: encoder.encode("kept") })).status, 200);
    url = await downloadUrl(first, token, "keep.txt");
  } finally {
    await first.stop();
  }
  const info = await Deno.stat(`${dataDir}/blobs/signing.key`);
  assertEquals((info.mode ?? 0) & 0o777, 0o600);
  const keyBefore = await Deno.readTextFile(`${dataDir}/blobs/signing.key`);

  await using second = await startTestCoordinator({ db_url: dbUrl, data_dir: dataDir });
  assertEquals(await Deno.readTextFile(`${dataDir}/blobs/signing.key`), keyBefore);
  const moved = new URL(url);
  const res = await fetch(`${second.url}${moved.pathname}${moved.search}`);
  assertEquals([res.status, await res.text()], [200, "kept"]);
});

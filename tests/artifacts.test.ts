import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";

async function put(url: string, bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const res = await fetch(url, { method: "PUT", body: bytes, headers: { "Content-Length": String(bytes.length) } });
  await res.body?.cancel();
  return res.status;
}

async function get(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

test("artifacts: upload through the presigned URL, download, quota, delete lock-out and admin delete", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const uuid = ((await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice") })).body as {
    uuid: string;
  }).uuid;
  const bytes = crypto.getRandomValues(new Uint8Array(50_000));
  const up = await call(coord.url, "POST", `/tasks/${uuid}/artifacts`, {
    token: alice,
    body: { content_type: "result", content_length: bytes.length },
  });
  assertEquals(up.status, 200, up.text);
  const { exist, url } = up.body as { exist: boolean; url: string };
  assertEquals(exist, false);
  assertTrue([200, 201, 204].includes(await put(url, bytes)));
  const [group] = await coord.sql`SELECT storage_used FROM groups WHERE group_name = 'alice'`;
  assertEquals(group.storage_used, 50_000);

  const info = await call(coord.url, "GET", `/tasks/${uuid}`, { token: alice });
  const artifacts = (info.body as { artifacts: { content_type: string; size: number }[] }).artifacts;
  assertEquals(artifacts.map((a) => [a.content_type, a.size]), [["result", 50_000]]);
  const down = await call(coord.url, "GET", `/tasks/${uuid}/download/artifacts/result`, { token: alice });
  assertEquals((down.body as { size: number }).size, 50_000);
  assertEquals(await get((down.body as { url: string }).url), bytes);
  const list = await call(coord.url, "POST", "/tasks/download/artifacts/list", {
    token: alice,
    body: { uuids: [uuid, crypto.randomUUID()], content_type: "result" },
  });
  assertEquals((list.body as { downloads: { uuid: string }[] }).downloads.map((d) => d.uuid), [uuid]);
  const byFilter = await call(coord.url, "POST", "/tasks/download/artifacts", {
    token: alice,
    body: { content_type: "result" },
  });
  assertEquals((byFilter.body as { downloads: unknown[] }).downloads.length, 1);

  // Fresh artifacts cannot be deleted by users for an hour; admins can.
  const early = await call(coord.url, "DELETE", `/tasks/${uuid}/artifacts/result`, { token: alice });
  assertEquals(early.status, 400);
  const earlyList = await call(coord.url, "POST", "/tasks/delete/artifacts/list", {
    token: alice,
    body: { uuids: [uuid], content_type: "result" },
  });
  assertEquals(earlyList.body, { deleted_count: 0, failed_uuids: [uuid] });
  assertEquals(
    (await call(coord.url, "DELETE", `/admin/tasks/${uuid}/artifacts/result`, { token: alice })).status,
    403,
  );
  assertEquals(
    (await call(coord.url, "DELETE", `/admin/tasks/${uuid}/artifacts/result`, { token: admin })).status,
    200,
  );
  const [after] = await coord.sql`SELECT storage_used FROM groups WHERE group_name = 'alice'`;
  assertEquals(after.storage_used, 0);
  assertEquals(
    (await call(coord.url, "GET", `/tasks/${uuid}/download/artifacts/result`, { token: alice })).status,
    404,
  );
  const oldUrl = (down.body as { url: string }).url;
  assertEquals(await fetch(oldUrl).then(async (r) => (await r.body?.cancel(), r.status)), 404);

  // Over quota: 403 and nothing recorded.
  await call(coord.url, "POST", "/admin/groups/alice/storage-quota", {
    token: admin,
    body: { storage_quota: "=1000" },
  });
  const tooBig = await call(coord.url, "POST", `/tasks/${uuid}/artifacts`, {
    token: alice,
    body: { content_type: "std-log", content_length: 1001 },
  });
  assertEquals(tooBig.status, 403);
  const [n] = await coord.sql`SELECT count(*)::int AS n FROM artifacts`;
  assertEquals(n.n, 0);
});

test("workers upload artifacts through Upload reports and fetch resources by URL", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const uuid = ((await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice") })).body as {
    uuid: string;
  }).uuid;
  const worker = await registerWorker(coord.url, alice);
  const task = (await worker.fetch())!;
  const bytes = new TextEncoder().encode("std log bytes");
  const upload = await worker.report(task.id, { Upload: { content_type: "std-log", content_length: bytes.length } });
  assertEquals(upload.status, 200);
  assertTrue([200, 201, 204].includes(await put((upload.body as { url: string }).url, bytes)));
  await worker.complete(task);
  const viaWorker = await call(coord.url, "GET", `/workers/tasks/${uuid}/artifacts/std-log`, { token: worker.token });
  assertEquals(await get((viaWorker.body as { url: string }).url), bytes);
  assertEquals(
    (await call(coord.url, "GET", `/workers/tasks/${uuid}/artifacts/result`, { token: worker.token })).status,
    404,
  );

  // A group attachment, fetched by a worker through a task of that group.
  const att = await call(coord.url, "POST", "/groups/alice/attachments", {
    token: alice,
    body: { key: "data/input.txt", content_length: 5 },
  });
  assertEquals(att.status, 200, att.text);
  assertTrue([200, 201, 204].includes(await put((att.body as { url: string }).url, new TextEncoder().encode("hello"))));
  const viaTask = await call(coord.url, "GET", `/workers/tasks/${uuid}/attachments/data/input.txt`, {
    token: worker.token,
  });
  assertEquals(viaTask.status, 200, viaTask.text);
  assertEquals(new TextDecoder().decode(await get((viaTask.body as { url: string }).url)), "hello");
  const missing = await call(coord.url, "GET", `/workers/tasks/${uuid}/attachments/nope`, { token: worker.token });
  assertEquals(missing.status, 404);
  const info = await call(coord.url, "GET", `/workers/tasks/${uuid}`, { token: worker.token });
  const body = info.body as { state: string; result: unknown };
  assertEquals(body.state, "Finished");
  assertEquals(body.result, { exit_status: 0, msg: null });
});

/**
 * Wire spellings of v0.6.8 that its clients send or expect: attachments'
 * `content_type` is `"NoSet"` (the OpenAPI document's
 * `application/octet-stream` is still read), and a task `timeout` of `"0s"`
 * is accepted, meaning the default of 10 minutes.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, login } from "./support/http.ts";
import { noopTask } from "./support/workers_api.ts";
import { AttachmentMetadataSchema } from "../shared/wire/storage.ts";

test("attachment metadata spells content_type NoSet, and both spellings are read", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  const group = ADMIN.username;
  const grant = await call(coord.url, "POST", `/groups/${group}/attachments`, {
    token: admin,
    body: { key: "a.txt", content_length: 2 },
  });
  assertEquals(grant.status, 200, grant.text);
  const put = await fetch((grant.body as { url: string }).url, { method: "PUT", body: "hi" });
  await put.body?.cancel();
  const meta = await call(coord.url, "GET", `/groups/${group}/attachments/a.txt`, { token: admin });
  assertEquals((meta.body as { content_type: string }).content_type, "NoSet");
  const listed = await call(coord.url, "POST", `/groups/${group}/attachments/query`, { token: admin, body: {} });
  assertEquals((listed.body as { attachments: { content_type: string }[] }).attachments[0].content_type, "NoSet");
  const sample = { size: 1, created_at: "x", updated_at: "x" };
  for (const spelling of ["NoSet", "application/octet-stream"]) {
    assertTrue(AttachmentMetadataSchema.safeParse({ ...sample, content_type: spelling }).success, spelling);
  }
});

test("a task timeout of 0s is accepted as v0.6.8 accepts it and means the default 10 minutes", async () => {
  await using coord = await startTestCoordinator();
  const user = await login(coord.url, ADMIN.username, ADMIN.password);
  const submitted = await call(coord.url, "POST", "/tasks", {
    token: user,
    body: noopTask(ADMIN.username, { timeout: "0s" }),
  });
  assertEquals(submitted.status, 200, submitted.text);
  const uuid = (submitted.body as { uuid: string }).uuid;
  const task = await call(coord.url, "GET", `/tasks/${uuid}`, { token: user });
  assertEquals((task.body as { info: { timeout: number } }).info.timeout, 600);
  const changed = await call(coord.url, "PUT", `/tasks/${uuid}`, { token: user, body: { timeout: "0s" } });
  assertEquals(changed.status, 200, changed.text);
  const batch = await call(coord.url, "POST", "/tasks/submit", {
    token: user,
    body: { tasks: [noopTask(ADMIN.username, { timeout: "0" })] },
  });
  assertEquals(batch.status, 200, batch.text);
  assertTrue("Ok" in (batch.body as { results: Record<string, unknown>[] }).results[0], batch.text);
});

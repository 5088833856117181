/**
 * Managers obtain download URLs for the resources of suites they serve
 * (hook resources, and task resources relayed to managed workers).
 */
import { assertEquals } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { registerManager } from "./support/ws_manager.ts";

test("a manager gets URLs for its suites' attachments and artifacts, and nothing else", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const bob = await createUser(coord.url, admin, "bob");
  const grant = await call(coord.url, "POST", "/groups/alice/attachments", {
    token: alice,
    body: { key: "setup/run.sh", content_length: 9 },
  });
  const put = await fetch((grant.body as { url: string }).url, { method: "PUT", body: "echo hi\n\n" });
  await put.body?.cancel();
  const suite = await call(coord.url, "POST", "/suites", {
    token: alice,
    body: { group_name: "alice", tags: ["cpu"], worker_schedule: { worker_count: 1 } },
  });
  const suiteUuid = (suite.body as { uuid: string }).uuid;
  const manager = await registerManager(coord.url, alice, { tags: ["cpu"] });
  const outsider = await registerManager(coord.url, bob, { tags: ["cpu"] });

  const ask = (token: string, body: unknown) => call(coord.url, "POST", "/managers/resources", { token, body });
  const attachment = { suite_uuid: suiteUuid, remote_file: { Attachment: { key: "setup/run.sh" } } };
  const ok = await ask(manager.token, attachment);
  assertEquals(ok.status, 200, ok.text);
  const { url, size } = ok.body as { url: string; size: number };
  assertEquals(size, 9);
  assertEquals(await (await fetch(url)).text(), "echo hi\n\n");

  assertEquals((await ask(outsider.token, attachment)).status, 403, "not linked to the suite");
  assertEquals((await ask(alice, attachment)).status, 401, "a user token is no manager token");
  const missing = await ask(manager.token, { suite_uuid: suiteUuid, remote_file: { Attachment: { key: "nope" } } });
  assertEquals(missing.status, 404);
  const artifact = await ask(manager.token, {
    suite_uuid: suiteUuid,
    remote_file: { Artifact: { uuid: crypto.randomUUID(), content_type: "result" } },
  });
  assertEquals(artifact.status, 404);
  for (const bad of [{}, { suite_uuid: "x" }, { suite_uuid: suiteUuid, remote_file: { Url: "x" } }]) {
    assertEquals((await ask(manager.token, bad)).status, 400, JSON.stringify(bad));
  }
});

import { assertEquals, assertIncludes, assertRejects, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { unreachableUrl } from "./support/cli.ts";
import { ClientError, MitosisClient } from "../mod.ts";

test("sdk: login stores the token; typed results from every user/group endpoint", async () => {
  await using coord = await startTestCoordinator();
  const admin = new MitosisClient({ baseUrl: `${coord.url}/` });
  assertEquals(await admin.health(), { status: "ok" });
  const token = await admin.login(ADMIN.username, ADMIN.password);
  assertEquals(admin.token, token);
  assertEquals(await admin.auth(), ADMIN.username);
  assertEquals(await admin.redis(), { url: null });

  await admin.adminCreateUser("bob", "bob-pw");
  const bob = new MitosisClient({ baseUrl: coord.url });
  await bob.login("bob", "bob-pw");
  await bob.createGroup("team");
  const group = await bob.getGroup("team");
  assertEquals([group.group_name, group.creator_username, group.state], ["team", "bob", "Active"]);
  assertEquals(await bob.userGroups(), { groups: { bob: "Admin", team: "Admin" } });

  await admin.adminCreateUser("alice", "alice-pw");
  await bob.updateUserGroup("team", { alice: "read" });
  assertEquals((await bob.getGroup("team")).users_in_group, { alice: "Read", bob: "Admin" });
  await bob.removeUserGroup("team", ["alice"]);
  assertEquals((await bob.getGroup("team")).users_in_group, { bob: "Admin" });

  assertEquals(await admin.adminGroupQuota("bob", "+1"), 9);
  assertEquals(await admin.adminStorageQuota("team", "=1GB"), 1_000_000_000);
  assertEquals(await admin.adminUserState("bob", "locked"), "Locked");
  assertEquals(await admin.adminUserState("bob", "Active"), "Active");

  const fresh = await bob.changePassword("bob", "bob-pw", "new-pw");
  assertEquals(bob.token, fresh);
  assertEquals(await bob.auth(), "bob");
  await admin.adminChangePassword("bob", "other-pw");
  await bob.login("bob", "other-pw");
  assertEquals(await admin.adminDeleteUser("bob"), "Deleted");
});

test("sdk: failures are ClientError with the server's status and msg", async () => {
  await using coord = await startTestCoordinator();
  const client = new MitosisClient({ baseUrl: coord.url });
  const wrong = await assertRejects(() => client.login(ADMIN.username, "nope"));
  assertTrue(wrong instanceof ClientError);
  assertEquals([wrong.status, wrong.msg], [401, "wrong username or password"]);
  const anonymous = await assertRejects(() => client.userGroups());
  assertTrue(anonymous instanceof ClientError);
  assertEquals([anonymous.status, anonymous.msg], [401, "missing bearer token"]);
  await client.login(ADMIN.username, ADMIN.password);
  const missing = await assertRejects(() => client.getGroup("no-such-group"));
  assertTrue(missing instanceof ClientError);
  assertEquals(missing.status, 404);
  const badShutdown = await assertRejects(() => client.adminShutdown("x"));
  assertTrue(badShutdown instanceof ClientError);
  assertEquals([badShutdown.status, badShutdown.msg], [403, "wrong shutdown secret"]);
});

test("sdk: an unreachable coordinator is status 0 naming the URL", async () => {
  const url = unreachableUrl();
  const error = await assertRejects(() => new MitosisClient({ baseUrl: url }).health());
  assertTrue(error instanceof ClientError);
  assertEquals(error.status, 0);
  assertIncludes(error.msg, `cannot reach the coordinator at ${url}`);
});

test("sdk: bodies that break the wire schema, and non-JSON errors, are reported", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/health") return Response.json({ healthy: true });
    if (path === "/users/groups") return new Response("<html>", { status: 200 });
    return new Response("upstream exploded", { status: 502, statusText: "Bad Gateway" });
  });
  try {
    const client = new MitosisClient({ baseUrl: `http://127.0.0.1:${server.addr.port}`, token: "t" });
    const shape = await assertRejects(() => client.health());
    assertTrue(shape instanceof ClientError);
    assertIncludes(shape.msg, "GET /health: unexpected response from the coordinator (status:");
    const notJson = await assertRejects(() => client.userGroups());
    assertIncludes(notJson.message, "not JSON");
    const gateway = await assertRejects(() => client.auth());
    assertTrue(gateway instanceof ClientError);
    assertEquals([gateway.status, gateway.msg], [502, "HTTP 502 Bad Gateway: upstream exploded"]);
  } finally {
    await server.shutdown();
  }
});

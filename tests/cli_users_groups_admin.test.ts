import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { cliSandbox } from "./support/cli.ts";

test("cli: admin creates a user, who creates and inspects a group (singular aliases work)", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  await cli.ok(["login", ADMIN.username, ADMIN.password]);

  const created = await cli.ok(["admin", "users", "create", "bob", "bob-pw"]);
  assertIncludes(created.stdout, "User bob created");
  await cli.ok(["group", "create", "team", "-u", "bob", "-p", "bob-pw"]);
  const lines = (await cli.credentials()).trim().split("\n").map((l) => l.split(":")[0]);
  assertEquals(lines, [ADMIN.username, "bob"], "bob's token appended after the admin's");

  const json = await cli.ok(["groups", "get", "team", "--json", "-u", "bob"]);
  const info = JSON.parse(json.stdout);
  assertEquals(info.group_name, "team");
  assertEquals(info.creator_username, "bob");
  assertEquals(info.users_in_group, { bob: "Admin" });
  assertEquals(info.storage_quota, 16_000_000_000);

  const human = await cli.ok(["groups", "get", "team", "-u", "bob"]);
  assertTrue(/^Group:\s+team$/m.test(human.stdout), human.stdout);
  assertTrue(/^Storage:\s+0 B used of 16 GB$/m.test(human.stdout), human.stdout);
  assertTrue(/^\s+bob\s+Admin$/m.test(human.stdout), human.stdout);

  const groups = await cli.ok(["users", "groups", "-u", "bob"]);
  assertTrue(/^GROUP\s+ROLE$/m.test(groups.stdout), groups.stdout);
  assertTrue(/^team\s+Admin$/m.test(groups.stdout), groups.stdout);
  assertTrue(/^bob\s+Admin$/m.test(groups.stdout), groups.stdout);
  const groupsJson = await cli.ok(["user", "groups", "-u", "bob", "--json"]);
  assertEquals(JSON.parse(groupsJson.stdout), { groups: { bob: "Admin", team: "Admin" } });

  // Without --user the first cached user (the admin) is used.
  assertEquals((await cli.ok(["auth"])).stdout.trim(), ADMIN.username);
  const again = await cli.run(["groups", "create", "team", "-u", "bob"]);
  assertEquals(again.code, 1);
  assertIncludes(again.stderr, "error: ");
  assertEquals(JSON.parse((await cli.ok(["groups", "create", "team2", "-u", "bob", "--json"])).stdout), {});
});

test("cli: admin quotas accept +N, -N, =N (also after --) and print the new value", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  await cli.ok(["login", ADMIN.username, ADMIN.password]);
  await cli.ok(["admin", "users", "create", "bob", "bob-pw"]);

  assertEquals((await cli.ok(["admin", "users", "group-quota", "bob", "+1"])).stdout, "9\n");
  assertEquals((await cli.ok(["admin", "users", "group-quota", "bob", "-1"])).stdout, "8\n");
  assertEquals((await cli.ok(["admin", "user", "group-quota", "bob", "=3"])).stdout, "3\n");
  assertEquals((await cli.ok(["admin", "users", "group-quota", "bob", "--", "-1"])).stdout, "2\n");
  const json = await cli.ok(["admin", "users", "group-quota", "bob", "5", "--json"]);
  assertEquals(JSON.parse(json.stdout), { group_quota: 5 });
  const bad = await cli.run(["admin", "users", "group-quota", "bob", "lots"]);
  assertEquals(bad.code, 1);
  assertIncludes(bad.stderr, 'error: invalid group_quota "lots"');

  const up = await cli.ok(["admin", "groups", "storage-quota", "bob", "+10GB"]);
  assertEquals(up.stdout, "26000000000 (26 GB)\n");
  const down = await cli.ok(["admin", "group", "storage-quota", "bob", "-10GB"]);
  assertEquals(down.stdout, "16000000000 (16 GB)\n");
  const storageJson = await cli.ok(["admin", "groups", "storage-quota", "bob", "=1GB", "--json"]);
  assertEquals(JSON.parse(storageJson.stdout), { storage_quota: 1_000_000_000 });
});

test("cli: group admins add, change and remove members", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  // Users created and logged in as by `mitosis admin users create` and `mitosis login` (tested above and in
  // tests/cli_login_auth.test.ts): the admin, bob and alice cached in this order.
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  await cli.remember(ADMIN.username, admin);
  await cli.remember("bob", await createUser(coord.url, admin, "bob", "bob-pw"));
  await cli.remember("alice", await createUser(coord.url, admin, "alice", "alice-pw"));
  await cli.ok(["groups", "create", "team", "-u", "bob"]);

  await cli.ok(["groups", "update-user", "team", "alice:write", "-u", "bob"]);
  const info = JSON.parse((await cli.ok(["groups", "get", "team", "--json", "-u", "bob"])).stdout);
  assertEquals(info.users_in_group, { alice: "Write", bob: "Admin" });
  const aliceView = JSON.parse((await cli.ok(["groups", "get", "team", "--json", "-u", "alice"])).stdout);
  assertEquals(aliceView.users_in_group, null);
  assertIncludes((await cli.ok(["groups", "get", "team", "-u", "alice"])).stdout, "shown to group admins only");

  const denied = await cli.run(["groups", "update-user", "team", "alice:admin", "-u", "alice"]);
  assertEquals(denied.code, 1);
  assertEquals(denied.stderr.trim(), "error: Admin role in group team required");
  const malformed = await cli.run(["groups", "update-user", "team", "alice", "-u", "bob"]);
  assertEquals(malformed.code, 1);
  assertIncludes(malformed.stderr, '"alice" is not user:role');
  const badRole = await cli.run(["groups", "update-user", "team", "alice:boss", "-u", "bob"]);
  assertEquals(badRole.code, 1);
  assertIncludes(badRole.stderr, "error: ");

  await cli.ok(["groups", "remove-user", "team", "alice", "-u", "bob"]);
  const after = JSON.parse((await cli.ok(["groups", "get", "team", "--json", "-u", "bob"])).stdout);
  assertEquals(after.users_in_group, { bob: "Admin" });
});

test("cli: admin manages user state, passwords and deletion; non-admins are refused", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  await cli.ok(["login", ADMIN.username, ADMIN.password]);
  // Prompted username and password from piped stdin.
  await cli.ok(["admin", "users", "create"], { stdin: "bob\nbob-pw\n" });
  await login(coord.url, "bob", "bob-pw");

  assertEquals((await cli.ok(["admin", "users", "state", "bob", "locked"])).stdout, "User bob is now Locked\n");
  const locked = await cli.run(["login", "bob", "bob-pw"]);
  assertEquals(locked.code, 1);
  assertEquals(locked.stderr.trim(), "error: user bob is locked");
  assertEquals(JSON.parse((await cli.ok(["admin", "users", "state", "bob", "Active", "--json"])).stdout), {
    state: "Active",
  });
  const frozen = await cli.run(["admin", "users", "state", "bob", "Frozen"]);
  assertEquals(frozen.code, 1);
  assertIncludes(frozen.stderr, '"Frozen" is not a user state');

  await cli.ok(["admin", "users", "change-password", "bob", "new-pw"]);
  assertEquals((await cli.run(["login", "bob", "bob-pw"])).code, 1);
  await cli.ok(["login", "bob", "new-pw"]);
  const refused = await cli.run(["admin", "users", "create", "eve", "eve-pw", "-u", "bob"]);
  assertEquals(refused.code, 1);
  assertEquals(refused.stderr.trim(), "error: admin privileges required");

  assertEquals((await cli.ok(["admin", "users", "delete", "bob"])).stdout, "User bob is now Deleted\n");
  const deleted = await cli.run(["login", "bob", "new-pw"]);
  assertEquals(deleted.code, 1);
  assertEquals(deleted.stderr.trim(), "error: user bob is deleted");
});

test("cli: users change-password rotates and caches the token", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  await cli.ok(["login", ADMIN.username, ADMIN.password]);
  await cli.ok(["admin", "users", "create", "bob", "bob-pw"]);
  await cli.ok(["login", "bob", "bob-pw"]);

  const wrong = await cli.run(["users", "change-password", "not-it", "new-pw", "-u", "bob"]);
  assertEquals(wrong.code, 1);
  assertEquals(wrong.stderr.trim(), "error: wrong password");

  await cli.ok(["users", "change-password", "-u", "bob"], { stdin: "bob-pw\nnew-pw\n" });
  const token = (await cli.credentials()).split("\n").find((l) => l.startsWith("bob:"))!.slice(4);
  assertEquals((await call(coord.url, "GET", "/auth", { token })).text, "bob");
  assertEquals((await cli.ok(["auth", "-u", "bob"])).stdout.trim(), "bob");
  await login(coord.url, "bob", "new-pw", true);
});

test("cli: admin shutdown checks the secret and stops the coordinator", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  await cli.ok(["login", ADMIN.username, ADMIN.password]);
  const wrong = await cli.run(["admin", "shutdown", "not-the-secret"]);
  assertEquals(wrong.code, 1);
  assertEquals(wrong.stderr.trim(), "error: wrong shutdown secret");
  const res = await cli.ok(["admin", "shutdown", coord.shutdownSecret]);
  assertIncludes(res.stdout, "shutting down");
  await coord.finished;
});

import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { cliSandbox } from "./support/cli.ts";
import { createUser, login } from "./support/http.ts";
import { registerManager } from "./support/managers_api.ts";

test("cli: managers list, get, update-tags/labels/roles, remove-roles and shutdown; `manager` alias", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice", "alice-pw");
  await cli.remember("alice", alice); // as by `mitosis login` (tests/cli_login_auth.test.ts tests that command)
  const gpu = await registerManager(coord.url, alice, { tags: ["gpu"], labels: ["rack1"], hostname: "node-1" });
  const cpu = await registerManager(coord.url, alice, { tags: ["cpu"], max_workers: 4 });

  const all = JSON.parse((await cli.ok(["managers", "list", "--json"])).stdout);
  assertEquals(all.group_name, "alice");
  assertEquals(all.managers.map((m: { manager_uuid: string }) => m.manager_uuid).sort(), [gpu.uuid, cpu.uuid].sort());
  assertEquals((await cli.ok(["manager", "list", "--count", "-t", "gpu"])).stdout, "1\n");
  assertEquals((await cli.ok(["managers", "list", "--count", "-s", "offline", "-l", "rack1"])).stdout, "1\n");
  assertEquals((await cli.ok(["managers", "list", "--count", "-s", "Idle"])).stdout, "0\n");
  const table = (await cli.ok(["managers", "list", "-g", "alice"])).stdout;
  assertTrue(/^MANAGER\s+STATE\s+HOSTNAME\s+CREATOR\s+TAGS\s+SUITE$/m.test(table), table);
  assertTrue(new RegExp(`^${gpu.uuid}\\s+Offline\\s+node-1\\s+alice\\s+gpu\\s+-$`, "m").test(table), table);
  assertIncludes(table, "2 manager(s) for group alice");
  const badState = await cli.run(["managers", "list", "-s", "sleeping"]);
  assertEquals(badState.code, 1);
  assertIncludes(badState.stderr, "is not a manager state");

  const got = JSON.parse((await cli.ok(["managers", "get", cpu.uuid, "--json"])).stdout);
  assertEquals([got.manager_uuid, got.tags, got.max_workers, got.groups], [cpu.uuid, ["cpu"], 4, { alice: "Admin" }]);
  const human = (await cli.ok(["manager", "get", gpu.uuid])).stdout;
  assertTrue(/^Manager:\s+\S+$/m.test(human) && /^Hostname:\s+node-1$/m.test(human), human);
  assertTrue(/^\s+alice\s+Admin$/m.test(human), human);

  await cli.ok(["managers", "update-tags", cpu.uuid, "cpu", "big,fast"]);
  await cli.ok(["managers", "update-labels", cpu.uuid, "rack2"]);
  await cli.ok(["groups", "create", "team"]);
  await cli.ok(["managers", "update-roles", cpu.uuid, "team:write"]);
  const changed = JSON.parse((await cli.ok(["managers", "get", cpu.uuid, "--json"])).stdout);
  assertEquals([changed.tags, changed.labels], [["cpu", "big", "fast"], ["rack2"]]);
  assertEquals(changed.groups, { alice: "Admin", team: "Write" });
  await cli.ok(["managers", "remove-roles", cpu.uuid, "team"]);
  assertEquals(JSON.parse((await cli.ok(["managers", "get", cpu.uuid, "--json"])).stdout).groups, { alice: "Admin" });

  assertEquals(
    (await cli.ok(["managers", "shutdown", gpu.uuid])).stdout,
    `Manager ${gpu.uuid}: graceful shutdown requested\n`,
  );
  assertEquals((await cli.ok(["manager", "shutdown", cpu.uuid, "--force", "--json"])).stdout, "{}\n");
  const flags = await coord.sql`SELECT uuid, shutdown_requested FROM node_managers ORDER BY id`;
  assertEquals(flags.map((r) => [r.uuid, r.shutdown_requested]), [[gpu.uuid, true], [cpu.uuid, true]]);

  const unknown = await cli.run(["managers", "get", crypto.randomUUID()]);
  assertEquals(unknown.code, 1);
  assertTrue(/^error: manager \S+ not found$/.test(unknown.stderr.trim()), unknown.stderr);
  const badUuid = await cli.run(["managers", "shutdown", "nope"]);
  assertEquals(badUuid.code, 1);
  assertIncludes(badUuid.stderr, "uuid");
});

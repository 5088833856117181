import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { type CliSandbox, cliSandbox } from "./support/cli.ts";
import { call, createUser, login } from "./support/http.ts";

/** Runs as the admin (alice is the first cached user, hence the default). */
const asAdmin = ["-u", ADMIN.username];

/** A coordinator, alice's token, and a CLI sandbox where alice (first) and the admin are logged in. */
async function setup(): Promise<{ coord: TestCoordinator; cli: CliSandbox; alice: string } & AsyncDisposable> {
  const coord = await startTestCoordinator();
  const cli = await cliSandbox(coord.url);
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  const alice = await createUser(coord.url, admin, "alice", "alice-pw");
  // Logged in as by `mitosis login` (tests/cli_login_auth.test.ts tests that command): tokens cached in this order.
  await cli.remember("alice", alice);
  await cli.remember(ADMIN.username, admin);
  return {
    coord,
    cli,
    alice,
    [Symbol.asyncDispose]: async () => {
      await cli[Symbol.asyncDispose]();
      await coord[Symbol.asyncDispose]();
    },
  };
}

/** Registers a worker with a user token (as `mitosis-worker` does); returns its uuid. */
async function registerWorker(coord: TestCoordinator, token: string, body: Record<string, unknown>): Promise<string> {
  const res = await call(coord.url, "POST", "/workers", { token, body });
  assertEquals(res.status, 200, res.text);
  return (res.body as { worker_id: string }).worker_id;
}

async function workerCount(coord: TestCoordinator): Promise<number> {
  const [row] = await coord.sql`SELECT count(*)::int AS n FROM workers`;
  return row.n;
}

test("cli: workers query and get; update-tags, update-labels, update-roles and remove-roles", async () => {
  await using env = await setup();
  const { coord, cli, alice } = env;
  const gpu = await registerWorker(coord, alice, { tags: ["gpu"], labels: ["rack1"] });
  const cpu = await registerWorker(coord, alice, { tags: ["cpu"] });

  const all = JSON.parse((await cli.ok(["workers", "query", "--json"])).stdout);
  assertEquals(all.group_name, "alice");
  assertEquals(all.workers.map((w: { worker_id: string }) => w.worker_id).sort(), [gpu, cpu].sort());
  assertEquals((await cli.ok(["worker", "query", "--count", "-t", "gpu"])).stdout, "1\n");
  assertEquals((await cli.ok(["workers", "query", "--count", "-r", "admin", "--creator", "alice"])).stdout, "2\n");
  const table = (await cli.ok(["workers", "query"])).stdout;
  assertTrue(/^WORKER\s+STATE\s+CREATOR\s+TAGS\s+TASK$/m.test(table), table);
  assertTrue(new RegExp(`^${gpu}\\s+Normal\\s+alice\\s+gpu\\s+-$`, "m").test(table), table);
  assertIncludes(table, "2 worker(s) for group alice");

  const got = JSON.parse((await cli.ok(["workers", "get", gpu, "--json"])).stdout);
  assertEquals([got.info.worker_id, got.info.tags, got.info.labels], [gpu, ["gpu"], ["rack1"]]);
  assertEquals(got.groups, { alice: "Admin" });
  const human = (await cli.ok(["workers", "get", gpu])).stdout;
  assertTrue(/^Worker:\s+\S+$/m.test(human) && /^Tags:\s+gpu$/m.test(human), human);
  assertTrue(/^\s+alice\s+Admin$/m.test(human), human);

  await cli.ok(["workers", "update-tags", gpu, "gpu", "a100,80g"]);
  await cli.ok(["workers", "update-labels", gpu, "rack2"]);
  const retagged = JSON.parse((await cli.ok(["workers", "get", gpu, "--json"])).stdout);
  assertEquals([retagged.info.tags, retagged.info.labels], [["gpu", "a100", "80g"], ["rack2"]]);

  await cli.ok(["groups", "create", "team", ...asAdmin]);
  await cli.ok(["groups", "update-user", "team", "alice:admin", ...asAdmin]);
  await cli.ok(["workers", "update-roles", gpu, "team:write"]);
  assertEquals(JSON.parse((await cli.ok(["workers", "get", gpu, "--json"])).stdout).groups, {
    alice: "Admin",
    team: "Write",
  });
  assertEquals((await cli.ok(["workers", "query", "-g", "team", "--count"])).stdout, "1\n");
  await cli.ok(["workers", "remove-roles", gpu, "team"]);
  assertEquals(JSON.parse((await cli.ok(["workers", "get", gpu, "--json"])).stdout).groups, { alice: "Admin" });

  const badRole = await cli.run(["workers", "update-roles", gpu, "team:boss"]);
  assertEquals(badRole.code, 1);
  assertIncludes(badRole.stderr, "role must be read, write or admin");
  const unknown = await cli.run(["workers", "get", crypto.randomUUID()]);
  assertEquals(unknown.code, 1);
  assertTrue(/^error: \S/.test(unknown.stderr.trim()), unknown.stderr);
});

test("cli: workers cancel, cancel-list, cancel-many and admin workers cancel", async () => {
  await using env = await setup();
  const { coord, cli, alice } = env;
  const [a, b, c, d, e] = [
    await registerWorker(coord, alice, { tags: ["x"] }),
    await registerWorker(coord, alice, { tags: ["x"] }),
    await registerWorker(coord, alice, { tags: ["y"] }),
    await registerWorker(coord, alice, { tags: ["y"] }),
    await registerWorker(coord, alice, {}),
  ];
  assertEquals(await workerCount(coord), 5);

  assertEquals((await cli.ok(["workers", "cancel", a])).stdout, `Worker ${a}: graceful shutdown requested\n`);
  assertEquals((await cli.ok(["workers", "cancel", b, "-f", "--json"])).stdout, "{}\n");
  assertEquals(await workerCount(coord), 3, "idle workers stop at once");

  const list = JSON.parse((await cli.ok(["workers", "cancel-list", `${c},${a}`, "--json"])).stdout);
  assertEquals(list, { shutdown_count: 1, failed_uuids: [a] });
  const many = await cli.ok(["workers", "cancel-many", "-t", "y", "--force"]);
  assertEquals(many.stdout, "Shutdown requested for 1 worker(s) of group alice\n");
  assertEquals(await workerCount(coord), 1);

  // Another user's worker: bob may not stop it, the admin may.
  await createUser(coord.url, await login(coord.url, ADMIN.username, ADMIN.password, true), "bob", "bob-pw");
  const denied = await cli.run(["workers", "cancel", e, "-u", "bob", "-p", "bob-pw"]);
  assertEquals(denied.code, 1);
  assertTrue(/^error: \S/.test(denied.stderr.trim()), denied.stderr);
  await cli.ok(["admin", "workers", "cancel", e, "-f", ...asAdmin]);
  assertEquals(await workerCount(coord), 0);
  const gone = await cli.run(["admin", "workers", "cancel", d, ...asAdmin]);
  assertEquals(gone.code, 1);
  assertTrue(/^error: \S/.test(gone.stderr.trim()), gone.stderr);
});

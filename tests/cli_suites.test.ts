import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { type CliSandbox, cliSandbox } from "./support/cli.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask } from "./support/workers_api.ts";
import { registerManager } from "./support/managers_api.ts";
import { startScriptedManager } from "./support/ws_manager.ts";
import type { SuiteInfo } from "../shared/wire/suites.ts";
import { sandboxEnv } from "./support/sandbox.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A coordinator and a CLI sandbox where alice (Admin of group alice) is logged in. */
async function setup(): Promise<{ coord: TestCoordinator; cli: CliSandbox; alice: string } & AsyncDisposable> {
  const coord = await startTestCoordinator();
  const cli = await cliSandbox(coord.url);
  const alice = await createUser(
    coord.url,
    await login(coord.url, ADMIN.username, ADMIN.password),
    "alice",
    "alice-pw",
  );
  await cli.remember("alice", alice); // as by `mitosis login` (tests/cli_login_auth.test.ts tests that command)
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

async function suiteOf(coord: TestCoordinator, token: string, uuid: string): Promise<SuiteInfo> {
  const res = await call(coord.url, "GET", `/suites/${uuid}`, { token });
  assertEquals(res.status, 200, res.text);
  return res.body as SuiteInfo;
}

/** Submits `n` tasks into the suite through the REST API; returns their uuids. */
async function submit(coord: TestCoordinator, token: string, suite: string, n: number): Promise<string[]> {
  const uuids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await call(coord.url, "POST", "/tasks", { token, body: noopTask("alice", { suite_uuid: suite }) });
    assertEquals(res.status, 200, res.text);
    uuids.push((res.body as { uuid: string }).uuid);
  }
  return uuids;
}

/**
 * Starts `mitosis <args>` in the sandbox with stderr readable while it runs
 * (`CliSandbox.run` only returns once the process exited).
 */
function spawnCli(cli: CliSandbox, url: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", new URL("../mod.ts", import.meta.url).pathname, ...args],
    env: sandboxEnv(cli.dir, { MITOSIS_COORDINATOR_ADDR: url }),
    clearEnv: true,
    cwd: cli.dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let stderr = "";
  const stderrDone = (async () => {
    for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const stdoutText = new Response(child.stdout).text();
  return {
    stderr: () => stderr,
    async done() {
      const [status, stdout] = await Promise.all([child.status, stdoutText, stderrDone]);
      return { code: status.code, stdout, stderr };
    },
  };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("cli: suites create from flags prints the uuid and stores every field", async () => {
  await using env = await setup();
  const { coord, cli, alice } = env;
  const out = await cli.ok([
    "suites",
    "create",
    "--name",
    "train",
    "--description",
    "a run",
    "-t",
    "gpu,a100",
    "-l",
    "exp1",
    "-p",
    "5", // priority, not the global --password
    "--workers",
    "4",
    "--prefetch",
    "8",
    "--cpus",
    "0,1,2,3",
    "--cpu-strategy",
    "Exclusive",
    "--gpus",
    "0,1",
    "--gpus-per-worker",
    "2",
    "--prep",
    `sh -c "echo 'prep done'"`,
    "--prep-timeout",
    "5m",
    "--cleanup",
    "rm -rf /tmp/x",
  ]);
  const uuid = out.stdout.trim();
  assertTrue(UUID.test(uuid), out.stdout);
  const suite = await suiteOf(coord, alice, uuid);
  assertEquals(
    [suite.name, suite.description, suite.group_name, suite.tags, suite.labels, suite.priority, suite.state_name],
    ["train", "a run", "alice", ["gpu", "a100"], ["exp1"], 5, "Open"],
  );
  assertEquals(suite.worker_schedule, {
    worker_count: 4,
    task_prefetch_count: 8,
    cpu_binding: { cores: [0, 1, 2, 3], strategy: "Exclusive" },
    gpu_binding: { gpus: ["0", "1"], per_worker: 2 },
  });
  assertEquals(suite.env_preparation, {
    args: ["sh", "-c", "echo 'prep done'"],
    envs: {},
    resources: [],
    timeout: "5m",
  });
  assertEquals(suite.env_cleanup, { args: ["rm", "-rf", "/tmp/x"], envs: {}, resources: [], timeout: "10m" });

  // The coordinator's validation message is printed, with a non-zero exit.
  const bad = await cli.run(["suites", "create", "--workers", "1", "--cpus", "0", "--cpu-strategy", "Greedy"]);
  assertEquals(bad.code, 1);
  assertIncludes(bad.stderr, "cpu_binding.strategy");
  const tooMany = await cli.run(["suites", "create", "--workers", "257"]);
  assertEquals(tooMany.code, 1);
  assertIncludes(tooMany.stderr, "worker_count");
  const noWorkers = await cli.run(["suites", "create", "--name", "x"]);
  assertEquals(noWorkers.code, 1);
  assertIncludes(noWorkers.stderr, "--workers");
});

test("cli: suite create -f suite.toml (singular alias), flags override the file; JSON files too", async () => {
  await using env = await setup();
  const { coord, cli, alice } = env;
  await Deno.writeTextFile(
    `${cli.dir}/suite.toml`,
    `name = "from toml"
tags = ["cpu"]
priority = 2

[worker_schedule]
worker_count = 3
cpu_binding = { cores = [0, 1], strategy = "Shared" }

[env_preparation]
args = ["sh", "-c", "echo hi"]
timeout = "1m"

[env_preparation.envs]
MODE = "fast"
`,
  );
  const out = await cli.ok(["suite", "create", "-f", "suite.toml", "-p", "9"]);
  const uuid = out.stdout.trim();
  const suite = await suiteOf(coord, alice, uuid);
  assertEquals([suite.name, suite.tags, suite.priority], ["from toml", ["cpu"], 9]);
  assertEquals(suite.worker_schedule, {
    worker_count: 3,
    task_prefetch_count: 16,
    cpu_binding: { cores: [0, 1], strategy: "Shared" },
  });
  assertEquals(suite.env_preparation, {
    args: ["sh", "-c", "echo hi"],
    envs: { MODE: "fast" },
    resources: [],
    timeout: "1m",
  });

  await Deno.writeTextFile(
    `${cli.dir}/suite.json`,
    JSON.stringify({ worker_schedule: { worker_count: 1 }, labels: ["j"] }),
  );
  const json = await cli.ok(["--json", "suites", "create", "-f", "suite.json"]);
  const created = JSON.parse(json.stdout) as { uuid: string };
  assertEquals((await suiteOf(coord, alice, created.uuid)).labels, ["j"]);

  await Deno.writeTextFile(`${cli.dir}/broken.toml`, "name = ");
  const broken = await cli.run(["suites", "create", "-f", "broken.toml"]);
  assertEquals(broken.code, 1);
  assertIncludes(broken.stderr, "not valid TOML");
  const missing = await cli.run(["suites", "create", "-f", "nope.json"]);
  assertEquals(missing.code, 1);
  assertIncludes(missing.stderr, "cannot read nope.json");
});

test("cli: suites get and list (tables and --json), close, cancel, managers", async () => {
  await using env = await setup();
  const { coord, cli, alice } = env;
  const a = (await cli.ok(["suites", "create", "--workers", "1", "--name", "first", "-t", "gpu"])).stdout.trim();
  const b = (await cli.ok(["suites", "create", "--workers", "2", "--name", "second"])).stdout.trim();
  await submit(coord, alice, a, 3);

  const got = await cli.ok(["suites", "get", a]);
  assertIncludes(got.stdout, a);
  assertIncludes(got.stdout, "first");
  assertIncludes(got.stdout, "0/3 done, 3 pending");
  const gotJson = JSON.parse((await cli.ok(["--json", "suites", "get", a])).stdout) as SuiteInfo;
  assertEquals([gotJson.uuid, gotJson.total_tasks, gotJson.pending_tasks, gotJson.state], [a, 3, 3, 0]);

  const table = await cli.ok(["suites", "list"]);
  assertIncludes(table.stdout, "SUITE");
  assertIncludes(table.stdout, a);
  assertIncludes(table.stdout, b);
  const listed = JSON.parse((await cli.ok(["--json", "suites", "list", "-t", "gpu"])).stdout) as {
    count: number;
    suites: SuiteInfo[];
  };
  assertEquals(listed.suites.map((s) => s.uuid), [a]);
  assertEquals((await cli.ok(["suites", "list", "--count"])).stdout.trim(), "2");
  assertEquals(
    (JSON.parse((await cli.ok(["--json", "suites", "list", "--limit", "1", "--offset", "1"])).stdout) as {
      suites: SuiteInfo[];
    }).suites.map((s) => s.uuid),
    [b],
  );

  const closed = await cli.ok(["suites", "close", b]);
  assertIncludes(closed.stdout, "Closed");
  const closedList = JSON.parse((await cli.ok(["--json", "suites", "list", "-s", "closed"])).stdout) as {
    suites: SuiteInfo[];
  };
  assertEquals(closedList.suites.map((s) => s.uuid), [b]);
  const again = await cli.run(["suites", "close", b]);
  assertEquals(again.code, 1);
  assertIncludes(again.stderr, "only an Open suite can be closed");

  const cancelled = await cli.ok(["suites", "cancel", a, "--reason", "enough", "--force"]);
  assertIncludes(cancelled.stdout, "3 waiting task(s) cancelled");
  assertEquals((await suiteOf(coord, alice, a)).state_name, "Cancelled");
  const cancelJson = JSON.parse((await cli.ok(["--json", "suites", "cancel", a])).stdout);
  assertEquals(cancelJson, { cancelled_tasks: 0, running_tasks: 0 });

  // Managers of a suite.
  const manager = await registerManager(coord.url, alice, { tags: ["cpu"] });
  const refreshed = JSON.parse((await cli.ok(["--json", "suites", "managers", "refresh", b])).stdout);
  assertEquals(refreshed, { matched: [manager.uuid] });
  const unknown = crypto.randomUUID();
  const added = await cli.run(["suite", "manager", "add", b, manager.uuid, unknown]);
  assertEquals(added.code, 1, added.stderr);
  assertIncludes(added.stdout, "Added 1 manager(s)");
  assertIncludes(added.stdout, `${unknown}: unknown manager`);
  const shown = await cli.ok(["suites", "get", b]);
  assertIncludes(shown.stdout, "UserSpecified");
  const removed = JSON.parse((await cli.ok(["--json", "suites", "managers", "remove", b, manager.uuid])).stdout);
  assertEquals(removed, { removed: [manager.uuid] });

  const missing = await cli.run(["suites", "get", crypto.randomUUID()]);
  assertEquals(missing.code, 1);
  assertIncludes(missing.stderr, "not found");
});

test("cli: suites watch shows progress and exits 0 once the suite is Complete, 1 once Cancelled", async () => {
  await using env = await setup();
  const { coord, cli, alice } = env;
  await using manager = await startScriptedManager(coord.url, alice, { groups: ["alice"] });
  const uuid = (await cli.ok(["suites", "create", "--workers", "1"])).stdout.trim();
  await submit(coord, alice, uuid, 3);
  assertEquals((await manager.nextPush("SuiteAssigned")).suite_uuid, uuid);
  const watch = spawnCli(cli, coord.url, ["suites", "watch", uuid, "--interval", "100ms"]);
  await waitFor("the first progress line", () => watch.stderr().includes("0/3 tasks done"));
  // The manager runs the suite's tasks while watch runs.
  for (const task of (await manager.fetch(3)).tasks) {
    await manager.commit(task);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const done = await watch.done();
  assertEquals(done.code, 0, done.stderr);
  assertIncludes(done.stderr, "3/3 tasks done, 0 pending | Complete");
  assertIncludes(done.stdout, `Suite ${uuid} is Complete`);

  const other = (await cli.ok(["suites", "create", "--workers", "1"])).stdout.trim();
  await submit(coord, alice, other, 1);
  const watchCancel = spawnCli(cli, coord.url, ["--json", "suites", "watch", other, "--interval", "100ms"]);
  await waitFor("the first progress line", () => watchCancel.stderr().includes("0/1 tasks done"));
  assertEquals((await call(coord.url, "POST", `/suites/${other}/cancel`, { token: alice })).status, 200);
  const cancelled = await watchCancel.done();
  assertEquals(cancelled.code, 1);
  assertIncludes(cancelled.stderr, `suite ${other} was cancelled`);
  assertEquals((JSON.parse(cancelled.stdout) as SuiteInfo).state_name, "Cancelled");

  const badInterval = await cli.run(["suites", "watch", uuid, "--interval", "soon"]);
  assertEquals(badInterval.code, 1);
  assertIncludes(badInterval.stderr, "--interval");
});

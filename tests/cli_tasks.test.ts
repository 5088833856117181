import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { type CliSandbox, cliSandbox } from "./support/cli.ts";
import { createUser, login } from "./support/http.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A coordinator and a CLI sandbox where alice (Admin of group alice) is logged in. */
async function setup(): Promise<{ coord: TestCoordinator; cli: CliSandbox } & AsyncDisposable> {
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
    [Symbol.asyncDispose]: async () => {
      await cli[Symbol.asyncDispose]();
      await coord[Symbol.asyncDispose]();
    },
  };
}

/** The stored row of a task (active or archived) with its group's name. */
async function taskRow(coord: TestCoordinator, uuid: string) {
  const rows = await coord.sql`
    SELECT g.group_name, t.tags, t.labels, t.timeout, t.priority, t.spec, t.state
    FROM (
      SELECT uuid, group_id, tags, labels, timeout, priority, spec, state FROM active_tasks
      UNION ALL SELECT uuid, group_id, tags, labels, timeout, priority, spec, state FROM archived_tasks
    ) AS t
    JOIN groups g ON g.id = t.group_id
    WHERE t.uuid = ${uuid}`;
  assertEquals(rows.length, 1, `task ${uuid} stored once`);
  return rows[0];
}

/** Submits `echo <name>` as alice with the given extra options; returns the uuid. */
async function submit(cli: CliSandbox, name: string, ...options: string[]): Promise<string> {
  const out = await cli.ok(["tasks", "submit", "-u", "alice", ...options, "--", "echo", name]);
  const uuid = out.stdout.trim();
  assertTrue(UUID.test(uuid), `submit printed a uuid: ${out.stdout}`);
  return uuid;
}

test("cli: tasks submit prints the uuid; the task is stored with its group, tags, labels, timeout, priority and spec", async () => {
  await using env = await setup();
  const { coord, cli } = env;
  const upstream = crypto.randomUUID();
  const out = await cli.ok([
    "task", // singular alias
    "submit",
    "-u",
    "alice",
    "-t",
    "gpu,a100",
    "-l",
    "exp1",
    "-l",
    "run2",
    "--timeout",
    "30m",
    "-p",
    "5", // priority, not the global --password
    "-e",
    "A=1,B=x=y",
    "--terminal",
    "-r",
    "attachment=data/in.bin:in.bin",
    "-r",
    `artifact=${upstream}:exec:prev.tar.gz`,
    "--watch",
    `${upstream},execspawned`,
    "--",
    "python",
    "train.py",
    "--lr",
    "0.1",
  ]);
  const uuid = out.stdout.trim();
  assertTrue(UUID.test(uuid), out.stdout);
  assertEquals(out.stderr, "");

  const row = await taskRow(coord, uuid);
  assertEquals(row.group_name, "alice", "group defaults to the user's own");
  assertEquals(row.tags, ["gpu", "a100"]);
  assertEquals(row.labels, ["exp1", "run2"]);
  assertEquals(Number(row.timeout), 1800);
  assertEquals(row.priority, 5);
  assertEquals(row.state, 1, "Ready");
  assertEquals(row.spec, {
    args: ["python", "train.py", "--lr", "0.1"],
    envs: { A: "1", B: "x=y" },
    resources: [
      { remote_file: { Attachment: { key: "data/in.bin" } }, local_path: "in.bin" },
      { remote_file: { Artifact: { uuid: upstream, content_type: "exec-log" } }, local_path: "prev.tar.gz" },
    ],
    terminal_output: true,
    watch: [upstream, "ExecSpawned"],
  });

  // Defaults: 10m, priority 0, no tags; --json prints {task_id, uuid}.
  const json = JSON.parse((await cli.ok(["tasks", "submit", "--json", "-u", "alice", "--", "true"])).stdout);
  assertEquals(json.task_id, 2, "per-group sequence");
  assertTrue(UUID.test(json.uuid));
  const plain = await taskRow(coord, json.uuid);
  assertEquals([Number(plain.timeout), plain.priority, plain.tags, plain.labels], [600, 0, [], []]);
  assertEquals(plain.spec, { args: ["true"], envs: {}, resources: [], terminal_output: false, watch: null });

  // An explicit group needs Write on it.
  await cli.ok(["groups", "create", "team", "-u", ADMIN.username, "-p", ADMIN.password]); // the admin's group
  const denied = await cli.run(["tasks", "submit", "-g", "team", "-u", "alice", "--", "true"]);
  assertEquals(denied.code, 1);
  assertTrue(/^error: .+/.test(denied.stderr.trim()), denied.stderr);
  const team = await cli.ok(["tasks", "submit", "-g", "team", "-u", ADMIN.username, "--", "true"]);
  assertEquals((await taskRow(coord, team.stdout.trim())).group_name, "team");
});

test("cli: tasks submit rejects bad arguments locally and bad values with the server's msg", async () => {
  await using env = await setup();
  const { cli } = env;
  const cases: [string[], string][] = [
    [["tasks", "submit", "-u", "alice"], "error: no command given"],
    [["tasks", "submit", "-u", "alice", "-e", "NOVALUE", "--", "true"], 'invalid KEY=value: no "=" after a key'],
    [
      ["tasks", "submit", "-u", "alice", "-r", "artifact=x:result", "--", "true"],
      "artifact=<uuid>:<type>:<local path>",
    ],
    [["tasks", "submit", "-u", "alice", "-r", "file=x", "--", "true"], "starts with artifact= or attachment="],
    [["tasks", "submit", "-u", "alice", "--watch", "abc", "--", "true"], "--watch takes <uuid>,<state>"],
    [["tasks", "submit", "-u", "alice", "-p", "high", "--", "true"], '"high" is not an integer'],
  ];
  for (const [args, message] of cases) {
    const result = await cli.run(args);
    assertTrue(result.code !== 0, `${args.join(" ")} should fail`);
    assertIncludes(result.stderr, message);
  }
  const timeout = await cli.run(["tasks", "submit", "-u", "alice", "--timeout", "soon", "--", "true"]);
  assertEquals(timeout.code, 1);
  assertTrue(/^error: .*timeout/.test(timeout.stderr.trim()), timeout.stderr);
  const path = await cli.run(["tasks", "submit", "-u", "alice", "-r", "attachment=k:../x", "--", "true"]);
  assertEquals(path.code, 1);
  assertIncludes(path.stderr, "error: ");
});

test("cli: tasks get, query, update-labels and change", async () => {
  await using env = await setup();
  const { coord, cli } = env;
  const a = await submit(cli, "a", "-l", "batch", "-t", "cpu", "-p", "1");
  const b = await submit(cli, "b", "-l", "batch,second", "-p", "3");
  const c = await submit(cli, "c");

  const got = JSON.parse((await cli.ok(["tasks", "get", a, "--json"])).stdout);
  assertEquals(got.info.uuid, a);
  assertEquals(got.info.state, "Ready");
  assertEquals(got.info.spec.args, ["echo", "a"]);
  assertEquals(got.artifacts, []);
  const human = (await cli.ok(["tasks", "get", a])).stdout;
  assertTrue(/^UUID:\s+/m.test(human) && human.includes(a), human);
  assertTrue(/^State:\s+Ready$/m.test(human), human);
  assertTrue(/^Command:\s+echo a$/m.test(human), human);
  assertTrue(/^Timeout:\s+10m$/m.test(human), human);
  assertIncludes(human, "Artifacts: (none)");

  const batch = JSON.parse((await cli.ok(["tasks", "query", "-l", "batch", "--json"])).stdout);
  assertEquals(batch.tasks.map((t: { uuid: string }) => t.uuid).sort(), [a, b].sort());
  assertEquals(batch.group_name, "alice");
  assertEquals((await cli.ok(["tasks", "query", "--count"])).stdout, "3\n");
  assertEquals((await cli.ok(["tasks", "query", "--count", "-p", ">= 2"])).stdout, "1\n");
  assertEquals((await cli.ok(["tasks", "query", "--count", "-t", "cpu", "-s", "ready"])).stdout, "1\n");
  assertEquals((await cli.ok(["tasks", "query", "--count", "-c", "alice", "-l", "batch", "second"])).stdout, "1\n");
  const page = JSON.parse((await cli.ok(["tasks", "query", "--limit", "1", "--offset", "1", "--json"])).stdout);
  assertEquals(page.tasks.length, 1);
  const table = (await cli.ok(["tasks", "query"])).stdout;
  assertTrue(/^UUID\s+ID\s+STATE\s+PRIORITY\s+TAGS\s+RESULT\s+COMMAND$/m.test(table), table);
  for (const uuid of [a, b, c]) assertIncludes(table, uuid);
  assertIncludes(table, "3 task(s) in group alice");
  const verbose = (await cli.ok(["tasks", "query", "-v", "-l", "second"])).stdout;
  assertTrue(/^Command:\s+echo b$/m.test(verbose), verbose);

  await cli.ok(["tasks", "update-labels", a, "x", "y,z"]);
  assertEquals((await taskRow(coord, a)).labels, ["x", "y", "z"]);
  await cli.ok(["tasks", "update-labels", a]);
  assertEquals((await taskRow(coord, a)).labels, []);

  const changed = await cli.ok([
    "tasks",
    "change",
    b,
    "--timeout",
    "1h",
    "-p",
    "9",
    "-t",
    "gpu",
    "-e",
    "K=V",
    "--",
    "echo",
    "changed",
  ]);
  assertIncludes(changed.stdout, `Task ${b} changed`);
  const row = await taskRow(coord, b);
  assertEquals([Number(row.timeout), row.priority, row.tags], [3600, 9, ["gpu"]]);
  assertEquals(row.spec.args, ["echo", "changed"]);
  assertEquals(row.spec.envs, { K: "V" });
  await cli.ok(["tasks", "change", b, "-p", "-2"]);
  assertEquals((await taskRow(coord, b)).priority, -2);
  assertEquals((await taskRow(coord, b)).spec.args, ["echo", "changed"], "spec kept without a command");

  const nothing = await cli.run(["tasks", "change", b]);
  assertEquals(nothing.code, 1);
  assertIncludes(nothing.stderr, "error: nothing to change");
  const specless = await cli.run(["tasks", "change", b, "--terminal"]);
  assertEquals(specless.code, 1);
  assertIncludes(specless.stderr, "give the command too");
});

test("cli: tasks cancel, cancel-many and cancel-list", async () => {
  await using env = await setup();
  const { coord, cli } = env;
  const a = await submit(cli, "a");
  const b = await submit(cli, "b", "-l", "sweep");
  const c = await submit(cli, "c", "-l", "sweep");
  const d = await submit(cli, "d");

  assertEquals((await cli.ok(["tasks", "cancel", a])).stdout, `Task ${a} cancelled\n`);
  assertEquals((await taskRow(coord, a)).state, 4, "Cancelled");
  const again = await cli.run(["tasks", "cancel", a]);
  assertEquals(again.code, 1);
  assertTrue(/^error: \S/.test(again.stderr.trim()), again.stderr);

  const many = JSON.parse((await cli.ok(["tasks", "cancel-many", "-l", "sweep", "--json"])).stdout);
  assertEquals(many, { cancelled_count: 2, group_name: "alice" });
  assertEquals([(await taskRow(coord, b)).state, (await taskRow(coord, c)).state], [4, 4]);

  const list = await cli.ok(["tasks", "cancel-list", `${d},${a}`]);
  assertIncludes(list.stdout, "Cancelled 1 of 2 task(s)");
  assertIncludes(list.stdout, `Not cancelled:\n  ${a}`);
  assertEquals((await taskRow(coord, d)).state, 4);
  assertEquals(JSON.parse((await cli.ok(["tasks", "query", "-s", "cancelled", "--count", "--json"])).stdout).count, 4);
});

test("cli: tasks submit-many prints one line per task and exits 1 when any failed", async () => {
  await using env = await setup();
  const { coord, cli } = env;
  const file = `${cli.dir}/tasks.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify([
      { task_spec: { args: ["echo", "one"] }, tags: ["t"] },
      { group_name: "nobody-has-this", task_spec: { args: ["echo", "two"] } },
      { group_name: "alice", timeout: "5m", priority: 2, task_spec: { args: ["echo", "three"] } },
    ]),
  );
  const mixed = await cli.run(["tasks", "submit-many", "-f", file, "-u", "alice"]);
  assertEquals(mixed.code, 1);
  const lines = mixed.stdout.trim().split("\n");
  assertEquals(lines.length, 3, mixed.stdout);
  assertTrue(/^0: [0-9a-f-]{36}$/.test(lines[0]), lines[0]);
  assertTrue(/^1: error: \S/.test(lines[1]), lines[1]);
  assertTrue(/^2: [0-9a-f-]{36}$/.test(lines[2]), lines[2]);
  assertEquals(mixed.stderr.trim(), "error: 1 of 3 tasks were not submitted");
  const third = await taskRow(coord, lines[2].slice(3));
  assertEquals([third.group_name, Number(third.timeout), third.priority], ["alice", 300, 2]);
  assertEquals((await taskRow(coord, lines[0].slice(3))).group_name, "alice", "missing group means the user's own");

  await Deno.writeTextFile(file, JSON.stringify([{ task_spec: { args: ["true"] } }]));
  const json = JSON.parse((await cli.ok(["tasks", "submit-many", "-f", file, "--json", "-u", "alice"])).stdout);
  assertEquals(json.results.length, 1);
  assertTrue(UUID.test(json.results[0].Ok.uuid));

  await Deno.writeTextFile(file, "{}");
  const notArray = await cli.run(["tasks", "submit-many", "-f", file, "-u", "alice"]);
  assertEquals(notArray.code, 1);
  assertIncludes(notArray.stderr, "must hold a non-empty JSON array");
});

test("cli: unknown tasks and malformed uuids exit 1 with the server's msg", async () => {
  await using env = await setup();
  const { cli } = env;
  const missing = crypto.randomUUID();
  for (const args of [["tasks", "get", missing], ["tasks", "cancel", missing], ["tasks", "get", "not-a-uuid"]]) {
    const result = await cli.run([...args, "-u", "alice"]);
    assertEquals(result.code, 1, args.join(" "));
    assertTrue(/^error: \S.*$/.test(result.stderr.trim()), result.stderr);
    assertEquals(result.stdout, "");
  }
  const json = await cli.run(["tasks", "get", missing, "--json", "-u", "alice"]);
  assertEquals(json.code, 1);
  assertEquals(json.stdout, "");
});

/**
 * A real coordinator and real `worker/main.ts` processes: tasks submitted
 * through `POST /tasks` are run, their artifacts land in the blob store and
 * their results are archived; the worker stops cleanly on SIGTERM and exits
 * when the coordinator removes it.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { livingProcesses, tarballFiles, uniqueSleep } from "./support/exec.ts";
import { spawnWorker } from "./support/worker.ts";
import { sandboxEnv } from "./support/sandbox.ts";
import { test } from "./support/test.ts";
import type { TaskQueryResp } from "../shared/wire/tasks.ts";

/** A coordinator with user `alice` and her token. */
async function setup(): Promise<{ coord: TestCoordinator; token: string }> {
  const coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const token = await createUser(coord.url, admin, "alice", "alice-pw");
  return { coord, token };
}

/** Submits a task to alice's group; returns its uuid. */
async function submit(
  url: string,
  token: string,
  args: string[],
  extra: { timeout?: string; terminal_output?: boolean; tags?: string[] } = {},
): Promise<string> {
  const res = await call(url, "POST", "/tasks", {
    token,
    body: {
      group_name: "alice",
      timeout: extra.timeout ?? "1m",
      tags: extra.tags ?? [],
      task_spec: { args, terminal_output: extra.terminal_output ?? false },
    },
  });
  assertEquals(res.status, 200, res.text);
  return (res.body as { uuid: string }).uuid;
}

/** `GET /tasks/{uuid}`. */
async function getTask(url: string, token: string, uuid: string): Promise<TaskQueryResp> {
  const res = await call(url, "GET", `/tasks/${uuid}`, { token });
  assertEquals(res.status, 200, res.text);
  return res.body as TaskQueryResp;
}

/** Polls until the task is archived (its result is set). */
async function waitArchived(url: string, token: string, uuid: string, timeoutMs = 60_000): Promise<TaskQueryResp> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await getTask(url, token, uuid);
    if (task.info.result !== null) return task;
    if (Date.now() > deadline) throw new Error(`task ${uuid} not archived in time: ${JSON.stringify(task.info)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Polls `check` until it is true or `timeoutMs` passed. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Downloads an artifact through its presigned URL and lists the tarball's files. */
async function artifactFiles(url: string, token: string, uuid: string, contentType: string) {
  const res = await call(url, "GET", `/tasks/${uuid}/download/artifacts/${contentType}`, { token });
  assertEquals(res.status, 200, res.text);
  const { url: blobUrl, size } = res.body as { url: string; size: number };
  const download = await fetch(blobUrl);
  assertEquals(download.status, 200);
  const bytes = new Uint8Array(await download.arrayBuffer());
  assertEquals(bytes.length, size);
  return await tarballFiles(bytes);
}

async function workerRowCount(coord: TestCoordinator, uuid: string): Promise<number> {
  const [row] = await coord.sql`SELECT count(*)::int AS n FROM workers WHERE worker_id = ${uuid}`;
  return row.n as number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

test("a worker runs a submitted task and uploads its std-log and result artifacts", async () => {
  const { coord, token } = await setup();
  await using _coord = coord;
  await using worker = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  assertIncludes(worker.stdout(), `registered with ${coord.url}`);
  const script = 'echo hello from the task; echo warning >&2; echo 42 > "$MITO_RESULT_DIR/answer.txt"';
  const uuid = await submit(coord.url, token, ["sh", "-c", script], { terminal_output: true });
  const task = await waitArchived(coord.url, token, uuid);
  assertEquals(task.info.state, "Finished");
  assertEquals(task.info.result, { exit_status: 0, msg: null });
  assertEquals(task.info.reporter_uuid, worker.uuid);
  assertEquals(task.artifacts.map((a) => a.content_type).sort(), ["result", "std-log"]);
  assertEquals(
    await artifactFiles(coord.url, token, uuid, "std-log"),
    new Map([["std-log/stdout.log", "hello from the task\n"], ["std-log/stderr.log", "warning\n"]]),
  );
  assertEquals(await artifactFiles(coord.url, token, uuid, "result"), new Map([["result/answer.txt", "42\n"]]));
  assertIncludes(worker.stderr(), '"msg":"task process spawned"');
  assertIncludes(worker.stderr(), `"task_uuid":"${uuid}"`);
});

test("a worker registered with tags and labels runs a matching task exiting 3, archived as 768", async () => {
  const { coord, token } = await setup();
  await using _coord = coord;
  await using worker = await spawnWorker(coord.url, {
    user: "alice",
    password: "alice-pw",
    args: ["--tags", "gpu,big", "--labels", "rack1", "--lifetime", "2h"],
  });
  const [row] = await coord.sql`SELECT tags, labels FROM workers WHERE worker_id = ${worker.uuid}`;
  assertEquals({ tags: [...row.tags].sort(), labels: row.labels }, { tags: ["big", "gpu"], labels: ["rack1"] });
  const uuid = await submit(coord.url, token, ["sh", "-c", "exit 3"], { tags: ["gpu"] });
  const task = await waitArchived(coord.url, token, uuid);
  assertEquals(task.info.state, "Finished");
  assertEquals(task.info.result, { exit_status: 768, msg: null });
});

test("a task over its timeout is archived Cancelled with ExecTimeout and leaves no process", async () => {
  const { coord, token } = await setup();
  await using _coord = coord;
  await using _worker = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const duration = uniqueSleep(30);
  const uuid = await submit(coord.url, token, ["sleep", duration], { timeout: "1s" });
  const task = await waitArchived(coord.url, token, uuid, 30_000);
  assertEquals(task.info.state, "Cancelled");
  assertEquals(task.info.result, { exit_status: 15, msg: "ExecTimeout" });
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
});

test("a task's new_task.json becomes a downstream task that reads the upstream result artifact", async () => {
  const { coord, token } = await setup();
  await using _coord = coord;
  await using _worker = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const PLACEHOLDER = "00000000-0000-4000-8000-00000000beef";
  // The downstream task unpacks the upstream's result artifact (a resource) and prints it with its upstream uuid.
  const downstream = (upstream: string) => ({
    group_name: "alice",
    task_spec: {
      args: ["sh", "-c", 'tar -xzOf "$MITO_RESOURCE_DIR/up.tar.gz" result/value.txt; echo "$MITO_UPSTREAM_TASK_UUID"'],
      terminal_output: true,
      resources: [{ remote_file: { Artifact: { uuid: upstream, content_type: "result" } }, local_path: "up.tar.gz" }],
    },
  });
  const script = 'echo from-upstream > "$MITO_RESULT_DIR/value.txt"; ' +
    `printf '%s' "$(printf '%s' '${
      JSON.stringify(downstream(PLACEHOLDER))
    }' | sed "s/${PLACEHOLDER}/$MITO_TASK_UUID/g")" ` +
    '> "$MITO_NEW_TASK"';
  const upstream = await submit(coord.url, token, ["sh", "-c", script]);
  const first = await waitArchived(coord.url, token, upstream);
  assertEquals(first.info.result, { exit_status: 0, msg: null });
  const second = first.info.downstream_task_uuid;
  assertTrue(second !== null, "a downstream task was created");
  const task = await waitArchived(coord.url, token, second);
  assertEquals(task.info.result, { exit_status: 0, msg: null });
  assertEquals(task.info.upstream_task_uuid, upstream);
  const stdout = (await artifactFiles(coord.url, token, second, "std-log")).get("std-log/stdout.log");
  assertEquals(stdout, `from-upstream\n${upstream}\n`);
});

test("a task watching another starts only once that one is committed", async () => {
  const { coord, token } = await setup();
  await using _coord = coord;
  const marker = `${coord.dataDir}/watched-task-done`;
  await using _first = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const watched = await submit(coord.url, token, ["sh", "-c", `sleep 2; touch ${marker}`]);
  await eventually(async () => (await getTask(coord.url, token, watched)).info.state === "Running", 30_000, "start");
  await using _second = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const res = await call(coord.url, "POST", "/tasks", {
    token,
    body: { group_name: "alice", task_spec: { args: ["test", "-f", marker], watch: [watched, "TaskCommitted"] } },
  });
  assertEquals(res.status, 200, res.text);
  const watcher = (res.body as { uuid: string }).uuid;
  const task = await waitArchived(coord.url, token, watcher, 60_000);
  assertEquals(task.info.result, { exit_status: 0, msg: null }, "the watcher ran after the watched task finished");
});

test("SIGTERM stops the worker: its task is killed and requeued, it unregisters and exits 0", async () => {
  const { coord, token } = await setup();
  await using _coord = coord;
  await using worker = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const duration = uniqueSleep(30);
  const uuid = await submit(coord.url, token, ["sleep", duration]);
  await eventually(async () => (await livingProcesses(`sleep ${duration}`)).length > 0, 30_000, "the task to start");
  assertEquals((await getTask(coord.url, token, uuid)).info.state, "Running");
  assertTrue(await exists(worker.cacheDir), "the worker's cache dir exists while it runs");

  worker.kill("SIGTERM");
  assertEquals(await worker.waitExit(20_000), 0, worker.stderr());
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
  assertEquals(await workerRowCount(coord, worker.uuid), 0);
  const task = await getTask(coord.url, token, uuid);
  assertEquals(task.info.state, "Ready");
  assertEquals(task.info.result, null);
  assertEquals(await exists(worker.cacheDir), false);
  assertIncludes(worker.stderr(), '"msg":"worker unregistered"');
});

test("a worker removed by the coordinator (401) kills its task and exits", async () => {
  const { coord, token } = await setup();
  await using _coord = coord;
  await using worker = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const duration = uniqueSleep(30);
  await submit(coord.url, token, ["sleep", duration]);
  await eventually(async () => (await livingProcesses(`sleep ${duration}`)).length > 0, 30_000, "the task to start");

  await coord.sql`DELETE FROM workers WHERE worker_id = ${worker.uuid}`;
  assertEquals(await worker.waitExit(20_000), 0, worker.stderr());
  assertIncludes(worker.stderr(), "worker removed by coordinator");
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
  assertEquals(await exists(worker.cacheDir), false);
});

test("a worker with no password and no terminal fails with a clear message", async () => {
  const { coord } = await setup();
  await using _coord = coord;
  const home = await Deno.makeTempDir({ prefix: "mitosis-test-worker-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("../worker/main.ts", import.meta.url).pathname,
        "-c",
        coord.url,
        "-u",
        "alice",
      ],
      env: sandboxEnv(home),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, stderr);
    assertIncludes(stderr, "stdin is not a terminal");
    assertIncludes(stderr, "--password");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

test("a worker killed with SIGKILL mid-task: after the heartbeat timeout its task runs on another worker", async () => {
  const coord = await startTestCoordinator({ heartbeat_timeout: 2000 });
  await using _coord = coord;
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const token = await createUser(coord.url, admin, "alice", "alice-pw");
  // The task sleeps on its first run only: once the flag exists (created when its worker is gone), it ends at once.
  const duration = uniqueSleep(30);
  const flag = `${coord.dataDir}/rescue`;
  const uuid = await submit(coord.url, token, ["sh", "-c", `[ -e ${flag} ] || sleep ${duration}`]);
  const doomed = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  await eventually(async () => (await livingProcesses(`sleep ${duration}`)).length > 0, 30_000, "the task to start");
  doomed.kill("SIGKILL");
  await doomed.waitExit(10_000);
  await doomed[Symbol.asyncDispose]();
  // The task's process group dies with its worker (tests/task_process_lifetime.test.ts).
  await eventually(async () => (await livingProcesses(`sleep ${duration}`)).length === 0, 2_000, "the task to die");
  await eventually(async () => (await workerRowCount(coord, doomed.uuid)) === 0, 20_000, "the reaper");
  assertEquals((await getTask(coord.url, token, uuid)).info.state, "Ready");

  await Deno.writeTextFile(flag, "");
  await using rescuer = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const done = await waitArchived(coord.url, token, uuid);
  assertEquals(done.info.reporter_uuid, rescuer.uuid);
  assertEquals(done.info.result, { exit_status: 0, msg: null });
});

test("graceful shutdown lets the running task finish; force requeues it and the worker exits", async () => {
  const { coord, token } = await setup();
  await using _coord = coord;
  await using graceful = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const short = uniqueSleep(2);
  const first = await submit(coord.url, token, ["sleep", short]);
  await eventually(async () => (await livingProcesses(`sleep ${short}`)).length > 0, 30_000, "the task to start");
  assertEquals((await call(coord.url, "DELETE", `/workers/${graceful.uuid}?op=Graceful`, { token })).status, 200);
  const finished = await waitArchived(coord.url, token, first);
  assertEquals(finished.info.state, "Finished");
  assertEquals(finished.info.reporter_uuid, graceful.uuid);
  assertEquals(await graceful.waitExit(20_000), 0, graceful.stderr());
  assertEquals(await workerRowCount(coord, graceful.uuid), 0);

  await using forced = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const long = uniqueSleep(30);
  const second = await submit(coord.url, token, ["sleep", long]);
  await eventually(async () => (await livingProcesses(`sleep ${long}`)).length > 0, 30_000, "the task to start");
  assertEquals((await call(coord.url, "DELETE", `/workers/${forced.uuid}?op=Force`, { token })).status, 200);
  assertEquals((await getTask(coord.url, token, second)).info.state, "Ready");
  assertEquals(await forced.waitExit(20_000), 0, forced.stderr());
  assertEquals(await livingProcesses(`sleep ${long}`), []);
});

test("an attachment resource is downloaded into MITO_RESOURCE_DIR; a missing one ends as ResourceNotFound", async () => {
  const { coord, token } = await setup();
  await using _coord = coord;
  const grant = await call(coord.url, "POST", "/groups/alice/attachments", {
    token,
    body: { key: "data/in.txt", content_length: 11 },
  });
  const put = await fetch((grant.body as { url: string }).url, { method: "PUT", body: "hello input" });
  await put.body?.cancel();
  assertTrue(put.ok);
  const resource = (key: string) => [{ remote_file: { Attachment: { key } }, local_path: "inputs/in.txt" }];
  const submitWith = async (key: string) =>
    ((await call(coord.url, "POST", "/tasks", {
      token,
      body: {
        group_name: "alice",
        task_spec: {
          args: ["sh", "-c", 'cp "$MITO_RESOURCE_DIR/inputs/in.txt" "$MITO_RESULT_DIR/out.txt"'],
          resources: resource(key),
        },
      },
    })).body as { uuid: string }).uuid;
  const ok = await submitWith("data/in.txt");
  const missing = await submitWith("data/absent.txt");
  await using _worker = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
  const done = await waitArchived(coord.url, token, ok);
  assertEquals(done.info.result, { exit_status: 0, msg: null });
  const files = await artifactFiles(coord.url, token, ok, "result");
  assertEquals(files.get("result/out.txt"), "hello input");
  const failed = await waitArchived(coord.url, token, missing);
  assertEquals(failed.info.state, "Cancelled");
  assertEquals(failed.info.result?.msg, "ResourceNotFound");
});

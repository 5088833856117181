/**
 * The task execution engine end to end against an in-memory reporter and a
 * loopback blob server: exit status encoding, timeouts killing the whole
 * process group, captured output, artifacts, environment, downstream tasks,
 * resources, watch, interruption and reclaim.
 */
import { runTask } from "../shared/exec/engine.ts";
import { runTaskProcess } from "../shared/exec/process.ts";
import { TaskGroupRecords } from "../shared/exec/group_records.ts";
import { describeWaitStatus, waitStatusOf } from "../shared/exec/exit_status.ts";
import { isReached, watchProgress } from "../shared/exec/watch.ts";
import { resolveResourcePath } from "../shared/exec/resources.ts";
import { resolveTaskUser } from "../shared/exec/task_user.ts";
import { createLogger } from "../shared/log/logger.ts";
import type { LogLevel } from "../shared/log/logger.ts";
import { assertEquals, assertTrue } from "./support/assert.ts";
import {
  type BlobServer,
  FakeReporter,
  livingProcesses,
  makeTask,
  startBlobServer,
  tarballFiles,
  uniqueSleep,
} from "./support/exec.ts";
import { test } from "./support/test.ts";

const log = createLogger("test-exec", (Deno.env.get("MITOSIS_TEST_LOG_LEVEL") ?? "off") as LogLevel);

/** A temp cache dir, a blob server and a reporter, disposed together. */
async function fixture() {
  const cacheDir = await Deno.makeTempDir({ prefix: "mitosis-test-exec-" });
  const blobs = startBlobServer();
  const reporter = new FakeReporter(blobs);
  return {
    cacheDir,
    blobs,
    reporter,
    [Symbol.asyncDispose]: async () => {
      await blobs[Symbol.asyncDispose]();
      await Deno.remove(cacheDir, { recursive: true });
    },
  };
}

async function upload(blobs: BlobServer, contentType: string): Promise<Map<string, string>> {
  const received = blobs.uploads.get(contentType);
  assertTrue(received, `no ${contentType} upload; got ${[...blobs.uploads.keys()]}`);
  assertEquals(received.contentLength, String(received.bytes.length));
  assertEquals(received.transferEncoding, null);
  return await tarballFiles(received.bytes);
}

async function isEmptyDir(path: string): Promise<boolean> {
  for await (const _ of Deno.readDir(path)) return false;
  return true;
}

test("exit_status is the raw wait status: exit N is N<<8, signal S is S", () => {
  assertEquals(waitStatusOf({ success: false, code: 3, signal: null }), 768);
  assertEquals(waitStatusOf({ success: true, code: 0, signal: null }), 0);
  assertEquals(waitStatusOf({ success: false, code: 137, signal: "SIGKILL" }), 9);
  assertEquals(waitStatusOf({ success: false, code: 143, signal: "SIGTERM" }), 15);
  assertEquals(describeWaitStatus(768), "exit 3");
  assertEquals(describeWaitStatus(9), "signal 9");
});

test("a task exiting 3 is finished and committed with exit_status 768", async () => {
  await using f = await fixture();
  const task = makeTask({ args: ["sh", "-c", "exit 3"] });
  const outcome = await runTask(task, f.reporter, { cacheDir: f.cacheDir, log });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 768, msg: null } });
  assertEquals(f.reporter.opNames, ["Finish", "Commit"]);
  assertTrue(await isEmptyDir(f.cacheDir), "the work dir is deleted after the commit");
});

test("a task killed by a signal is committed with the signal number", async () => {
  await using f = await fixture();
  const outcome = await runTask(makeTask({ args: ["sh", "-c", "kill -KILL $$"] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
  });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 9, msg: null } });
});

test("a program that does not exist is committed with exit status 127<<8", async () => {
  await using f = await fixture();
  const outcome = await runTask(
    makeTask({ args: ["mitosis-no-such-program"], terminal_output: true }),
    f.reporter,
    { cacheDir: f.cacheDir, log },
  );
  assertEquals(outcome, { kind: "committed", result: { exit_status: 127 << 8, msg: null } });
  const stdLog = await upload(f.blobs, "std-log");
  assertTrue(stdLog.get("std-log/stderr.log")?.includes("mitosis-no-such-program"));
});

test("a timeout of 2s on sleep 30 cancels the task with ExecTimeout and leaves no process", async () => {
  await using f = await fixture();
  const duration = uniqueSleep(30);
  const started = Date.now();
  const outcome = await runTask(makeTask({ args: ["sleep", duration] }, "2s"), f.reporter, {
    cacheDir: f.cacheDir,
    log,
  });
  const elapsed = Date.now() - started;
  assertEquals(outcome, { kind: "committed", result: { exit_status: 15, msg: "ExecTimeout" } });
  assertEquals(f.reporter.opNames, ["Cancel", "Commit"]);
  assertTrue(elapsed >= 2_000 && elapsed < 10_000, `took ${elapsed} ms`);
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
});

test("on timeout the whole process group is killed, SIGKILL after the grace period", async () => {
  await using f = await fixture();
  const duration = uniqueSleep(30);
  // The shell and both sleeps ignore SIGTERM; one sleep is a grandchild in the background.
  const script = `trap '' TERM; sleep ${duration} & sleep ${duration}; wait`;
  const started = Date.now();
  const outcome = await runTask(makeTask({ args: ["sh", "-c", script], terminal_output: true }, "1s"), f.reporter, {
    cacheDir: f.cacheDir,
    log,
    killGraceMs: 1_000,
  });
  const elapsed = Date.now() - started;
  assertEquals(outcome, { kind: "committed", result: { exit_status: 9, msg: "ExecTimeout" } });
  assertTrue(elapsed >= 2_000 && elapsed < 8_000, `took ${elapsed} ms`);
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
});

test("processes a task leaves behind are killed when it exits", async () => {
  await using f = await fixture();
  const duration = uniqueSleep(30);
  const outcome = await runTask(makeTask({ args: ["sh", "-c", `sleep ${duration} & exit 0`] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
  });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 0, msg: null } });
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
});

test("terminal_output captures stdout and stderr into the std-log artifact", async () => {
  await using f = await fixture();
  const task = makeTask({
    args: ["sh", "-c", "echo to-stdout; echo to-stderr >&2"],
    terminal_output: true,
  });
  await runTask(task, f.reporter, { cacheDir: f.cacheDir, log });
  const files = await upload(f.blobs, "std-log");
  assertEquals(files, new Map([["std-log/stdout.log", "to-stdout\n"], ["std-log/stderr.log", "to-stderr\n"]]));
  assertEquals(f.reporter.opNames, ["Finish", "Upload", "Commit"]);
});

test("without terminal_output no std-log artifact is uploaded", async () => {
  await using f = await fixture();
  await runTask(makeTask({ args: ["sh", "-c", "echo ignored"] }), f.reporter, { cacheDir: f.cacheDir, log });
  assertEquals(f.blobs.uploads.size, 0);
  assertEquals(f.reporter.opNames, ["Finish", "Commit"]);
});

test("the result and exec-log dirs become tar.gz artifacts uploaded with their exact length", async () => {
  await using f = await fixture();
  const script = 'echo 42 > "$MITO_RESULT_DIR/answer.txt"; mkdir "$MITO_RESULT_DIR/sub"; ' +
    'printf nested > "$MITO_RESULT_DIR/sub/deep.txt"; echo log-line > "$MITO_EXEC_DIR/run.log"';
  await runTask(makeTask({ args: ["sh", "-c", script] }), f.reporter, { cacheDir: f.cacheDir, log });
  assertEquals(
    await upload(f.blobs, "result"),
    new Map([["result/answer.txt", "42\n"], ["result/sub/deep.txt", "nested"]]),
  );
  assertEquals(await upload(f.blobs, "exec-log"), new Map([["exec-log/run.log", "log-line\n"]]));
  const uploads = f.reporter.ops.filter((op) => typeof op === "object" && "Upload" in op);
  assertEquals(uploads.map((op) => (op as { Upload: { content_type: string } }).Upload.content_type), [
    "result",
    "exec-log",
  ]);
  for (const op of uploads) {
    const { content_type, content_length } = (op as { Upload: { content_type: string; content_length: number } })
      .Upload;
    assertEquals(content_length, f.blobs.uploads.get(content_type)?.bytes.length);
  }
});

test("the task sees its envs, the MITO_* variables and runs in its work dir without the worker's password", async () => {
  await using f = await fixture();
  const upstream = crypto.randomUUID();
  const task = {
    ...makeTask({
      args: ["sh", "-c", 'env > "$MITO_RESULT_DIR/env.txt"; pwd > "$MITO_RESULT_DIR/pwd.txt"'],
      envs: { GREETING: "hello world", MITO_TASK_UUID: "overridden-by-the-worker" },
    }),
    upstream_task_uuid: upstream,
  };
  Deno.env.set("MITOSIS_PASSWORD", "worker-secret");
  try {
    await runTask(task, f.reporter, { cacheDir: f.cacheDir, log });
  } finally {
    Deno.env.delete("MITOSIS_PASSWORD");
  }
  const files = await upload(f.blobs, "result");
  const env = new Map(
    files.get("result/env.txt")!.trim().split("\n").map((
      line,
    ) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const root = `${await Deno.realPath(f.cacheDir)}/${task.uuid}`;
  assertEquals(env.get("GREETING"), "hello world");
  assertEquals(env.get("MITO_TASK_UUID"), task.uuid);
  assertEquals(env.get("MITO_RESULT_DIR"), `${f.cacheDir}/${task.uuid}/result`);
  assertEquals(env.get("MITO_EXEC_DIR"), `${f.cacheDir}/${task.uuid}/exec-log`);
  assertEquals(env.get("MITO_RESOURCE_DIR"), `${f.cacheDir}/${task.uuid}/resource`);
  assertEquals(env.get("MITO_NEW_TASK"), `${f.cacheDir}/${task.uuid}/new_task.json`);
  assertEquals(env.get("MITO_UPSTREAM_TASK_UUID"), upstream);
  assertEquals(env.has("MITOSIS_PASSWORD"), false);
  assertTrue(env.has("PATH"), "the worker's environment is inherited");
  assertEquals(files.get("result/pwd.txt")?.trim(), root);
});

test("MITO_UPSTREAM_TASK_UUID is unset for a task without upstream", async () => {
  await using f = await fixture();
  const outcome = await runTask(
    makeTask({ args: ["sh", "-c", 'test -z "${MITO_UPSTREAM_TASK_UUID+set}"'] }),
    f.reporter,
    { cacheDir: f.cacheDir, log },
  );
  assertEquals(outcome, { kind: "committed", result: { exit_status: 0, msg: null } });
});

test("a valid new_task.json is submitted before the commit", async () => {
  await using f = await fixture();
  const request = { group_name: "team", task_spec: { args: ["echo", "downstream"] } };
  const task = makeTask({ args: ["sh", "-c", `printf '%s' '${JSON.stringify(request)}' > "$MITO_NEW_TASK"`] });
  const outcome = await runTask(task, f.reporter, { cacheDir: f.cacheDir, log });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 0, msg: null } });
  assertEquals(f.reporter.opNames, ["Finish", "Submit", "Commit"]);
  const submit = f.reporter.ops[1] as {
    Submit: { group_name: string; timeout: string; task_spec: { args: string[] } };
  };
  assertEquals(submit.Submit.group_name, "team");
  assertEquals(submit.Submit.task_spec.args, ["echo", "downstream"]);
  assertEquals(submit.Submit.timeout, "10m");
});

test("an invalid new_task.json commits SubmitNewTaskFailed", async () => {
  await using f = await fixture();
  const task = makeTask({ args: ["sh", "-c", `echo '{"group_name": 5}' > "$MITO_NEW_TASK"`] });
  const outcome = await runTask(task, f.reporter, { cacheDir: f.cacheDir, log });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 0, msg: "SubmitNewTaskFailed" } });
  assertEquals(f.reporter.opNames, ["Finish", "Commit"]);
});

test("a task's work dir and its subdirectories are private to the worker's user (0700)", async () => {
  await using f = await fixture();
  const task = makeTask({
    args: ["sh", "-c", `stat -c '%n %a' . result exec-log std-log resource > "$MITO_RESULT_DIR/modes"`],
  });
  const outcome = await runTask(task, f.reporter, { cacheDir: f.cacheDir, log });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 0, msg: null } });
  const files = await upload(f.blobs, "result");
  assertEquals(files.get("result/modes")?.trim().split("\n"), [
    ". 700",
    "result 700",
    "exec-log 700",
    "std-log 700",
    "resource 700",
  ]);
});

test("a new_task.json that is a symbolic link is refused, not followed", async () => {
  await using f = await fixture();
  const elsewhere = `${f.cacheDir}/elsewhere.json`;
  await Deno.writeTextFile(elsewhere, JSON.stringify({ group_name: "team", task_spec: { args: ["true"] } }));
  const task = makeTask({ args: ["ln", "-s", elsewhere, "new_task.json"] });
  const outcome = await runTask(task, f.reporter, { cacheDir: f.cacheDir, log });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 0, msg: "SubmitNewTaskFailed" } });
  assertEquals(f.reporter.opNames, ["Finish", "Commit"]);
});

test("as root with a task user, links a task plants in its work dir do not redirect the worker's writes", async () => {
  await using f = await fixture();
  const taskUser = await resolveTaskUser("mitosis-task", { create: true, warnOptOut: false, log });
  assertTrue(taskUser !== null, "these tests run as root");
  await Deno.chmod(f.cacheDir, 0o711);
  const victim = `${f.cacheDir}/victim`;
  await Deno.writeTextFile(victim, "precious\n", { mode: 0o600 });
  const task = makeTask({
    terminal_output: true,
    args: [
      "sh",
      "-c",
      `id -u > result/uid; ln -s ${victim} result.tar.gz; rm std-log/stdout.log; ln -s ${victim} std-log/stdout.log; ` +
      `echo overwritten; cat ${victim} > /dev/null 2>&1 || echo denied > result/victim`,
    ],
  });
  const outcome = await runTask(task, f.reporter, { cacheDir: f.cacheDir, log, taskUser });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 0, msg: null } });
  assertEquals(await Deno.readTextFile(victim), "precious\n");
  const files = await upload(f.blobs, "result");
  assertEquals(files.get("result/uid")?.trim(), String(taskUser.uid));
  assertEquals(files.get("result/victim")?.trim(), "denied");
  assertEquals((await Array.fromAsync(Deno.readDir(f.cacheDir))).map((e) => e.name), ["victim"]);
});

test("resources are downloaded into resource/<local_path> before the task runs", async () => {
  await using f = await fixture();
  const artifact = crypto.randomUUID();
  f.blobs.objects.set("input", new TextEncoder().encode("resource-bytes"));
  f.blobs.objects.set("attached", new TextEncoder().encode("attachment-bytes"));
  f.reporter.resources.set(artifact, { url: `${f.blobs.url}/objects/input`, size: 14 });
  f.reporter.resources.set("data/a.bin", { url: `${f.blobs.url}/objects/attached`, size: 16 });
  const task = makeTask({
    args: ["sh", "-c", 'cat "$MITO_RESOURCE_DIR/in/input.txt" "$MITO_RESOURCE_DIR/a.bin"'],
    terminal_output: true,
    resources: [
      { remote_file: { Artifact: { uuid: artifact, content_type: "result" } }, local_path: "in/input.txt" },
      { remote_file: { Attachment: { key: "data/a.bin" } }, local_path: "a.bin" },
    ],
  });
  const outcome = await runTask(task, f.reporter, { cacheDir: f.cacheDir, log });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 0, msg: null } });
  assertEquals((await upload(f.blobs, "std-log")).get("std-log/stdout.log"), "resource-bytesattachment-bytes");
});

test("a missing resource cancels the task with ResourceNotFound, a forbidden one with ResourceForbidden", async () => {
  await using f = await fixture();
  const resource = (uuid: string) => ({
    remote_file: { Artifact: { uuid, content_type: "result" as const } },
    local_path: "x",
  });
  const missing = await runTask(makeTask({ args: ["true"], resources: [resource(crypto.randomUUID())] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
  });
  assertEquals(missing, { kind: "committed", result: { exit_status: 0, msg: "ResourceNotFound" } });
  assertEquals(f.reporter.opNames, ["Cancel", "Commit"]);

  const denied = crypto.randomUUID();
  f.reporter.resources.set(denied, "forbidden");
  const forbidden = await runTask(makeTask({ args: ["true"], resources: [resource(denied)] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
  });
  assertEquals(forbidden, { kind: "committed", result: { exit_status: 0, msg: "ResourceForbidden" } });

  const failing = crypto.randomUUID();
  f.reporter.resources.set(failing, { url: `${f.blobs.url}/forbidden/x`, size: 1 });
  const downloadError = await runTask(makeTask({ args: ["true"], resources: [resource(failing)] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
  });
  assertEquals(downloadError, { kind: "committed", result: { exit_status: 0, msg: "ResourceForbidden" } });
});

test("a resource path escaping the resource dir is refused", async () => {
  await using f = await fixture();
  const artifact = crypto.randomUUID();
  f.blobs.objects.set("input", new TextEncoder().encode("evil"));
  f.reporter.resources.set(artifact, { url: `${f.blobs.url}/objects/input`, size: 4 });
  const task = makeTask({
    args: ["true"],
    resources: [{ remote_file: { Artifact: { uuid: artifact, content_type: "result" } }, local_path: "../escaped" }],
  });
  const outcome = await runTask(task, f.reporter, { cacheDir: f.cacheDir, log });
  assertEquals(outcome, { kind: "committed", result: { exit_status: 0, msg: "ResourceForbidden" } });
  assertEquals(f.reporter.resourceRequests, 0);
  assertTrue(await isEmptyDir(f.cacheDir), "nothing was written outside the resource dir");

  for (const bad of ["../x", "a/../../x", "/etc/passwd", ".", "", "a/.."]) {
    let refused = false;
    try {
      resolveResourcePath("/cache/t/resource", bad);
    } catch {
      refused = true;
    }
    assertTrue(refused, `${JSON.stringify(bad)} must be refused`);
  }
  assertEquals(resolveResourcePath("/cache/t/resource", "a/./b"), "/cache/t/resource/a/b");
});

test("watch waits for the watched task and fails with WatchTimeout when it is unknown", async () => {
  await using f = await fixture();
  const watched = crypto.randomUUID();
  f.reporter.watched.set(watched, { state: "Running", result: null });
  const ran = await runTask(makeTask({ args: ["true"], watch: [watched, "ExecSpawned"] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
  });
  assertEquals(ran, { kind: "committed", result: { exit_status: 0, msg: null } });

  const unknown = await runTask(makeTask({ args: ["true"], watch: [crypto.randomUUID(), "ExecSpawned"] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
  });
  assertEquals(unknown, { kind: "committed", result: { exit_status: 0, msg: "WatchTimeout" } });
});

test("watch polls until the target is reached, and gives up once it cannot be", async () => {
  await using f = await fixture();
  const watched = crypto.randomUUID();
  f.reporter.watched.set(watched, { state: "Ready", result: null });
  setTimeout(() => f.reporter.watched.set(watched, { state: "Finished", result: null }), 300);
  const started = Date.now();
  const ran = await runTask(makeTask({ args: ["true"], watch: [watched, "ExecFinished"] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
    watchPollMs: 100,
  });
  assertEquals(ran, { kind: "committed", result: { exit_status: 0, msg: null } });
  assertTrue(Date.now() - started >= 300);

  f.reporter.watched.set(watched, { state: "Cancelled", result: { exit_status: 15, msg: "ExecTimeout" } });
  const never = await runTask(makeTask({ args: ["true"], watch: [watched, "ExecFinished"] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
    watchPollMs: 100,
  });
  assertEquals(never, { kind: "committed", result: { exit_status: 0, msg: "WatchTimeout" } });

  f.reporter.watched.set(watched, { state: "Ready", result: null });
  const slow = await runTask(makeTask({ args: ["true"], watch: [watched, "ExecSpawned"] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
    watchPollMs: 100,
    preparationWindowMs: 500,
  });
  assertEquals(slow, { kind: "committed", result: { exit_status: 0, msg: "WatchTimeout" } });
});

test("watch maps task states onto execution states", () => {
  const running = { state: "Running", result: null } as const;
  const finished = { state: "Finished", result: null } as const;
  const committed = { state: "Finished", result: { exit_status: 0, msg: null } } as const;
  const timedOut = { state: "Cancelled", result: { exit_status: 15, msg: "ExecTimeout" } } as const;
  assertEquals(isReached("ExecSpawned", { state: "Ready", result: null }), false);
  assertEquals(isReached("ExecSpawned", running), true);
  assertEquals(isReached("ExecFinished", running), false);
  assertEquals(isReached("ExecFinished", finished), true);
  assertEquals(isReached("TaskCommitted", finished), false);
  assertEquals(isReached("TaskCommitted", committed), true);
  assertEquals(isReached("ExecTimeout", timedOut), true);
  assertEquals(isReached("ExecFinished", timedOut), false);
  assertEquals(isReached("TaskCommitted", timedOut), true);
  assertEquals(watchProgress("ExecFinished", timedOut), "unreachable");
  assertEquals(watchProgress("ExecFinished", running), "waiting");
});

test("an upload phase over its window commits UploadResultTimeout", async () => {
  await using f = await fixture();
  f.blobs.putDelayMs = 2_000;
  const outcome = await runTask(
    makeTask({ args: ["sh", "-c", 'echo x > "$MITO_RESULT_DIR/x"; exit 1'] }),
    f.reporter,
    { cacheDir: f.cacheDir, log, uploadWindowMs: 300 },
  );
  assertEquals(outcome, { kind: "committed", result: { exit_status: 256, msg: "UploadResultTimeout" } });
  assertEquals(f.reporter.opNames, ["Finish", "Upload", "Commit"]);
});

test("interrupting a running task kills its group and reports nothing", async () => {
  await using f = await fixture();
  const duration = uniqueSleep(30);
  const stop = new AbortController();
  setTimeout(() => stop.abort("test stop"), 500);
  const outcome = await runTask(makeTask({ args: ["sh", "-c", `sleep ${duration}; true`] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
    signal: stop.signal,
  });
  assertEquals(outcome, { kind: "interrupted" });
  assertEquals(f.reporter.ops, []);
  assertEquals(await livingProcesses(`sleep ${duration}`), []);
  assertTrue(await isEmptyDir(f.cacheDir));
});

test("a task reclaimed by the coordinator (404 on a report) is dropped", async () => {
  await using f = await fixture();
  f.reporter.goneOn.add("Finish");
  const outcome = await runTask(makeTask({ args: ["sh", "-c", 'echo 1 > "$MITO_RESULT_DIR/r"'] }), f.reporter, {
    cacheDir: f.cacheDir,
    log,
  });
  assertEquals(outcome, { kind: "reclaimed" });
  assertEquals(f.reporter.ops, []);
  assertTrue(await isEmptyDir(f.cacheDir));
});

test("a task process leads its own process group; relative and non-executable programs behave as with exec", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-exec-group-" });
  try {
    const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
    const run = (args: string[]) => runTaskProcess({ args, env, cwd: dir }, { timeoutMs: 30_000, log });
    // pgid = pid, and not the worker's group.
    const leader = await run(["sh", "-c", `echo "$$ $(ps -o pgid= -p $$)" > ${dir}/ids`]);
    assertEquals(leader.kind, "exited");
    const [pid, pgid] = (await Deno.readTextFile(`${dir}/ids`)).trim().split(/\s+/).map(Number);
    assertEquals([pid, pgid], [leader.pid, leader.pid]);
    // A script named relative to the task's cwd runs; one without the x bit exits 126; a missing one 127.
    await Deno.writeTextFile(`${dir}/ok.sh`, "#!/bin/sh\nexit 4\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/plain.sh`, "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    assertEquals((await run(["./ok.sh"])).waitStatus, 4 << 8);
    assertEquals((await run(["./plain.sh"])).waitStatus, 126 << 8);
    assertEquals((await run(["./absent.sh"])).waitStatus, 127 << 8);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("a task interrupted while its group is being recorded (just after the spawn) is terminated, not left to run to its end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-spawn-abort-" });
  const quiet = createLogger("exec", "off");
  try {
    const interrupt = new AbortController();
    // The abort lands between the spawn and the moment the run listens for it, as when a task signals its own worker.
    class AbortingRecords extends TaskGroupRecords {
      override async add(pgid: number, task?: string): Promise<void> {
        interrupt.abort("stop during registration");
        await super.add(pgid, task);
      }
    }
    const started = performance.now();
    const outcome = await runTaskProcess({ args: ["sleep", "30"], env: {}, cwd: dir }, {
      timeoutMs: 60_000,
      killGraceMs: 1_000,
      signal: interrupt.signal,
      records: new AbortingRecords(`${dir}/records`, quiet),
      log: quiet,
    });
    assertEquals(outcome.kind, "interrupted");
    const seconds = (performance.now() - started) / 1000;
    assertTrue(seconds < 10, `terminated at once, not after the task's 30 s (${seconds.toFixed(1)} s)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `mitosis-worker --managed` as a real process against a scripted manager
 * (a `unix` IPC server answering from the test): graceful Shutdown finishes
 * the task, the manager going away kills it, a SIGKILL of the worker kills
 * it too, CancelTask, resource URLs relayed by the manager, and bad flags.
 */
import { test } from "./support/test.ts";
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { livingProcesses, startBlobServer, uniqueSleep } from "./support/exec.ts";
import { opName } from "./support/fake_link.ts";
import { unixTransport } from "../shared/ipc/unix.ts";
import type { IpcPeer, IpcServer } from "../shared/ipc/transport.ts";
import type { ManagerReply, ValidWorkerRequest } from "../shared/wire/ipc.ts";
import type { ManagedTask } from "../shared/wire/manager_ws.ts";
import type { TaskSpec } from "../shared/wire/tasks.ts";
import { parseIpcAddress, parseWorkerLocalId } from "../worker/managed.ts";

const WORKER_MAIN = new URL("../worker/main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

function managedTask(spec: Partial<TaskSpec> & { args: string[] }, id = 1): ManagedTask {
  return {
    id,
    uuid: crypto.randomUUID(),
    timeout: "1m",
    spec: { envs: {}, resources: [], terminal_output: false, watch: null, ...spec },
    upstream_task_uuid: null,
    attempt: 1,
    suite_uuid: crypto.randomUUID(),
  };
}

/** A scripted manager: hands out `tasks` in order, then null; records every request. */
class ScriptedManager implements AsyncDisposable {
  readonly requests: ValidWorkerRequest[] = [];
  readonly tasks: ManagedTask[];
  peer: IpcPeer | null = null;
  server!: IpcServer;
  /** Answers ResourceUrl requests (default Unavailable). */
  resource: (request: Extract<ValidWorkerRequest, { type: "ResourceUrl" }>) => ManagerReply = (r) => ({
    type: "ResourceUrlReply",
    request_id: r.request_id,
    status: "Unavailable",
    error: "not scripted",
  });
  /** Answers TaskState requests (default NotFound). */
  taskState: (request: Extract<ValidWorkerRequest, { type: "TaskState" }>) => ManagerReply = (r) => ({
    type: "TaskStateReply",
    request_id: r.request_id,
    status: "NotFound",
    error: "not scripted",
  });
  readonly dir: string;

  private constructor(dir: string, tasks: ManagedTask[]) {
    this.dir = dir;
    this.tasks = [...tasks];
  }

  static async start(tasks: ManagedTask[]): Promise<ScriptedManager> {
    const dir = await Deno.makeTempDir({ prefix: "mitosis-managed-" });
    const manager = new ScriptedManager(dir, tasks);
    manager.server = await unixTransport.serve(`${dir}/ipc.sock`, {
      onRequest: (peer, request) => manager.#answer(peer, request),
    });
    return manager;
  }

  /** Report operations received, by name. */
  get ops(): string[] {
    return this.requests.flatMap((r) => r.type === "ReportTask" ? [opName(r.op)] : []);
  }

  async #answer(peer: IpcPeer, request: ValidWorkerRequest): Promise<ManagerReply> {
    this.peer = peer;
    this.requests.push(request);
    switch (request.type) {
      case "Hello": // any secret will do here: tests/manager_ipc_auth.test.ts proves the manager checks it
        return { type: "HelloReply", request_id: request.request_id };
      case "FetchTask": {
        const task = this.tasks.shift() ?? null;
        if (task === null) await new Promise((resolve) => setTimeout(resolve, 200));
        return { type: "FetchTaskReply", request_id: request.request_id, task };
      }
      case "ReportTask":
        return { type: "ReportTaskReply", request_id: request.request_id, success: true, url: null };
      case "ResourceUrl":
        return this.resource(request);
      case "TaskState":
        return this.taskState(request);
      case "Heartbeat":
        return { type: "HeartbeatReply", request_id: request.request_id };
    }
  }

  /** Starts a managed worker connected to this manager. */
  spawnWorker(extraArgs: string[] = []): Deno.ChildProcess {
    return new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--no-lock",
        WORKER_MAIN,
        "--managed",
        "--ipc",
        `unix:${this.dir}/ipc.sock`,
        "--worker-local-id",
        "3",
        "--cache-dir",
        `${this.dir}/cache`,
        ...extraArgs,
      ],
      env: { MITOSIS_LOG_LEVEL: "warn", MITOSIS_TASK_USER: "root" }, // tasks write into this test's 0700 temp dir
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server.close();
    await Deno.remove(this.dir, { recursive: true }).catch(() => undefined);
  }
}

/** Waits until `check` holds (every 50 ms, at most `ms`). */
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The exit code within `ms`, or a failure. */
async function exitCode(child: Deno.ChildProcess, ms: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const status = await Promise.race([
      child.status,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("worker did not exit")), ms)),
    ]);
    return status.code;
  } finally {
    clearTimeout(timer);
    if (timer !== undefined) await child.stderr.cancel().catch(() => undefined);
  }
}

test("managed worker: a graceful Shutdown during a task lets it finish and commit, then the worker exits 0", async () => {
  const marker = uniqueSleep(1);
  const task = managedTask({ args: ["sleep", marker] });
  await using manager = await ScriptedManager.start([task]);
  const worker = manager.spawnWorker();
  await until(async () => (await livingProcesses(marker)).length === 1, 30_000, "the task to run");
  manager.peer!.control({ type: "Shutdown", graceful: true });
  assertEquals(await exitCode(worker, 30_000), 0);
  await worker.stdout.cancel();
  assertEquals(manager.ops, ["Finish", "Commit"]);
  const commit = manager.requests.find((r) => r.type === "ReportTask" && opName(r.op) === "Commit");
  assertEquals(commit?.type === "ReportTask" ? commit.op : null, { Commit: { exit_status: 0, msg: null } });
});

test("managed worker: when its manager goes away it kills the running task and exits 1", async () => {
  const marker = uniqueSleep(60);
  const task = managedTask({ args: ["sleep", marker] });
  const manager = await ScriptedManager.start([task]);
  const worker = manager.spawnWorker();
  try {
    await until(async () => (await livingProcesses(marker)).length === 1, 30_000, "the task to run");
    await manager.server.close();
    assertEquals(await exitCode(worker, 15_000), 1);
    await worker.stdout.cancel();
    assertEquals(await livingProcesses(marker), []);
    assertEquals(manager.ops, [], "nothing reported for the killed task");
  } finally {
    await manager[Symbol.asyncDispose]();
  }
});

test("managed worker: SIGKILLed mid-task, its task's whole group (a shell and its child) is gone within 2 s", async () => {
  const [child, leader] = [uniqueSleep(60), uniqueSleep(61)];
  const task = managedTask({ args: ["sh", "-c", `sleep ${child} & sleep ${leader}; wait`] });
  await using manager = await ScriptedManager.start([task]); // a scripted manager kills no leftovers itself
  const worker = manager.spawnWorker();
  const running = async () =>
    (await livingProcesses("sleep")).filter((line) =>
      line.endsWith(`sleep ${child}`) || line.endsWith(`sleep ${leader}`)
    );
  await until(async () => (await running()).length === 2, 30_000, "the task and its child to run");
  worker.kill("SIGKILL");
  await worker.status;
  await Promise.all([worker.stdout.cancel(), worker.stderr.cancel()]);
  await until(async () => (await running()).length === 0, 2_000, "the task's processes to die with the worker");
});

test("managed worker: CancelTask terminates the task, reports Cancel and Commit UserCancellation, and goes on", async () => {
  const marker = uniqueSleep(60);
  const long = managedTask({ args: ["sleep", marker] }, 1);
  const next = managedTask({ args: ["true"] }, 2);
  await using manager = await ScriptedManager.start([long, next]);
  const worker = manager.spawnWorker();
  await until(async () => (await livingProcesses(marker)).length === 1, 30_000, "the task to run");
  manager.peer!.control({ type: "CancelTask", task_id: 1 });
  await until(() => manager.ops.length >= 4, 30_000, "both tasks reported");
  assertEquals(await livingProcesses(marker), []);
  const reports = manager.requests.flatMap((r) => r.type === "ReportTask" ? [[r.task_id, opName(r.op)]] : []);
  assertEquals(reports, [[1, "Cancel"], [1, "Commit"], [2, "Finish"], [2, "Commit"]]);
  const commit = manager.requests.find((r) => r.type === "ReportTask" && r.task_id === 1 && opName(r.op) === "Commit");
  assertEquals(commit?.type === "ReportTask" ? commit.op : null, {
    Commit: { exit_status: 0, msg: "UserCancellation" },
  });
  manager.peer!.control({ type: "Shutdown", graceful: false });
  assertEquals(await exitCode(worker, 30_000), 0);
  await worker.stdout.cancel();
});

test("managed worker: task resources come through the manager's ResourceUrl relay; NotFound commits ResourceNotFound", async () => {
  await using blobs = startBlobServer();
  blobs.objects.set("in.txt", new TextEncoder().encode("payload"));
  const out = await Deno.makeTempDir({ prefix: "mitosis-managed-out-" });
  try {
    const found = managedTask({
      args: ["sh", "-c", `cp "$MITO_RESOURCE_DIR/in.txt" "${out}/copied"`],
      resources: [{ remote_file: { Attachment: { key: "data/in.txt" } }, local_path: "in.txt" }],
    }, 1);
    const missing = managedTask({
      args: ["true"],
      resources: [{ remote_file: { Attachment: { key: "data/missing.txt" } }, local_path: "missing.txt" }],
    }, 2);
    await using manager = await ScriptedManager.start([found, missing]);
    manager.resource = (r) =>
      "Attachment" in r.resource && r.resource.Attachment.key === "data/in.txt"
        ? {
          type: "ResourceUrlReply",
          request_id: r.request_id,
          status: "Ok",
          url: `${blobs.url}/objects/in.txt`,
          size: 7,
        }
        : { type: "ResourceUrlReply", request_id: r.request_id, status: "NotFound", error: "no such attachment" };
    const worker = manager.spawnWorker();
    await until(() => manager.ops.length >= 4, 30_000, "both tasks reported");
    manager.peer!.control({ type: "Shutdown", graceful: true });
    assertEquals(await exitCode(worker, 30_000), 0);
    await worker.stdout.cancel();

    assertEquals(await Deno.readTextFile(`${out}/copied`), "payload");
    const asked = manager.requests.flatMap((r) => r.type === "ResourceUrl" ? [r.task_uuid] : []);
    assertEquals(asked, [found.uuid, missing.uuid]);
    const commits = manager.requests.flatMap((r) =>
      r.type === "ReportTask" && typeof r.op === "object" && "Commit" in r.op ? [[r.task_id, r.op.Commit.msg]] : []
    );
    assertEquals(commits, [[1, null], [2, "ResourceNotFound"]]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

test("managed worker: missing or bad --ipc / --worker-local-id exit 2 with a message", async () => {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--no-lock", WORKER_MAIN, "--managed", ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: decoder.decode(out.stderr) };
  };
  const noIpc = await run(["--worker-local-id", "1"]);
  assertEquals(noIpc.code, 2);
  assertIncludes(noIpc.stderr, "--ipc");
  const badId = await run(["--ipc", "/tmp/x.sock", "--worker-local-id", "x"]);
  assertEquals(badId.code, 2);
  assertIncludes(badId.stderr, "--worker-local-id");
  const noManager = await run(["--ipc", "/nonexistent/ipc.sock", "--worker-local-id", "1"]);
  assertEquals(noManager.code, 1);
  assertIncludes(noManager.stderr, "cannot connect");
});

test("managed worker: IPC address and worker id parsing", () => {
  assertEquals(parseIpcAddress("unix:/run/m/ipc.sock"), { backend: "unix", address: "/run/m/ipc.sock" });
  assertEquals(parseIpcAddress("/run/m/ipc.sock"), { backend: "unix", address: "/run/m/ipc.sock" });
  assertEquals(parseIpcAddress("iceoryx2:mitosis_mgr"), { backend: "iceoryx2", address: "mitosis_mgr" });
  assertEquals(parseIpcAddress("weird:thing"), { backend: "unix", address: "weird:thing" });
  assertEquals(parseWorkerLocalId("0"), 0);
  assertEquals(parseWorkerLocalId("65535"), 65_535);
  assertEquals(parseWorkerLocalId("65536"), null);
  assertEquals(parseWorkerLocalId("-1"), null);
  assertTrue(parseWorkerLocalId(undefined) === null);
});

test("managed worker: watch asks the manager for the watched task's state and starts once it is reached", async () => {
  const watched = crypto.randomUUID();
  const task = managedTask({ args: ["true"], watch: [watched, "ExecFinished"] }, 1);
  await using manager = await ScriptedManager.start([task]);
  // Running at the first poll, then Finished.
  let polls = 0;
  manager.taskState = (r) => ({
    type: "TaskStateReply",
    request_id: r.request_id,
    status: "Ok",
    state: ++polls > 1 ? "Finished" : "Running",
    result: polls > 1 ? { exit_status: 0, msg: null } : null,
  });
  const worker = manager.spawnWorker();
  await until(() => manager.ops.includes("Commit"), 60_000, "the commit");
  manager.peer!.control({ type: "Shutdown", graceful: true });
  assertEquals(await exitCode(worker, 30_000), 0);
  await worker.stdout.cancel();
  const asked = manager.requests.flatMap((r) => r.type === "TaskState" ? [r.task_uuid] : []);
  assertEquals(asked.length, 2);
  assertEquals(new Set(asked), new Set([watched]));
  const commit = manager.requests.find((r) => r.type === "ReportTask" && typeof r.op === "object" && "Commit" in r.op);
  assertEquals(commit?.type === "ReportTask" ? commit.op : null, { Commit: { exit_status: 0, msg: null } });
});

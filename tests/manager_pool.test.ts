/**
 * The suite execution (`manager/pool/`): real managed worker processes
 * (`worker/main.ts --managed`) over the real `unix` IPC, fed by a fake
 * in-memory coordinator link; plus the pure binding and exit-classification
 * functions.
 */
import { test } from "./support/test.ts";
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { livingProcesses, startBlobServer, tarballFiles, uniqueSleep } from "./support/exec.ts";
import { FakeLink } from "./support/fake_link.ts";
import { type PoolExecution, type PoolSummary, startSuiteExecution } from "../manager/pool/execution.ts";
import { allowedCores, cpuPlan, parseCpuList, tasksetPrefix } from "../manager/pool/cpu_binding.ts";
import { classifyExit } from "../manager/pool/exit_classification.ts";
import { gpuPlan, hostGpusFrom, parseNvidiaSmiList } from "../manager/pool/gpu_binding.ts";
import { IpcService, type ResourceUrlProvider } from "../manager/pool/ipc_service.ts";
import { PrefetchBuffer } from "../manager/pool/prefetch.ts";
import { ClientError } from "../shared/client/errors.ts";
import { unixTransport } from "../shared/ipc/unix.ts";
import { createLogger } from "../shared/log/logger.ts";
import type { SuiteInfo } from "../shared/wire/suites.ts";

const WORKER_MAIN = new URL("../worker/main.ts", import.meta.url).pathname;
const WORKER_BINARY = [Deno.execPath(), "run", "--allow-all", "--no-lock", WORKER_MAIN];
const log = createLogger("manager-test", (Deno.env.get("MITOSIS_TEST_LOG") ?? "warn") as "warn");

/** A started execution with its work dir; dispose to force-stop it and remove the dir. */
interface Running extends AsyncDisposable {
  execution: PoolExecution;
  workDir: string;
}

async function startPool(
  link: FakeLink,
  schedule: Partial<SuiteInfo["worker_schedule"]> & { worker_count: number },
  options: {
    workerBinary?: string[];
    stopGraceMs?: number;
    env?: Record<string, string>;
    gpus?: string[];
    resourceUrl?: ResourceUrlProvider;
  } = {},
): Promise<Running> {
  const workDir = await Deno.makeTempDir({ prefix: "mitosis-pool-" });
  const execution = startSuiteExecution({
    suite: link.suite(schedule),
    link,
    workerCount: schedule.worker_count,
    env: { MITOSIS_LOG_LEVEL: Deno.env.get("MITOSIS_TEST_LOG") ?? "warn", ...options.env },
    workDir,
  }, {
    workerBinary: options.workerBinary ?? WORKER_BINARY,
    ipc: unixTransport,
    stopGraceMs: options.stopGraceMs ?? 5_000,
    gpus: options.gpus,
    resourceUrl: options.resourceUrl,
    log,
    restart: { initialDelayMs: 100 },
  });
  return {
    execution,
    workDir,
    async [Symbol.asyncDispose]() {
      execution.stop(false);
      await execution.done.catch(() => undefined);
      await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
    },
  };
}

/** Resolves `done` within `ms` or fails. */
async function finished(execution: PoolExecution, ms: number): Promise<PoolSummary> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      execution.done,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test("4 managed workers run 100 no-op tasks, each committed exactly once, prefetched in batches", async () => {
  const link = new FakeLink();
  const tasks = link.addTasks(Array.from({ length: 100 }, () => ["true"]));
  await using pool = await startPool(link, { worker_count: 4, task_prefetch_count: 16 });
  const summary = await finished(pool.execution, 120_000);

  assertEquals(summary.end, "drained");
  assertEquals(summary.drainReason, "Complete");
  assertEquals(summary.tasksCompleted, 100);
  assertEquals(summary.tasksFailed, 0);
  for (const task of tasks) {
    assertEquals(link.commits.get(task.uuid)?.length, 1, `task ${task.uuid} committed once`);
    // The worker's Finish and Commit reach the coordinator as one Complete.
    assertEquals(link.opsOf(task.uuid), ["Complete"]);
  }
  assertEquals(link.commits.get(tasks[0].uuid)?.[0], { exit_status: 0, msg: null });
  // Batched refills: the first fills the buffer, later ones happen below half (more than 8 free of 16).
  assertEquals(link.fetchSizes[0], 16);
  for (const size of link.fetchSizes) assertTrue(size > 8 && size <= 16, `fetch size ${size}`);
  const claiming = link.fetchClaims.filter((n) => n > 0).length;
  assertTrue(claiming <= Math.ceil((100 - 16) / 9) + 1, `fetches: ${link.fetchSizes.join(",")}`);
  assertEquals(summary.fetchSizes, link.fetchSizes);
  assertEquals(link.returns, []);
  assertEquals(pool.execution.workerPids(), []);
});

test("Upload URLs from the coordinator are relayed to the worker, which uploads its artifacts there", async () => {
  await using blobs = startBlobServer();
  const link = new FakeLink();
  link.uploadBase = `${blobs.url}/uploads`;
  const [task] = link.addTasks([["sh", "-c", 'echo hello > "$MITO_RESULT_DIR/out.txt"']]);
  await using pool = await startPool(link, { worker_count: 1 });
  const summary = await finished(pool.execution, 60_000);
  assertEquals(summary.tasksCompleted, 1);
  assertEquals(link.opsOf(task.uuid), ["Finish", "Upload", "Commit"]);
  const upload = blobs.uploads.get(`${task.uuid}-result`);
  assertTrue(upload !== undefined, `uploads: ${[...blobs.uploads.keys()].join(", ")}`);
  assertEquals((await tarballFiles(upload.bytes)).get("result/out.txt"), "hello\n");
});

test("task resources are fetched through the manager's resource URL provider; a 404 commits ResourceNotFound", async () => {
  await using blobs = startBlobServer();
  blobs.objects.set("in.txt", new TextEncoder().encode("payload"));
  const out = await Deno.makeTempDir({ prefix: "mitosis-pool-res-" });
  try {
    const link = new FakeLink();
    const asked: string[] = [];
    const resourceUrl: ResourceUrlProvider = (suiteUuid, resource) => {
      assertEquals(suiteUuid, link.suiteUuid);
      const key = "Attachment" in resource ? resource.Attachment.key : resource.Artifact.uuid;
      asked.push(key);
      if (key === "in.txt") return Promise.resolve({ url: `${blobs.url}/objects/in.txt`, size: 7 });
      return Promise.reject(new ClientError(404, `attachment ${key} not found`));
    };
    const [found] = link.addTasks([["sh", "-c", `cp "$MITO_RESOURCE_DIR/copy.txt" "${out}/copied"`]], {
      resources: [{ remote_file: { Attachment: { key: "in.txt" } }, local_path: "copy.txt" }],
    });
    const [missing] = link.addTasks([["true"]], {
      resources: [{ remote_file: { Attachment: { key: "gone.txt" } }, local_path: "gone.txt" }],
    });
    await using pool = await startPool(link, { worker_count: 1 }, { resourceUrl });
    await finished(pool.execution, 60_000);
    assertEquals(await Deno.readTextFile(`${out}/copied`), "payload");
    assertEquals(asked, ["in.txt", "gone.txt"]);
    assertEquals(link.commits.get(found.uuid), [{ exit_status: 0, msg: null }]);
    assertEquals(link.opsOf(missing.uuid), ["Cancel", "Commit"]);
    assertEquals(link.commits.get(missing.uuid), [{ exit_status: 0, msg: "ResourceNotFound" }]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** Whether process `pid` is alive (exists and is not a zombie). */
function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/** Waits until `check` holds, polling every 50 ms, at most `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a task that SIGKILLs its worker is retried by the manager, recorded each time (in order) and aborted after 3", async () => {
  const link = new FakeLink();
  // The first report is slow to process: the later ones must still arrive after it.
  link.failureDelayMs = (count) => count === 1 ? 1_500 : 0;
  const marker = uniqueSleep(30);
  const normal = link.addTasks(Array.from({ length: 10 }, () => ["true"]));
  const [killer] = link.addTasks([["sh", "-c", `kill -KILL $MITOSIS_WORKER_PID; sleep ${marker}`]]);
  await using pool = await startPool(link, { worker_count: 2, task_prefetch_count: 4 });
  const summary = await finished(pool.execution, 120_000);

  assertEquals(link.failuresOf(killer.uuid), [1, 2, 3]);
  for (const failure of link.failures) assertTrue(failure.errorMessage.includes("SIGKILL"), failure.errorMessage);
  assertEquals(link.aborts.map((a) => a.taskUuid), [killer.uuid]);
  assertTrue(link.aborts[0].reason.includes("3 crashes"), link.aborts[0].reason);
  assertEquals(link.commits.has(killer.uuid), false);
  for (const task of normal) assertEquals(link.commits.get(task.uuid)?.length, 1);
  assertEquals(summary.tasksCompleted, 10);
  assertEquals(summary.tasksAborted, 1);
  assertEquals(summary.tasksFailed, 1);
  // 2 + a respawn after each crash but the last (nothing was left to run then).
  assertTrue(summary.workersSpawned >= 4, `workers spawned: ${summary.workersSpawned}`);
  assertEquals(summary.end, "drained");
  // The task's own processes (left behind by the killed worker) were killed with it.
  assertEquals(await livingProcesses(marker), []);
});

test("a task that crashes its worker with SIGSEGV is aborted after 2 failures", async () => {
  const link = new FakeLink();
  const marker = uniqueSleep(30);
  link.addTasks(Array.from({ length: 4 }, () => ["true"]));
  // Deno survives the first SIGSEGV sent by kill(2) (its fault handler returns), not the second.
  const [crasher] = link.addTasks([[
    "sh",
    "-c",
    `kill -SEGV $MITOSIS_WORKER_PID; sleep 0.3; kill -SEGV $MITOSIS_WORKER_PID; sleep ${marker}`,
  ]]);
  await using pool = await startPool(link, { worker_count: 2, task_prefetch_count: 4 });
  const summary = await finished(pool.execution, 120_000);

  assertEquals(link.failuresOf(crasher.uuid), [1, 2]);
  assertTrue(link.failures[0].errorMessage.includes("SIGSEGV"), link.failures[0].errorMessage);
  assertEquals(link.aborts.map((a) => a.taskUuid), [crasher.uuid]);
  assertEquals(summary.tasksCompleted, 4);
  assertEquals(summary.tasksAborted, 1);
  assertEquals(await livingProcesses(marker), []);
});

test("a non-zero worker exit counts as a crash (abort after 3); a worker exiting 0 on SIGTERM does not", async () => {
  const link = new FakeLink();
  const dir = await Deno.makeTempDir({ prefix: "mitosis-pool-exit-" });
  // A wrapper around the worker that exits 3 when its worker's task left a flag file (a worker failing on its own).
  const wrapper = [
    "sh",
    "-c",
    `"${Deno.execPath()}" run --allow-all --no-lock "${WORKER_MAIN}" "$@" & pid=$!; wait $pid; rc=$?; ` +
    `[ -e "${dir}/exit3-$pid" ] && exit 3; exit $rc`,
    "mitosis-worker-wrapper",
  ];
  link.addTasks(Array.from({ length: 4 }, () => ["true"]));
  // SIGTERM to the worker: it stops (exit 0), a requested stop: retried without counting.
  const [stopper] = link.addTasks([[
    "sh",
    "-c",
    `[ -e "${dir}/stopped" ] || { touch "${dir}/stopped"; kill -TERM $MITOSIS_WORKER_PID; sleep 5; }`,
  ]]);
  const [failing] = link.addTasks([[
    "sh",
    "-c",
    `touch "${dir}/exit3-$MITOSIS_WORKER_PID"; kill -TERM $MITOSIS_WORKER_PID; sleep 5`,
  ]]);
  try {
    await using pool = await startPool(link, { worker_count: 2, task_prefetch_count: 2 }, { workerBinary: wrapper });
    const summary = await finished(pool.execution, 120_000);
    assertEquals(link.failuresOf(stopper.uuid), []);
    assertEquals(link.commits.get(stopper.uuid)?.length, 1, "the SIGTERMed task ran again and committed");
    assertEquals(link.failuresOf(failing.uuid), [1, 2, 3]);
    assertTrue(link.failures[0].errorMessage.includes("exited with code 3"), link.failures[0].errorMessage);
    assertEquals(link.aborts.map((a) => a.taskUuid), [failing.uuid]);
    assertEquals(summary.tasksAborted, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("cancelling a running task kills its worker and commits it UserCancellation; a prefetched one is cancelled in place", async () => {
  const link = new FakeLink();
  const marker = uniqueSleep(60);
  const released = await Deno.makeTempFile({ prefix: "mitosis-test-blocker-" });
  await Deno.remove(released);
  const [running] = link.addTasks([["sleep", marker]]);
  // Runs until the test has cancelled (the file exists), at most 30 s.
  const [blocker] = link.addTasks([[
    "sh",
    "-c",
    `i=0; while [ ! -e ${released} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`,
  ]]);
  const [waiting] = link.addTasks([["true"]]);
  const rest = link.addTasks(Array.from({ length: 5 }, () => ["true"]));
  // One worker per task slot: worker 0 takes `running`, worker 1 `blocker`; `waiting` stays prefetched.
  await using pool = await startPool(link, { worker_count: 2, task_prefetch_count: 16 });
  await until(async () => (await livingProcesses(marker)).length === 1, 30_000, "the long task to run");
  assertTrue(link.held.has(waiting.uuid));
  pool.execution.cancelTask(waiting.uuid);
  pool.execution.cancelTask(running.uuid);
  // The prefetched one is cancelled while the blocker still holds the other worker.
  await until(() => link.opsOf(waiting.uuid).length === 2, 30_000, "the prefetched task's cancellation");
  await Deno.writeTextFile(released, "");
  const summary = await finished(pool.execution, 60_000).finally(() => Deno.remove(released).catch(() => {}));

  assertEquals(await livingProcesses(marker), []);
  assertEquals(link.opsOf(running.uuid), ["Cancel", "Commit"]);
  assertEquals(link.commits.get(running.uuid), [{ exit_status: 0, msg: "UserCancellation" }]);
  assertEquals(link.opsOf(waiting.uuid), ["Cancel", "Commit"]);
  assertEquals(link.commits.get(waiting.uuid), [{ exit_status: 0, msg: "UserCancellation" }]);
  for (const task of [blocker, ...rest]) assertEquals(link.commits.get(task.uuid)?.length, 1);
  assertEquals(link.failures, []);
  assertEquals(summary.tasksFailed, 2);
  assertEquals(summary.tasksCompleted, 6);
  assertTrue(summary.workersSpawned >= 3, "the cancelled task's worker was respawned");
});

test("stop(graceful) lets running tasks finish, returns prefetched ones and leaves no process", async () => {
  const link = new FakeLink();
  const marker = uniqueSleep(1);
  const tasks = link.addTasks(Array.from({ length: 12 }, () => ["sleep", marker]));
  await using pool = await startPool(link, { worker_count: 2, task_prefetch_count: 8 });
  await until(async () => (await livingProcesses(marker)).length === 2, 30_000, "two tasks running");
  const pids = pool.execution.workerPids();
  pool.execution.stop(true);
  const summary = await finished(pool.execution, 30_000);

  assertEquals(summary.end, "stopped");
  assertEquals(summary.tasksCompleted, 2, "the two running tasks finished");
  // 8 prefetched: 2 ran, 6 went back (to the 4 never claimed).
  assertEquals(link.returns.flat().length, 6);
  assertEquals(link.ready.length, 10);
  for (const task of tasks) {
    const committed = link.commits.get(task.uuid)?.length ?? 0;
    const ready = link.ready.some((t) => t.uuid === task.uuid) ? 1 : 0;
    assertEquals(committed + ready, 1, `task ${task.uuid} committed or Ready again`);
  }
  assertEquals(link.held.size, 0);
  assertEquals(await livingProcesses(marker), []);
  for (const pid of pids) assertEquals(isAlive(pid), false, `worker ${pid} gone`);
});

test("stop(force) kills workers and their tasks at once and returns every task not committed", async () => {
  const link = new FakeLink();
  const marker = uniqueSleep(60);
  link.addTasks(Array.from({ length: 6 }, () => ["sleep", marker]));
  await using pool = await startPool(link, { worker_count: 2, task_prefetch_count: 4 });
  await until(async () => (await livingProcesses(marker)).length === 2, 30_000, "two tasks running");
  const pids = pool.execution.workerPids();
  const started = Date.now();
  pool.execution.stop(false);
  const summary = await finished(pool.execution, 15_000);

  assertTrue(Date.now() - started < 10_000, "stopped without waiting for the tasks");
  assertEquals(summary.end, "stopped");
  assertEquals(summary.tasksCompleted, 0);
  assertEquals(link.commits.size, 0);
  // 4 claimed: 2 unstarted and 2 killed, all handed back (to the 2 never claimed).
  assertEquals(link.returns.flat().length, 4);
  assertEquals(link.ready.length, 6);
  assertEquals(link.held.size, 0);
  assertEquals(link.failures, [], "a requested stop is not a crash");
  assertEquals(await livingProcesses(marker), []);
  for (const pid of pids) assertEquals(isAlive(pid), false, `worker ${pid} gone`);
});

test("workers that cannot start are retried with a backoff, then given up; the prefetched tasks are returned", async () => {
  const link = new FakeLink();
  link.addTasks(Array.from({ length: 3 }, () => ["true"]));
  await using pool = await startPool(link, { worker_count: 2, task_prefetch_count: 4 }, {
    workerBinary: ["sh", "-c", "exit 1", "broken-worker"],
  });
  const summary = await finished(pool.execution, 30_000);
  assertEquals(summary.end, "workers-failed");
  assertEquals(summary.workersSpawned, 10, "5 tries per worker slot");
  assertEquals(link.returns.flat().length, 3);
  assertEquals(link.held.size, 0);
  assertEquals(link.failures, [], "no task ran, so none failed");
});

test("workers run with their CPU set (taskset) and CUDA_VISIBLE_DEVICES, and tasks see both", async () => {
  const link = new FakeLink();
  const dir = await Deno.makeTempDir({ prefix: "mitosis-pool-binding-" });
  try {
    link.addTasks(Array.from({ length: 8 }, () => [
      "sh",
      "-c",
      `echo "$MITOSIS_WORKER_LOCAL_ID $CUDA_VISIBLE_DEVICES $(grep Cpus_allowed_list /proc/self/status | cut -f2)" ` +
      `> "${dir}/$MITO_TASK_UUID"`,
    ]));
    await using pool = await startPool(link, {
      worker_count: 2,
      cpu_binding: { cores: [0, 1], strategy: "RoundRobin" },
      gpu_binding: { gpus: ["0", "1"], per_worker: 1 },
    }, { gpus: ["GPU-aaaa", "GPU-bbbb"] });
    const summary = await finished(pool.execution, 60_000);
    assertEquals(summary.tasksCompleted, 8);
    // Core 1 is dropped (and worker 1 shares core 0) only where the manager may not use it.
    const second = allowedCores()?.has(1) === false ? 0 : 1;
    const seen = new Set<string>();
    for await (const entry of Deno.readDir(dir)) seen.add((await Deno.readTextFile(`${dir}/${entry.name}`)).trim());
    for (const line of seen) assertTrue(line === "0 GPU-aaaa 0" || line === `1 GPU-bbbb ${second}`, line);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("CPU binding: RoundRobin, Exclusive slices, Shared, unavailable cores dropped, Exclusive falls back", () => {
  assertEquals(cpuPlan({ cores: [0, 1, 2], strategy: "RoundRobin" }, 5).sets, [[0], [1], [2], [0], [1]]);
  assertEquals(cpuPlan({ cores: [0, 1, 2, 3, 4], strategy: "Exclusive" }, 2).sets, [[0, 1, 2], [3, 4]]);
  assertEquals(cpuPlan({ cores: [4, 5, 6, 7], strategy: "Exclusive" }, 4).sets, [[4], [5], [6], [7]]);
  assertEquals(cpuPlan({ cores: [3, 1, 1, 2], strategy: "Shared" }, 2).sets, [[1, 2, 3], [1, 2, 3]]);
  assertEquals(cpuPlan(null, 2).sets, [null, null]);

  const dropped = cpuPlan({ cores: [0, 1, 8, 9], strategy: "RoundRobin" }, 3, new Set([0, 1]));
  assertEquals(dropped.sets, [[0], [1], [0]]);
  assertIncludes(dropped.notes.join(";"), "8,9");
  const none = cpuPlan({ cores: [8], strategy: "Shared" }, 2, new Set([0, 1]));
  assertEquals(none.sets, [null, null]);
  const fallback = cpuPlan({ cores: [0, 1], strategy: "Exclusive" }, 3);
  assertEquals(fallback.sets, [[0], [1], [0]]);
  assertIncludes(fallback.notes.join(";"), "RoundRobin");

  assertEquals([...parseCpuList("0-2,5,7-8")!], [0, 1, 2, 5, 7, 8]);
  assertEquals(parseCpuList("0-"), null);
  assertEquals(tasksetPrefix("/usr/bin/taskset", [0, 2]), ["/usr/bin/taskset", "-c", "0,2"]);
  assertEquals(tasksetPrefix("/usr/bin/taskset", null), []);
});

test("GPU binding: host GPUs from the mask, MITOSIS_GPUS or nvidia-smi; per-worker masks honour an existing mask", () => {
  const smi = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aaaa)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-bbbb)\n";
  assertEquals(parseNvidiaSmiList(smi), ["GPU-aaaa", "GPU-bbbb"]);
  assertEquals(hostGpusFrom({}, smi), { ids: ["GPU-aaaa", "GPU-bbbb"], source: "nvidia-smi" });
  assertEquals(hostGpusFrom({ MITOSIS_GPUS: "0, 1,2,3" }, smi), { ids: ["0", "1", "2", "3"], source: "MITOSIS_GPUS" });
  // An existing mask wins over everything: workers only ever get GPUs of it.
  assertEquals(hostGpusFrom({ CUDA_VISIBLE_DEVICES: "4,5", MITOSIS_GPUS: "0,1,2,3" }, smi), {
    ids: ["4", "5"],
    source: "CUDA_VISIBLE_DEVICES",
  });
  assertEquals(hostGpusFrom({ CUDA_VISIBLE_DEVICES: "" }, smi).ids, []);
  assertEquals(hostGpusFrom({ CUDA_VISIBLE_DEVICES: "-1" }, smi).ids, []);
  assertEquals(hostGpusFrom({}, null), { ids: [], source: "none" });

  // Numbers are ordinals in the visible list (as CUDA renumbers a masked process's devices).
  const masked = gpuPlan({ gpus: ["0", "1"], per_worker: 1 }, ["4", "5", "6"], 3);
  assertEquals(masked.masks, ["4", "5", "4"]);
  assertEquals(gpuPlan({ gpus: ["0", "1", "2", "3"], per_worker: 2 }, ["0", "1", "2", "3"], 2).masks, ["0,1", "2,3"]);
  assertEquals(gpuPlan({ gpus: ["GPU-bbbb"], per_worker: 1 }, ["GPU-aaaa", "GPU-bbbb"], 2).masks, [
    "GPU-bbbb",
    "GPU-bbbb",
  ]);
  const missing = gpuPlan({ gpus: ["7", "GPU-zzzz"], per_worker: 1 }, ["4", "5"], 2);
  assertEquals(missing.masks, ["", ""], "no visible GPU of the binding: no GPU rather than all of them");
  assertEquals(missing.notes.length, 3);
  assertEquals(gpuPlan(null, ["0"], 2).masks, [null, null]);
  assertEquals(gpuPlan({ gpus: ["0"], per_worker: 3 }, ["0", "1"], 1).masks, ["0"]);
});

test("worker exits are classified per SPEC 5.5", () => {
  const cases: [{ code: number; signal: string | null }, boolean, string, number | null][] = [
    [{ code: 139, signal: "SIGSEGV" }, false, "fatal-signal", 2],
    [{ code: 132, signal: "SIGILL" }, false, "fatal-signal", 2],
    [{ code: 135, signal: "SIGBUS" }, false, "fatal-signal", 2],
    [{ code: 136, signal: "SIGFPE" }, false, "fatal-signal", 2],
    [{ code: 137, signal: "SIGKILL" }, false, "killed", 3],
    [{ code: 134, signal: "SIGABRT" }, false, "killed", 3],
    [{ code: 3, signal: null }, false, "exit-code", 3],
    [{ code: 143, signal: "SIGTERM" }, false, "requested", null],
    [{ code: 130, signal: "SIGINT" }, false, "requested", null],
    [{ code: 0, signal: null }, false, "clean-exit", null],
    [{ code: 137, signal: "SIGKILL" }, true, "requested", null],
    [{ code: 139, signal: null }, false, "fatal-signal", 2], // a shell wrapper's 128 + SIGSEGV
    [{ code: 143, signal: null }, false, "requested", null],
  ];
  for (const [exit, requested, cause, threshold] of cases) {
    const c = classifyExit(exit, requested);
    assertEquals([c.cause, c.abortThreshold], [cause, threshold], JSON.stringify(exit));
  }
  assertEquals(classifyExit({ code: 139, signal: "SIGSEGV" }, false).description, "killed by SIGSEGV");
});

test("Finish and Commit are acknowledged at once: workers go on while the coordinator does not answer; the end waits for the answers", async () => {
  const link = new FakeLink();
  const dir = await Deno.makeTempDir({ prefix: "mitosis-pool-gate-" });
  let open = () => {};
  link.reportGate = new Promise((resolve) => open = resolve);
  const tasks = link.addTasks(Array.from({ length: 6 }, () => ["sh", "-c", `echo "$MITO_TASK_UUID" >> ${dir}/ran`]));
  try {
    await using pool = await startPool(link, { worker_count: 2, task_prefetch_count: 6 });
    // All six run although no report has been answered.
    await until(
      async () => {
        const text = await Deno.readTextFile(`${dir}/ran`).catch(() => "");
        return text.trim().split("\n").filter((l) => l !== "").length === 6;
      },
      60_000,
      "every task to run",
    );
    assertEquals(link.commits.size, 0);
    assertEquals(
      await Promise.race([
        pool.execution.done.then(() => "done"),
        new Promise((resolve) => setTimeout(() => resolve("waiting"), 500)),
      ]),
      "waiting",
    );
    open();
    const summary = await finished(pool.execution, 60_000);
    assertEquals(summary.tasksCompleted, 6);
    // Each task's reports reached the coordinator in order.
    for (const task of tasks) assertEquals(link.opsOf(task.uuid), ["Complete"]);
    assertEquals(link.reportsReceived, 6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("TaskState is answered only for the task the worker's task watches; unknown tasks are NotFound", async () => {
  const link = new FakeLink();
  const watched = crypto.randomUUID();
  link.addTasks([["true"]], { watch: [watched, "ExecFinished"] });
  const buffer = new PrefetchBuffer({ link, suiteUuid: link.suiteUuid, capacity: 4, log, hasRunningTasks: () => true });
  buffer.start();
  const asked: string[] = [];
  const service = new IpcService({
    link,
    buffer,
    suiteUuid: link.suiteUuid,
    log,
    fetchWaitMs: 5_000,
    isStopping: () => false,
    onUnclaimed: () => {},
    onAbandoned: () => {},
    onCommitted: () => {},
    onAssignmentsChanged: () => {},
    onShutdownSent: () => {},
    watchedTask: (uuid) => {
      asked.push(uuid);
      return Promise.reject(new ClientError(404, `task ${uuid} not found`));
    },
  });
  const peer = { id: 1, control: () => {}, close: () => {}, closed: new Promise<void>(() => {}) };
  const state = (task_uuid: string) =>
    service.onRequest(peer, { type: "TaskState", request_id: 2, worker_local_id: 0, task_uuid });
  service.expectWorker(0, "secret-0");
  assertEquals(
    (await service.onRequest(peer, { type: "Hello", request_id: 0, worker_local_id: 0, secret: "secret-0" })).type,
    "HelloReply",
  );
  try {
    // No task yet: refused.
    assertEquals(await state(watched), {
      type: "TaskStateReply",
      request_id: 2,
      status: "Forbidden",
      state: null,
      result: null,
      error: "worker 0 runs no task",
    });
    const fetched = await service.onRequest(peer, { type: "FetchTask", request_id: 1, worker_local_id: 0 });
    assertEquals(fetched.type, "FetchTaskReply");
    // Another task than the watched one: refused without asking the coordinator.
    const other = await state(crypto.randomUUID());
    assertEquals(other.type === "TaskStateReply" ? other.status : other.type, "Forbidden");
    // The watched one: asked; the coordinator does not know it.
    const found = await state(watched);
    assertEquals(found.type === "TaskStateReply" ? [found.status, found.error] : found.type, [
      "NotFound",
      `task ${watched} not found`,
    ]);
    assertEquals(asked, [watched]);
  } finally {
    await buffer.close();
  }
});

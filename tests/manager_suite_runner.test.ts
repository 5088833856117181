/**
 * The suite state machine with a recording link and a scripted execution
 * (the real hooks run as processes): the normal path and its messages,
 * preparation failure, cancellation (graceful and forced), reclaim, a
 * refused SuiteStarted, repeated and concurrent assignments, and stopping
 * the manager with a suite running or arriving.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { type StartExecution, type SuiteLink, SuiteRunner } from "../manager/suite_runner.ts";
import { ManagerState } from "../manager/state.ts";
import { HookResourceResolver } from "../manager/hooks/resources.ts";
import { ManagerApi } from "../manager/manager_api.ts";
import type { ExecutionSummary, ReportAck, SuiteExecutionOptions } from "../manager/contracts.ts";
import { createLogger } from "../shared/log/logger.ts";
import type { HookSpec, SuiteInfo } from "../shared/wire/suites.ts";
import type { ManagedTask } from "../shared/wire/manager_ws.ts";

const MANAGER = "5a0f4c1e-7d3b-4f8e-9a21-0c6e2b7d9f10";

function suiteInfo(uuid: string, hooks: { prep?: Partial<HookSpec>; cleanup?: Partial<HookSpec> } = {}): SuiteInfo {
  const hook = (h: Partial<HookSpec> | undefined): HookSpec | null =>
    h === undefined ? null : { args: ["true"], envs: {}, resources: [], timeout: "1m", ...h };
  return {
    uuid,
    name: "train",
    description: null,
    group_name: "alice",
    creator_username: "alice",
    tags: [],
    labels: [],
    priority: 0,
    state: 0,
    state_name: "Open",
    total_tasks: 1,
    pending_tasks: 1,
    worker_schedule: { worker_count: 8, task_prefetch_count: 16 },
    env_preparation: hook(hooks.prep),
    env_cleanup: hook(hooks.cleanup),
    created_at: "",
    updated_at: "",
    completed_at: null,
    last_task_submitted_at: null,
    assigned_managers: [],
  };
}

/** A link recording the suite messages; `started` answers SuiteStarted. */
class RecordingLink implements SuiteLink {
  readonly calls: string[] = [];
  started = true;
  completed: { suite: string; done: number; failed: number; cleanupError: string | null }[] = [];
  prepareErrors: string[] = [];
  suiteStarted(suite: string) {
    this.calls.push(`SuiteStarted ${suite}`);
    return Promise.resolve(this.started);
  }
  suitePrepareFailed(suite: string, error: string) {
    this.calls.push(`SuitePrepareFailed ${suite}`);
    this.prepareErrors.push(error);
    return Promise.resolve();
  }
  suiteCompleted(suite: string, done: number, failed: number, cleanupError: string | null) {
    this.calls.push(`SuiteCompleted ${suite}`);
    this.completed.push({ suite, done, failed, cleanupError });
    return Promise.resolve();
  }
  fetchTasks(): Promise<{ tasks: ManagedTask[]; suiteState: string | null }> {
    return Promise.resolve({ tasks: [], suiteState: null });
  }
  reportTask(): Promise<ReportAck> {
    return Promise.resolve({ success: true });
  }
  reportFailure() {
    return Promise.resolve();
  }
  abortTask() {
    return Promise.resolve();
  }
  returnTasks() {
    return Promise.resolve();
  }
}

/** A scripted execution: `finish` resolves `done`; stop/cancel calls are recorded. */
class ScriptedExecution {
  readonly stops: boolean[] = [];
  readonly cancelled: string[] = [];
  readonly done: Promise<ExecutionSummary>;
  finish: (summary: ExecutionSummary) => void = () => {};
  constructor(readonly options: SuiteExecutionOptions) {
    this.done = new Promise((resolve) => this.finish = resolve);
  }
  cancelTask(uuid: string) {
    this.cancelled.push(uuid);
  }
  stop(graceful: boolean) {
    this.stops.push(graceful);
    this.finish({ tasksCompleted: 1, tasksFailed: 0 });
  }
  stats() {
    return { activeWorkers: 3 };
  }
}

async function harness(maxWorkers = 4) {
  const stateDir = await Deno.makeTempDir({ prefix: "mitosis-test-runner-" });
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("test", "debug", {}, (line) => lines.push(JSON.parse(line)));
  const link = new RecordingLink();
  const executions: ScriptedExecution[] = [];
  const startExecution: StartExecution = (options) => {
    const execution = new ScriptedExecution(options);
    executions.push(execution);
    return execution;
  };
  let heartbeats = 0;
  const state = new ManagerState(log, () => heartbeats++);
  const runner = new SuiteRunner({
    config: { state_dir: stateDir, max_workers: maxWorkers },
    managerUuid: () => MANAGER,
    link,
    state,
    startExecution,
    resolver: new HookResourceResolver(new ManagerApi("http://127.0.0.1:9", () => "token"), log),
    log,
    stopReplyWaitMs: 1_000,
  });
  const transitions = () => lines.filter((l) => l.msg === "manager state changed").map((l) => `${l.from}→${l.to}`);
  return {
    stateDir,
    link,
    state,
    runner,
    executions,
    lines,
    transitions,
    heartbeats: () => heartbeats,
    [Symbol.asyncDispose]: () => Deno.remove(stateDir, { recursive: true }),
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const S1 = "11111111-1111-4111-8111-111111111111";
const S2 = "22222222-2222-4222-8222-222222222222";

test("a suite runs preparation, execution with the suite env, cleanup, then SuiteCompleted", async () => {
  await using h = await harness(4);
  const out = `${h.stateDir}/out`;
  const suite = suiteInfo(S1, {
    prep: {
      args: ["sh", "-c", `echo "$MITOSIS_WORKER_COUNT $MITOSIS_NODE_MANAGER_ID $FLAVOUR" > ${out}; pwd >> ${out}`],
      envs: { FLAVOUR: "x" },
    },
    cleanup: { args: ["sh", "-c", "echo cleaning; exit 2"] },
  });
  h.runner.handlePush({ type: "SuiteAssigned", suite_uuid: S1, suite_spec: suite });
  h.runner.handlePush({ type: "SuiteAssigned", suite_uuid: S1, suite_spec: suite }); // repeat: no-op
  await until("the execution", () => h.executions.length === 1);
  const execution = h.executions[0];
  assertEquals(h.state.snapshot(), { state: "Executing", suiteUuid: S1 });
  assertEquals(h.runner.activeWorkers, 3);
  assertEquals(execution.options.workerCount, 4);
  assertEquals(execution.options.workDir, `${h.stateDir}/suites/${S1}`);
  assertEquals(execution.options.env.FLAVOUR, "x");
  assertEquals(execution.options.env.MITOSIS_TASK_SUITE_UUID, S1);
  assertEquals(execution.options.env.MITOSIS_WORKER_COUNT, "4");
  assertEquals((await Deno.readTextFile(out)).split("\n").slice(0, 2), [
    `4 ${MANAGER} x`,
    `${h.stateDir}/suites/${S1}`,
  ]);
  h.runner.handlePush({ type: "CancelTask", task_uuid: "33333333-3333-4333-8333-333333333333", reason: "by alice" });
  assertEquals(execution.cancelled, ["33333333-3333-4333-8333-333333333333"]);

  execution.finish({ tasksCompleted: 5, tasksFailed: 1 });
  await until("Idle", () => h.state.state === "Idle");
  assertEquals(h.transitions(), ["Idle→Preparing", "Preparing→Executing", "Executing→Cleanup", "Cleanup→Idle"]);
  assertEquals(h.link.calls, [`SuiteStarted ${S1}`, `SuiteCompleted ${S1}`]);
  assertEquals(h.link.completed[0].done, 5);
  assertEquals(h.link.completed[0].failed, 1);
  assertIncludes(h.link.completed[0].cleanupError ?? "", "cleanup hook exited with code 2; last output: cleaning");
  assertTrue(h.heartbeats() >= 4, "a heartbeat per transition");
  const hooksLog = await Deno.readTextFile(`${h.stateDir}/suites/${S1}/hooks.log`);
  assertIncludes(hooksLog, "cleaning");
  assertIncludes(hooksLog, "preparation hook succeeded");
});

test("a failed preparation reports SuitePrepareFailed and starts no execution", async () => {
  await using h = await harness();
  h.runner.handlePush({
    type: "SuiteAssigned",
    suite_uuid: S1,
    suite_spec: suiteInfo(S1, { prep: { args: ["sh", "-c", "echo no GPU >&2; exit 4"] }, cleanup: {} }),
  });
  await until("the report", () => h.link.calls.length === 1);
  await until("Idle", () => h.state.state === "Idle");
  assertEquals(h.link.calls, [`SuitePrepareFailed ${S1}`]);
  assertIncludes(h.link.prepareErrors[0], "preparation hook exited with code 4; last output: no GPU");
  assertEquals(h.executions.length, 0);
  assertEquals(h.transitions(), ["Idle→Preparing", "Preparing→Idle"]);
});

test("CancelSuite stops the pool gracefully, or at once with cancel_running_tasks, and the suite completes", async () => {
  for (const force of [false, true]) {
    await using h = await harness();
    h.runner.handlePush({ type: "SuiteAssigned", suite_uuid: S1, suite_spec: suiteInfo(S1, { cleanup: {} }) });
    await until("the execution", () => h.executions.length === 1);
    h.runner.handlePush({ type: "CancelSuite", suite_uuid: S2, reason: "other", cancel_running_tasks: true });
    assertEquals(h.executions[0].stops, []);
    h.runner.handlePush({ type: "CancelSuite", suite_uuid: S1, reason: "by alice", cancel_running_tasks: force });
    await until("Idle", () => h.state.state === "Idle");
    assertEquals(h.executions[0].stops, [!force]);
    assertEquals(h.link.calls, [`SuiteStarted ${S1}`, `SuiteCompleted ${S1}`]);
    assertEquals(h.link.completed[0].cleanupError, null);
  }
});

test("SuiteReclaimed stops the pool at once, runs cleanup and sends no SuiteCompleted", async () => {
  await using h = await harness();
  const marker = `${h.stateDir}/cleaned`;
  h.runner.handlePush({
    type: "SuiteAssigned",
    suite_uuid: S1,
    suite_spec: suiteInfo(S1, { cleanup: { args: ["touch", marker] } }),
  });
  await until("the execution", () => h.executions.length === 1);
  h.runner.handlePush({ type: "SuiteReclaimed", suite_uuid: S1 });
  assertEquals(h.state.snapshot().suiteUuid, null);
  await until("Idle", () => h.state.state === "Idle");
  assertEquals(h.executions[0].stops, [false]);
  assertEquals(h.link.calls, [`SuiteStarted ${S1}`]);
  assertTrue((await Deno.stat(marker)).isFile);
});

test("a SuiteReclaimed answering a heartbeat that overtook the suite's SuiteCompleted is ignored", async () => {
  // The Cleanup transition's heartbeat (naming the suite) reached the coordinator after SuiteCompleted released it.
  await using h = await harness();
  let acknowledge = () => {};
  h.link.suiteCompleted = (suite: string) => {
    h.link.calls.push(`SuiteCompleted ${suite}`);
    return new Promise<void>((resolve) => acknowledge = resolve);
  };
  h.runner.handlePush({ type: "SuiteAssigned", suite_uuid: S1, suite_spec: suiteInfo(S1) });
  await until("the execution", () => h.executions.length === 1);
  h.executions[0].finish({ tasksCompleted: 1, tasksFailed: 0 });
  await until("SuiteCompleted", () => h.link.calls.length === 2);
  h.runner.handlePush({ type: "SuiteReclaimed", suite_uuid: S1 });
  assertEquals(h.lines.filter((l) => l.msg === "suite reclaimed by the coordinator; stopping its work"), []);
  assertEquals(h.state.snapshot(), { state: "Cleanup", suiteUuid: S1 });
  acknowledge();
  await until("Idle", () => h.state.state === "Idle");
  assertEquals(h.executions[0].stops, []);
  assertEquals(h.link.calls, [`SuiteStarted ${S1}`, `SuiteCompleted ${S1}`]);
});

test("a reclaim during preparation terminates the hook; a refused SuiteStarted drops the suite", async () => {
  await using h = await harness();
  h.runner.handlePush({
    type: "SuiteAssigned",
    suite_uuid: S1,
    suite_spec: suiteInfo(S1, { prep: { args: ["sleep", "30"] } }),
  });
  await until("the hook", () => h.lines.some((l) => l.msg === "task process spawned"));
  h.runner.handlePush({ type: "SuiteReclaimed", suite_uuid: S1 });
  await until("Idle", () => h.state.state === "Idle");
  assertEquals(h.link.calls, []);
  assertEquals(h.executions.length, 0);
  assertEquals(h.transitions(), ["Idle→Preparing", "Preparing→Cleanup", "Cleanup→Idle"]);

  h.link.started = false;
  h.runner.handlePush({ type: "SuiteAssigned", suite_uuid: S2, suite_spec: suiteInfo(S2) });
  await until("Idle again", () => h.link.calls.length === 1 && h.state.state === "Idle");
  assertEquals(h.link.calls, [`SuiteStarted ${S2}`]);
  assertEquals(h.executions.length, 0);
});

test("another suite assigned while busy is ignored; one assigned while stopping is given back", async () => {
  await using h = await harness();
  h.runner.handlePush({ type: "SuiteAssigned", suite_uuid: S1, suite_spec: suiteInfo(S1) });
  await until("the execution", () => h.executions.length === 1);
  h.runner.handlePush({ type: "SuiteAssigned", suite_uuid: S2, suite_spec: suiteInfo(S2) });
  assertEquals(h.executions.length, 1);
  assertEquals(h.runner.activeSuiteUuid, S1);

  const stopped = h.runner.shutdown(true);
  h.runner.handlePush({ type: "SuiteAssigned", suite_uuid: S2, suite_spec: suiteInfo(S2) });
  await stopped;
  assertEquals(h.executions[0].stops, [true]);
  assertEquals(h.state.state, "Idle");
  assertEquals(h.link.calls.sort(), [`SuiteCompleted ${S1}`, `SuiteCompleted ${S2}`, `SuiteStarted ${S1}`]);
  assertEquals(h.executions.length, 1);
});

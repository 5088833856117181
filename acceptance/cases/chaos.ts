/**
 * The `chaos` acceptance case: a suite of short tasks on 2 node managers × 4
 * managed workers and standalone tasks on 4 independent workers, served by
 * two coordinators on one dedicated PostgreSQL behind a local TCP balancer
 * (`../support/chaos_cluster.ts`), while a schedule of faults hits every part
 * of the system, one at a time, each followed by its recovery:
 *
 * - SIGKILL of a managed worker running a task (a few times);
 * - SIGKILL of a node manager, restarted on the same state dir;
 * - SIGSTOP of a node manager until the coordinators mark it Offline
 *   (`manager_heartbeat_timeout` 6 s here), then SIGCONT;
 * - SIGKILL of the coordinator holding the most manager connections,
 *   restarted on the same port behind the balancer;
 * - `pg_terminate_backend` of every connection to the database;
 * - a restart of PostgreSQL (stop, start on the same port and data dir).
 *
 * Every execution of every task leaves evidence (`../support/chaos_evidence.ts`);
 * the tasks pause between their evidence lines so that work remains for every
 * fault (the pause is read from a file the case adjusts before each fault),
 * and once the schedule is over the rest runs without pause. The verdict
 * (`../support/chaos_checks.ts`): no task lost, none committed twice,
 * executions repeated only after faults (counted), nothing left running once
 * everything is stopped, and each fault's recovery time.
 */
import type { AcceptanceCase, CaseContext, CaseOutcome, Scale } from "../case.ts";
import {
  CHAOS_USER,
  ChaosCluster,
  type CoordinatorSlot,
  jsonLines,
  type ManagerSlot,
  poll,
  sleep,
} from "../support/chaos_cluster.ts";
import { readEvidence, readEvidenceOf, taskScript } from "../support/chaos_evidence.ts";
import { chaosVerdict, type FaultOutcome, seconds } from "../support/chaos_checks.ts";
import { NodeManagerStateCode } from "../../shared/wire/managers.ts";
import type { SuiteInfo } from "../../shared/wire/suites.ts";
import { call } from "../../tests/support/http.ts";

/** The coordinators' `manager_heartbeat_timeout`. */
const MANAGER_HEARTBEAT_TIMEOUT_S = 6;
const MANAGERS = 2;
const WORKERS_PER_MANAGER = 4;
const INDEPENDENT_WORKERS = 4;

/** A fault of the schedule. */
type FaultKind =
  | "worker-kill"
  | "manager-kill"
  | "manager-freeze"
  | "coordinator-kill"
  | "db-terminate"
  | "db-restart";

interface PlannedFault {
  kind: FaultKind;
  /** Manager index (worker and manager faults). A coordinator kill takes the one holding the most managers. */
  target?: number;
}

/** What one scale runs. */
interface ChaosPlan {
  suiteTasks: number;
  standaloneTasks: number;
  schedule: PlannedFault[];
  /** Expected length of one fault with its recovery, to pace the tasks until the schedule has run a fault. */
  faultEstimateS: number;
  /** Longest wait for a fault's recovery before the case calls it a hang. */
  recoveryTimeoutMs: number;
  /** Longest wait for the remaining tasks once the schedule is over. */
  drainTimeoutMs: number;
}

const ROUND: PlannedFault[] = [
  { kind: "worker-kill", target: 0 },
  { kind: "coordinator-kill" },
  { kind: "db-terminate" },
  { kind: "manager-kill", target: 1 },
  { kind: "worker-kill", target: 1 },
  { kind: "db-restart" },
  { kind: "manager-freeze", target: 0 },
  { kind: "coordinator-kill" },
  { kind: "worker-kill", target: 0 },
];

const PLANS: Record<Scale, ChaosPlan> = {
  quick: {
    suiteTasks: 1_000,
    standaloneTasks: 100,
    schedule: ROUND,
    faultEstimateS: 6,
    recoveryTimeoutMs: 60_000,
    drainTimeoutMs: 90_000,
  },
  full: {
    suiteTasks: 5_000,
    standaloneTasks: 500,
    // The round, then each fault again on the other manager.
    schedule: [
      ...ROUND,
      { kind: "manager-kill", target: 0 },
      { kind: "worker-kill", target: 1 },
      { kind: "db-terminate" },
      { kind: "manager-freeze", target: 1 },
      { kind: "db-restart" },
      { kind: "coordinator-kill" },
    ],
    faultEstimateS: 6,
    recoveryTimeoutMs: 90_000,
    drainTimeoutMs: 240_000,
  },
};

const FAULT_TITLES: Record<FaultKind, string> = {
  "worker-kill": "SIGKILL of a managed worker running a task",
  "manager-kill": "SIGKILL of a node manager, restarted on its state dir",
  "manager-freeze":
    `SIGSTOP of a node manager until Offline (manager_heartbeat_timeout ${MANAGER_HEARTBEAT_TIMEOUT_S} s), ` +
    "SIGCONT",
  "coordinator-kill": "SIGKILL of a coordinator, restarted on its port behind the balancer",
  "db-terminate": "pg_terminate_backend of every connection to the database",
  "db-restart": "PostgreSQL restart (stop, start on the same port and data dir)",
};

/**
 * Something a fault touched, and how its recovery shows: the time of the
 * first commit that proves it works again, or null while there is none.
 */
interface Party {
  label: string;
  probe(): Promise<number | null>;
}

/** A fault being injected or recovered from. */
interface FaultRecord {
  index: number;
  kind: FaultKind;
  injectedAt: number;
  parties: Party[];
  /** Per party label: when it recovered. */
  recovered: Map<string, number>;
  notes: string[];
  pendingAtInjection: { suite: number; standalone: number };
}

/**
 * Seconds each task pauses so that `tasks` tasks on `workers` workers last
 * 1.2 × `scheduleS` (0.05 s to 5 s).
 */
function taskPace(tasks: number, workers: number, scheduleS: number): number {
  return Math.min(5, Math.max(0.05, (1.2 * workers * scheduleS) / Math.max(tasks, 1)));
}

/** `NAME=value` entries of a process's environment, or null when unreadable. */
function environOf(pid: number): Map<string, string> | null {
  try {
    const entries = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0").filter((e) => e.includes("="));
    return new Map(entries.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
  } catch {
    return null;
  }
}

/** Living pids (zombies excluded). */
function livingPids(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
      if (state !== "Z" && state !== "X") pids.push(Number(entry.name));
    } catch {
      continue;
    }
  }
  return pids;
}

/** Tasks running now under manager `uuid`: their managed worker's pid and local id, from the tasks' environment. */
function runningManagedTasks(managerUuid: string): { workerPid: number; localId: number; task: string }[] {
  const found = new Map<number, { workerPid: number; localId: number; task: string }>();
  for (const pid of livingPids()) {
    const env = environOf(pid);
    if (env?.get("MITOSIS_NODE_MANAGER_ID") !== managerUuid) continue;
    const task = env.get("MITO_TASK_UUID");
    const workerPid = Number(env.get("MITOSIS_WORKER_PID"));
    const localId = Number(env.get("MITOSIS_WORKER_LOCAL_ID"));
    if (task === undefined || !(workerPid > 0)) continue;
    found.set(workerPid, { workerPid, localId, task });
  }
  return [...found.values()];
}

/** Processes (workers and tasks) carrying manager `uuid` in their environment. */
function processesOfManager(managerUuid: string): number[] {
  return livingPids().filter((pid) => environOf(pid)?.get("MITOSIS_NODE_MANAGER_ID") === managerUuid);
}

/** Injects the faults of a schedule into `cluster` and waits for each recovery. */
class FaultInjector {
  readonly #cluster: ChaosCluster;
  readonly #signal: AbortSignal;
  readonly #killedSlots = new Set<string>();

  constructor(cluster: ChaosCluster, signal: AbortSignal) {
    this.#cluster = cluster;
    this.#signal = signal;
  }

  #managerParty(m: ManagerSlot, after: number): Party {
    return { label: `${m.name} commits`, probe: () => this.#cluster.firstCommit([m.uuid], after) };
  }

  #independentParty(after: number): Party {
    const uuids = this.#cluster.workers.map((w) => w.uuid);
    return { label: "an independent worker commits", probe: () => this.#cluster.firstCommit(uuids, after) };
  }

  /** Injects `planned` (fault number `index`); resolves once the fault is over, before its recovery. */
  async inject(planned: PlannedFault, index: number): Promise<FaultRecord> {
    const cluster = this.#cluster;
    const pendingAtInjection = await cluster.pendingCounts();
    const record = (injectedAt: number, parties: Party[], notes: string[]): FaultRecord => ({
      index,
      kind: planned.kind,
      injectedAt,
      parties,
      recovered: new Map(),
      notes,
      pendingAtInjection,
    });
    const independent = (after: number) => pendingAtInjection.standalone > 0 ? [this.#independentParty(after)] : [];
    switch (planned.kind) {
      case "worker-kill": {
        const m = cluster.managers[planned.target ?? 0];
        const victim = await poll(
          () => {
            const running = runningManagedTasks(m.uuid);
            return running.find((r) => !this.#killedSlots.has(`${m.uuid}/${r.localId}`)) ?? running[0] ?? null;
          },
          30_000,
          this.#signal,
          100,
        );
        if (victim === null) throw new Error(`no task ran on ${m.name} for 30 s`);
        this.#killedSlots.add(`${m.uuid}/${victim.localId}`);
        const injectedAt = Date.now();
        Deno.kill(victim.workerPid, "SIGKILL");
        // Recovered once a new worker process in that slot finished a task and the task was committed.
        const slot: Party = {
          label: `${m.name} worker ${victim.localId} respawned and its first task committed`,
          probe: async () => {
            const done = (await readEvidenceOf(cluster.dir, `m_${m.uuid}_${victim.localId}_`)).find((e) =>
              e.runner.kind === "managed" && e.runner.workerPid !== victim.workerPid && e.end !== null &&
              e.start >= injectedAt
            );
            if (done === undefined) return null;
            const rows = await cluster.retrying(() =>
              cluster.sql<{ at: Date }[]>`SELECT updated_at AS at FROM archived_tasks WHERE uuid = ${done.task}`
            );
            return rows[0]?.at.getTime() ?? null;
          },
        };
        return record(injectedAt, [slot], [
          `${m.name} worker ${victim.localId} (pid ${victim.workerPid}) killed while running task ${victim.task}`,
        ]);
      }
      case "manager-kill": {
        const m = cluster.managers[planned.target ?? 0];
        const injectedAt = Date.now();
        await cluster.killManager(m);
        // Its workers notice the closed IPC connection and exit, killing their tasks.
        const gone = await poll(() => processesOfManager(m.uuid).length === 0, 15_000, this.#signal, 100);
        const notes = [
          gone === null
            ? `its workers or tasks still ran 15 s after the kill: pids ${processesOfManager(m.uuid).join(", ")}`
            : `its workers and tasks gone ${seconds(Date.now() - injectedAt)} s after the kill`,
        ];
        await cluster.restartManager(m);
        const clearedAt = Date.now();
        notes.push(`restarted and connected ${seconds(clearedAt - injectedAt)} s after the kill`);
        return record(injectedAt, [this.#managerParty(m, clearedAt)], notes);
      }
      case "manager-freeze": {
        const m = cluster.managers[planned.target ?? 0];
        const injectedAt = Date.now();
        m.process.signal("SIGSTOP");
        const offline = await poll(
          async () => {
            const rows = await cluster.retrying(() =>
              cluster.sql<{ state: number }[]>`SELECT state FROM node_managers WHERE uuid = ${m.uuid}`
            );
            return rows[0]?.state === NodeManagerStateCode.Offline;
          },
          (MANAGER_HEARTBEAT_TIMEOUT_S + 20) * 1000,
          this.#signal,
          100,
        );
        const offlineAt = Date.now();
        await sleep(1_000, this.#signal);
        m.process.signal("SIGCONT");
        const clearedAt = Date.now();
        return record(injectedAt, [this.#managerParty(m, clearedAt)], [
          offline === null
            ? `never marked Offline while stopped for ${seconds(clearedAt - injectedAt)} s`
            : `marked Offline ${seconds(offlineAt - injectedAt)} s after SIGSTOP; SIGCONT after ` +
              `${seconds(clearedAt - injectedAt)} s`,
        ]);
      }
      case "coordinator-kill": {
        const sessions = await Promise.all(cluster.coordinators.map((c) => cluster.managersOn(c)));
        const target = sessions[1].length > sessions[0].length ? 1 : 0;
        const c: CoordinatorSlot = cluster.coordinators[target];
        const touched = cluster.managers.filter((m) => sessions[target].includes(m.uuid));
        const injectedAt = Date.now();
        await cluster.killAndRestartCoordinator(c);
        return record(injectedAt, [
          ...touched.map((m) => this.#managerParty(m, injectedAt)),
          ...independent(injectedAt),
        ], [
          `${c.name} held the WebSocket of ${touched.map((m) => m.name).join(" and ") || "no manager"}`,
          `restarted and listening ${seconds(Date.now() - injectedAt)} s after the kill`,
        ]);
      }
      case "db-terminate": {
        const injectedAt = Date.now();
        const terminated = await cluster.terminateBackends();
        return record(
          injectedAt,
          [...cluster.managers.map((m) => this.#managerParty(m, injectedAt)), ...independent(injectedAt)],
          [`${terminated} backends terminated`],
        );
      }
      case "db-restart": {
        const injectedAt = Date.now();
        const { stoppedAt } = await cluster.restartPostgres();
        const clearedAt = Date.now();
        return record(
          injectedAt,
          [...cluster.managers.map((m) => this.#managerParty(m, clearedAt)), ...independent(clearedAt)],
          [`stopped in ${seconds(stoppedAt - injectedAt)} s, started again in ${seconds(clearedAt - stoppedAt)} s`],
        );
      }
    }
  }

  /** Waits until every party of `fault` has recovered; true when all did within `timeoutMs` of the injection. */
  async awaitRecovery(fault: FaultRecord, timeoutMs: number): Promise<boolean> {
    const deadline = fault.injectedAt + timeoutMs;
    for (;;) {
      for (const party of fault.parties) {
        if (fault.recovered.has(party.label)) continue;
        const at = await party.probe();
        if (at !== null) fault.recovered.set(party.label, at);
      }
      if (fault.parties.every((p) => fault.recovered.has(p.label))) return true;
      if (Date.now() > deadline) return false;
      await sleep(250, this.#signal);
    }
  }
}

/** `FaultRecord` → the verdict's view of it. */
function outcomeOf(fault: FaultRecord): FaultOutcome {
  return {
    index: fault.index,
    kind: fault.kind,
    label: FAULT_TITLES[fault.kind],
    injectedAt: fault.injectedAt,
    parties: fault.parties.map((p) => ({ label: p.label, at: fault.recovered.get(p.label) ?? null })),
    notes: fault.notes,
    pendingAtInjection: fault.pendingAtInjection,
  };
}

/** Runs the case. */
async function runChaos(ctx: CaseContext): Promise<CaseOutcome> {
  const plan = PLANS[ctx.scale];
  const signal = ctx.signal;
  const dir = ctx.dir.replace(/\/+$/, "");
  const startedAt = Date.now();
  const scale = `2 coordinators on one PostgreSQL behind a TCP balancer; ${MANAGERS} managers × ` +
    `${WORKERS_PER_MANAGER} workers × ${plan.suiteTasks.toLocaleString("en")} suite tasks; ` +
    `${INDEPENDENT_WORKERS} independent workers × ${plan.standaloneTasks.toLocaleString("en")} standalone tasks; ` +
    `${plan.schedule.length} faults` +
    (ctx.scale === "quick" ? " (guide: ≥ 5,000 suite tasks + 500 standalone, 15 faults at full scale)" : "");
  await Deno.mkdir(`${dir}/evidence`, { recursive: true });
  const setPace = async (suite: number, standalone: number) => {
    await Deno.writeTextFile(`${dir}/pace-suite`, `${suite.toFixed(2)}\n`);
    await Deno.writeTextFile(`${dir}/pace-standalone`, `${standalone.toFixed(2)}\n`);
  };
  const managedWorkers = MANAGERS * WORKERS_PER_MANAGER;
  const initialScheduleS = plan.schedule.length * plan.faultEstimateS;
  await setPace(
    taskPace(plan.suiteTasks, managedWorkers, initialScheduleS),
    taskPace(plan.standaloneTasks, INDEPENDENT_WORKERS, initialScheduleS),
  );

  const cluster = await ChaosCluster.start({
    dir,
    managers: MANAGERS,
    workersPerManager: WORKERS_PER_MANAGER,
    independentWorkers: INDEPENDENT_WORKERS,
    managerHeartbeatTimeoutS: MANAGER_HEARTBEAT_TIMEOUT_S,
    signal,
    log: ctx.log,
  });
  const onAbort = () => cluster.killAllSync();
  signal.addEventListener("abort", onAbort, { once: true });
  let stopped = false;
  try {
    // --- The suite and every task, submitted before the first fault.
    const suiteRes = await call(cluster.url, "POST", "/suites", {
      token: cluster.token,
      body: {
        group_name: CHAOS_USER.name,
        name: "chaos",
        priority: 0,
        tags: [],
        worker_schedule: { worker_count: WORKERS_PER_MANAGER, task_prefetch_count: 8 },
      },
    });
    if (suiteRes.status !== 201) throw new Error(`suite creation failed: ${suiteRes.status} ${suiteRes.text}`);
    const suite = (suiteRes.body as { uuid: string }).uuid;
    const tasks = (count: number, paceFile: string, suiteUuid?: string) =>
      Array.from({ length: count }, () => ({
        group_name: CHAOS_USER.name,
        ...(suiteUuid === undefined ? {} : { suite_uuid: suiteUuid }),
        timeout: "5m",
        task_spec: { args: ["bash", "-c", taskScript(dir, paceFile)] },
      }));
    const suiteTasks = await cluster.submit(tasks(plan.suiteTasks, "pace-suite", suite));
    const standaloneTasks = await cluster.submit(tasks(plan.standaloneTasks, "pace-standalone"));
    ctx.log(`submitted ${suiteTasks.length} suite tasks (suite ${suite}) and ${standaloneTasks.length} standalone`);

    await cluster.startRunners();
    ctx.log(
      `managers ${cluster.managers.map((m) => m.uuid).join(", ")}; independent workers ` +
        cluster.workers.map((w) => w.name).join(", "),
    );
    const warm = await poll(
      async () => {
        for (const m of cluster.managers) if (await cluster.firstCommit([m.uuid], 0) === null) return false;
        return await cluster.firstCommit(cluster.workers.map((w) => w.uuid), 0) !== null;
      },
      120_000,
      signal,
    );
    if (warm === null) throw new Error("the managers and independent workers did not all commit within 120 s");
    const scheduleStart = Date.now();
    ctx.log(`every runner committed after ${seconds(scheduleStart - startedAt)} s; the fault schedule begins`);

    // --- The schedule, one fault at a time.
    const injector = new FaultInjector(cluster, signal);
    const faults: FaultRecord[] = [];
    let hang: string | null = null;
    /** Seconds each fault took with its recovery, so far. */
    const spans: number[] = [];
    for (const [i, planned] of plan.schedule.entries()) {
      // Pace the tasks for the rest of the schedule, at the median length of a fault so far.
      const began = Date.now();
      const perFault = spans.length === 0 ? plan.faultEstimateS : spans.toSorted((a, b) => a - b)[spans.length >> 1];
      const remainingS = perFault * (plan.schedule.length - i);
      const pending = await cluster.pendingCounts();
      const suitePace = taskPace(pending.suite, managedWorkers, remainingS);
      const standalonePace = taskPace(pending.standalone, INDEPENDENT_WORKERS, remainingS);
      await setPace(suitePace, standalonePace);
      const fault = await injector.inject(planned, i + 1);
      faults.push(fault);
      ctx.log(
        `fault ${fault.index} (${fault.kind}): ${fault.notes.join("; ")}; pending ${fault.pendingAtInjection.suite} ` +
          `suite / ${fault.pendingAtInjection.standalone} standalone; pause ${suitePace.toFixed(2)} s / ` +
          `${standalonePace.toFixed(2)} s per task`,
      );
      if (!await injector.awaitRecovery(fault, plan.recoveryTimeoutMs)) {
        const missing = fault.parties.filter((p) => !fault.recovered.has(p.label)).map((p) => p.label);
        hang = `fault ${fault.index} (${FAULT_TITLES[fault.kind]}): no recovery within ` +
          `${plan.recoveryTimeoutMs / 1000} s (${missing.join(", ")})`;
        ctx.log(hang);
        break;
      }
      ctx.log(
        `fault ${fault.index} recovered in ${seconds(Math.max(...fault.recovered.values()) - fault.injectedAt)} s`,
      );
      await sleep(1_000, signal);
      spans.push((Date.now() - began) / 1000);
    }
    const scheduleEnd = Date.now();

    // --- The rest of the work without pause.
    await setPace(0, 0);
    const suiteInfo = async (): Promise<SuiteInfo | null> => {
      const res = await call(cluster.url, "GET", `/suites/${suite}`, { token: cluster.token }).catch(() => null);
      return res?.status === 200 ? res.body as SuiteInfo : null;
    };
    const drained = await poll(
      async () => {
        const pending = await cluster.pendingCounts();
        if (pending.suite + pending.standalone > 0) return false;
        const info = await suiteInfo();
        return info?.state_name === "Complete" && info;
      },
      hang === null ? plan.drainTimeoutMs : 15_000,
      signal,
      500,
    );
    const drainEnd = Date.now();
    ctx.log(drained ? `all tasks done ${seconds(drainEnd - scheduleEnd)} s after the schedule` : "tasks left undone");
    const info = drained ?? await suiteInfo();

    // --- What the database holds, then stop everything and look for what is left.
    const sql = cluster.sql;
    const archived = await cluster.retrying(() =>
      sql<{ uuid: string; state: number; exit_status: number | null; reporter: string | null }[]>`
        SELECT uuid::text, state, (result->>'exit_status')::int AS exit_status, reporter_uuid::text AS reporter
        FROM archived_tasks`
    );
    const active = await cluster.retrying(() =>
      sql<{ uuid: string; state: number; manager: string | null; worker: string | null }[]>`
        SELECT t.uuid::text, t.state, m.uuid::text AS manager, w.worker_id::text AS worker FROM active_tasks t
        LEFT JOIN node_managers m ON m.id = t.assigned_manager LEFT JOIN workers w ON w.id = t.assigned_worker`
    );
    const [{ n: duplicateRows }] = await cluster.retrying(() =>
      sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM (SELECT uuid FROM archived_tasks GROUP BY uuid HAVING count(*) > 1) d`
    );
    const [{ n: failuresRecorded }] = await cluster.retrying(() =>
      sql<{ n: number }[]>`SELECT coalesce(sum(failure_count), 0)::int AS n FROM task_execution_failures`
    );
    const stop = await cluster.stop();
    stopped = true;
    const coordinatorLogs = (await Promise.all(
      cluster.tracker.all.filter((p) => p.name.startsWith("coordinator-")).map((p) => jsonLines(p.stderrPath)),
    )).flat();

    const verdict = chaosVerdict({
      suiteTasks,
      standaloneTasks,
      archived,
      active,
      duplicateRows,
      failuresRecorded,
      suite: info === null ? null : { state: info.state_name, total: info.total_tasks, pending: info.pending_tasks },
      executions: await readEvidence(dir),
      independentNames: new Map(cluster.workers.map((w) => [w.uuid, w.name])),
      faults: faults.map(outcomeOf),
      hang,
      orphans: stop.orphans,
      orphanText: stop.orphanText,
      crashes: cluster.crashes,
      uncleanStops: stop.uncleanStops,
      coordinatorLogs,
      managerNames: new Map(cluster.managers.map((m) => [m.uuid, m.name])),
      durations: {
        totalMs: Date.now() - startedAt,
        scheduleMs: scheduleEnd - scheduleStart,
        drainMs: drainEnd - scheduleEnd,
      },
    });
    return {
      status: verdict.failures.length === 0 ? "pass" : "fail",
      ...(verdict.failures.length === 0 ? {} : { reason: verdict.failures.join("; ") }),
      scale,
      checks: verdict.checks,
      figures: verdict.figures,
    };
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!stopped) await cluster.dispose();
  }
}

/** The case, for `deno task acceptance`. */
export const cases: AcceptanceCase[] = [{
  id: "chaos",
  title: "Chaos: worker, manager, coordinator and PostgreSQL faults under load, one at a time",
  limitS: { quick: 300, full: 1_200 },
  run: runChaos,
}];

/**
 * The database connection loss scenario (acceptance guide 8.3.5) on real
 * processes, shared by `tests/database_connection_loss.test.ts` and the
 * acceptance case `acceptance/cases/database_loss.ts`:
 *
 * a coordinator process reaches PostgreSQL (the test run's shared cluster)
 * through a TCP proxy; a manager with a few workers runs a suite of short
 * tasks, each appending its uuid to an evidence file when it ends. Once some
 * have finished, the proxy loses the database for `outageMs` — `cut`: every
 * connection dropped and new ones refused (the port closed); `stall`: nothing forwarded, as
 * `iptables -j DROP` does — while REST clients keep calling the coordinator
 * (each call timed, bounded by the client at 20 s). Then traffic flows
 * again and the suite runs to completion.
 *
 * The result holds the evidence, and `summarizeOutage` the observations
 * the callers judge (the test asserts them, the acceptance case reports
 * them as checks and figures).
 */
import { ADMIN, spawnCoordinator } from "./coordinator.ts";
import { migratedDatabase } from "./postgres.ts";
import { spawnManager } from "./manager.ts";
import { ALICE, appendedLines, createSuite, eventually, getSuite, submit } from "./suites.ts";
import { createUser, login } from "./http.ts";
import { startTcpProxy } from "./tcp_proxy.ts";
import { connect } from "../../coordinator/db/connect.ts";
import { DATABASE_NO_ANSWER_MESSAGE, DATABASE_UNAVAILABLE_MESSAGE } from "../../shared/errors.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";

/** How the database is lost. */
export type OutageMode = "cut" | "stall";

/** What the scenario does. */
export interface DbOutageOptions {
  mode: OutageMode;
  /** Tasks in the suite. */
  tasks: number;
  /** How long the database stays lost. */
  outageMs: number;
  /** Workers of the manager (default 2). */
  workers?: number;
  /** The suite's `task_prefetch_count` (default 16). */
  prefetch?: number;
  /** Tasks finished before the loss (default a tenth). */
  lossAfter?: number;
  /** The coordinator's `manager_heartbeat_timeout` (default 8 s: shorter than the silence an outage causes). */
  managerHeartbeatTimeout?: string;
  /** Evidence and logs go here. */
  dir: string;
  /** Progress lines. */
  progress?: (message: string) => void;
  /** Longest wait for the suite to complete once traffic flows again (default 120 s). */
  completeTimeoutMs?: number;
  /** Aborts the waits (the processes are stopped on the way out). */
  signal?: AbortSignal;
}

/** One REST call made while the database was lost. */
export interface OutageCall {
  method: string;
  path: string;
  /** HTTP status; 0 when the client gave up (no answer within 20 s) or the connection failed. */
  status: number;
  /** The `msg` of a JSON error body, if any. */
  msg: string | null;
  ms: number;
  /** It ended before traffic flowed again. */
  endedDuringOutage: boolean;
  /** Uuid of a task it submitted (a 2xx answer to POST /tasks). */
  submitted: string | null;
}

/** What happened. */
export interface DbOutageResult {
  /** Every task acknowledged to a client (the suite's, plus any submission answered 2xx during the loss). */
  acknowledged: string[];
  /** The evidence file's lines: one task uuid per task run to its end. */
  finished: string[];
  /** Archived rows of the suite's tasks. */
  archived: { uuid: string; state: number; exit_status: number | null; attempt: number }[];
  /** Tasks of the suite not archived. */
  active: number;
  calls: OutageCall[];
  /** From the loss to the restore. */
  outageMs: number;
  /** From the restore to the manager's first successful FetchTask; null when none was seen. */
  recoveryMs: number | null;
  /** From the restore to the suite's completion. */
  completionMs: number;
  suiteState: string;
  coordinatorLogs: Record<string, unknown>[];
  managerLogs: Record<string, unknown>[];
  managerExitCode: number;
}

const CALL_LIMIT_MS = 20_000;

/** JSON log lines of a process's stderr. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** One timed REST call, bounded by `CALL_LIMIT_MS`. */
async function timedCall(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Omit<OutageCall, "endedDuringOutage">> {
  const started = performance.now();
  let status = 0;
  let msg: string | null = null;
  let submitted: string | null = null;
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_LIMIT_MS),
    });
    status = res.status;
    const parsed = await res.json().catch(() => null) as { msg?: unknown; uuid?: unknown } | null;
    if (typeof parsed?.msg === "string") msg = parsed.msg;
    if (res.ok && method === "POST" && typeof parsed?.uuid === "string") submitted = parsed.uuid;
  } catch (error) {
    msg = (error as Error).message;
  }
  return { method, path, status, msg, ms: Math.round(performance.now() - started), submitted };
}

/** Runs the scenario (see the module comment). */
export async function runDatabaseOutage(o: DbOutageOptions): Promise<DbOutageResult> {
  const say = o.progress ?? (() => {});
  const workers = o.workers ?? 2;
  const lossAfter = o.lossAfter ?? Math.max(5, Math.floor(o.tasks / 10));
  const done = `${o.dir}/finished`;
  const dbUrl = await migratedDatabase();
  const target = new URL(dbUrl);
  await using proxy = startTcpProxy({ hostname: target.hostname, port: Number(target.port) });
  const viaProxy = new URL(dbUrl);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const direct = connect(dbUrl, 1);
  const coordinator = await spawnCoordinator([
    "--bind",
    "127.0.0.1:0",
    "--db-url",
    viaProxy.toString(),
    "--data-dir",
    `${o.dir}/coordinator`,
    "--admin-password",
    ADMIN.password,
    "--manager-heartbeat-timeout",
    o.managerHeartbeatTimeout ?? "8s",
    "--log-level",
    "info",
  ]);
  try {
    const admin = await login(coordinator.url, ADMIN.username, ADMIN.password, true);
    const alice = await createUser(coordinator.url, admin, ALICE.user, ALICE.password);
    const suite = await createSuite(coordinator.url, alice, {
      worker_count: workers,
      task_prefetch_count: o.prefetch ?? 16,
    });
    const command = ["sh", "-c", `echo "$MITO_TASK_UUID" >> ${done}`];
    const acknowledged = await submit(coordinator.url, alice, suite, Array.from({ length: o.tasks }, () => command));
    say(`suite ${suite}: ${o.tasks} tasks submitted; starting a manager with ${workers} workers`);
    await using manager = await spawnManager(coordinator.url, { ...ALICE, args: ["--max-workers", String(workers)] });
    await eventually(`${lossAfter} tasks to finish`, async () => {
      o.signal?.throwIfAborted();
      return (await appendedLines(done)).length >= lossAfter;
    }, 60_000);

    // The loss, with REST clients calling meanwhile.
    if (o.mode === "cut") proxy.cut("refuse");
    else proxy.stall();
    const lostAt = performance.now();
    say(`database ${o.mode === "cut" ? "cut (connections dropped, new ones refused)" : "stalled (nothing forwarded)"}`);
    let restoredAt = Infinity;
    const calls: OutageCall[] = [];
    const requests: [string, string, unknown?][] = [
      ["GET", `/suites/${suite}`],
      ["GET", "/auth"],
      ["POST", "/tasks", { group_name: "alice", suite_uuid: suite, timeout: "2m", task_spec: { args: command } }],
    ];
    const clients = requests.map(async ([method, path, body]) => {
      while (performance.now() - lostAt < o.outageMs) {
        const call = await timedCall(coordinator.url, alice, method, path, body);
        calls.push({ ...call, endedDuringOutage: performance.now() < restoredAt });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
    await new Promise((resolve) => setTimeout(resolve, o.outageMs));
    proxy.restore();
    restoredAt = performance.now();
    o.signal?.throwIfAborted();
    const restoredWall = Date.now();
    const outageMs = Math.round(restoredAt - lostAt);
    say(`database back after ${outageMs} ms`);
    await Promise.all(clients);
    acknowledged.push(...calls.flatMap((c) => c.submitted === null ? [] : [c.submitted]));

    const info = await eventually(
      "the suite to complete",
      async () => {
        o.signal?.throwIfAborted();
        const s = await getSuite(coordinator.url, alice, suite).catch(() => null);
        return s !== null && (s.state_name === "Complete" || s.state_name === "Cancelled") && s;
      },
      o.completeTimeoutMs ?? 120_000,
      250,
    );
    const completionMs = Math.round(performance.now() - restoredAt);
    say(`suite ${info.state_name} ${completionMs} ms after the restore`);
    // The coordinator logs the end of the outage once its probe gets an answer (within its 2 s backoff).
    await eventually(
      "the coordinator to log the restored connection",
      () => jsonLines(coordinator.stderr()).some((l) => l.msg === "database connection restored"),
      15_000,
    ).catch(() => null);
    const managerExitCode = await manager.stop();
    const managerLogs = manager.logs();
    await Deno.writeTextFile(`${o.dir}/manager.log`, manager.stderr());
    const firstClaim = managerLogs.find((l) =>
      l.msg === "tasks prefetched" && typeof l.ts === "string" && Date.parse(l.ts) >= restoredWall
    );
    const archived = await direct<DbOutageResult["archived"]>`
      SELECT t.uuid, t.state, (t.result->>'exit_status')::int AS exit_status, t.attempt
      FROM archived_tasks t JOIN task_suites s ON s.id = t.task_suite_id WHERE s.uuid = ${suite}`;
    const [{ n: active }] = await direct<{ n: number }[]>`
      SELECT count(*)::int AS n FROM active_tasks t JOIN task_suites s ON s.id = t.task_suite_id
      WHERE s.uuid = ${suite}`;
    return {
      acknowledged,
      finished: await appendedLines(done),
      archived: [...archived],
      active,
      calls,
      outageMs,
      recoveryMs: firstClaim === undefined ? null : Date.parse(firstClaim.ts as string) - restoredWall,
      completionMs,
      suiteState: info.state_name,
      coordinatorLogs: jsonLines(coordinator.stderr()),
      managerLogs,
      managerExitCode,
    };
  } finally {
    await coordinator.stop();
    await Deno.writeTextFile(`${o.dir}/coordinator.log`, coordinator.stderr()).catch(() => {});
    await direct.end({ timeout: 1 });
  }
}

/** Lines of `logs` whose `msg` is `msg`. */
export function logged(logs: Record<string, unknown>[], msg: string): Record<string, unknown>[] {
  return logs.filter((l) => l.msg === msg);
}

/** What a run of the scenario shows, in the terms of the guide's expected results. */
export interface OutageSummary {
  /** REST calls that ended during the loss. */
  callsDuringLoss: number;
  /** Of those, answered 503 with one of the coordinator's outage messages. */
  answered503: number;
  /** Slowest of those answers (ms). */
  max503Ms: number;
  /** Calls answered 500, or not at all within 20 s, at any time. */
  failedCalls: OutageCall[];
  /** Calls during the loss answered otherwise than 503 `{msg}`. */
  otherAnswers: OutageCall[];
  /** The coordinator's `database connection lost` and `database connection restored` lines. */
  lostLines: number;
  restoredLines: number;
  /** From the restored line: the outage it measured, its failed operations and its probes. */
  loggedOutageMs: number | null;
  failedOperations: number | null;
  probes: number | null;
  /** The coordinator's error-level lines. */
  coordinatorErrors: number;
  /** WebSocket connections the coordinator accepted from the manager. */
  wsConnects: number;
  /** Of those, closed other than by the manager's exit. */
  wsUnexpectedCloses: number;
  /** The manager's own lost, reconnected and dropped-connection lines. */
  wsManagerLosses: number;
  /** Managers taken Offline by the reaper. */
  reaped: number;
  /** Suites the manager was told were reclaimed. */
  reclaimed: number;
  /** Fetches the manager retried, and its pauses before them (ms). */
  fetchRetries: number;
  fetchPausesMs: number[];
  /** Reports (or report messages) the manager sent again. */
  reportResends: number;
  /** Heartbeats answered `Error`. */
  heartbeatErrors: number;
  /** Acknowledged tasks that never ran to their end. */
  lost: string[];
  /** Tasks that ran to their end more than once. */
  duplicates: string[];
  /** Tasks that ran without their submission being acknowledged. */
  unacknowledged: string[];
  /** POST /tasks calls answered 503 (each may still have created its task). */
  refusedSubmits: number;
  /** Archived tasks not Finished with exit status 0. */
  notFinished: number;
  archived: number;
}

/** The observations of a run (see `OutageSummary`). */
export function summarizeOutage(r: DbOutageResult): OutageSummary {
  const during = r.calls.filter((c) => c.endedDuringOutage);
  const outageMessages = [DATABASE_UNAVAILABLE_MESSAGE, DATABASE_NO_ANSWER_MESSAGE];
  const is503 = (c: OutageCall) => c.status === 503 && outageMessages.includes(c.msg ?? "");
  const restored = logged(r.coordinatorLogs, "database connection restored")[0];
  const counts = new Map<string, number>();
  for (const uuid of r.finished) counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
  const acknowledged = new Set(r.acknowledged);
  const fetchRetries = logged(r.managerLogs, "task fetch failed; retrying");
  const numberOf = (value: unknown) => typeof value === "number" ? value : null;
  return {
    callsDuringLoss: during.length,
    answered503: during.filter(is503).length,
    max503Ms: Math.max(0, ...during.filter(is503).map((c) => c.ms)),
    failedCalls: r.calls.filter((c) => c.status === 500 || c.status === 0),
    otherAnswers: during.filter((c) => !is503(c)),
    lostLines: logged(r.coordinatorLogs, "database connection lost").length,
    restoredLines: logged(r.coordinatorLogs, "database connection restored").length,
    loggedOutageMs: numberOf(restored?.outage_ms),
    failedOperations: numberOf(restored?.failed_operations),
    probes: numberOf(restored?.probes),
    coordinatorErrors: r.coordinatorLogs.filter((l) => l.level === "error").length,
    wsConnects: logged(r.coordinatorLogs, "manager connected").length,
    wsUnexpectedCloses: logged(r.coordinatorLogs, "manager disconnected").filter((l) => l.reason !== "manager exiting")
      .length,
    wsManagerLosses: ["WebSocket connection lost", "WebSocket reconnected", "dropping the WebSocket connection"]
      .reduce((n, msg) => n + logged(r.managerLogs, msg).length, 0),
    reaped: logged(r.coordinatorLogs, "manager heartbeat timed out; Offline, suite released, its tasks back to Ready")
      .length,
    reclaimed: logged(r.managerLogs, "suite reclaimed by the coordinator; stopping its work").length,
    fetchRetries: fetchRetries.length,
    fetchPausesMs: fetchRetries.map((l) => l.retry_in_ms as number),
    reportResends: logged(r.managerLogs, "task report failed at the coordinator; sending it again").length +
      logged(r.managerLogs, "ReportTasks failed at the coordinator; sending its reports again").length,
    heartbeatErrors: logged(r.managerLogs, "heartbeat failed").length,
    lost: r.acknowledged.filter((uuid) => !counts.has(uuid)),
    duplicates: [...counts].filter(([, n]) => n > 1).map(([uuid]) => uuid),
    unacknowledged: [...counts.keys()].filter((uuid) => !acknowledged.has(uuid)),
    refusedSubmits: r.calls.filter((c) => c.method === "POST" && c.status === 503).length,
    notFinished: r.archived.filter((t) => t.state !== TaskStateCode.Finished || t.exit_status !== 0).length,
    archived: r.archived.length,
  };
}

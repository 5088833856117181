/**
 * `mitosis-manager`: the node manager of one machine (SPEC §6). Loads the
 * `[manager]` configuration, takes the state dir's lock (one manager per
 * machine), registers once (or reuses the identity in the state dir), keeps
 * a WebSocket to the coordinator and runs the suites it is assigned until it
 * is stopped (see `shutdown.ts`). Logs are JSON lines on stderr; stdout gets
 * one line, `mitosis-manager <uuid> connected to <coordinator>`, on the first
 * connection. As root, hooks and tasks run as `task_user` (see
 * `shared/exec/task_user.ts`); the user's token is never cached, only the
 * manager's own (`identity/`).
 */
import { ClientError } from "../shared/client/errors.ts";
import { ConfigError, loadConfig, renderHelp } from "../shared/config/load.ts";
import { managerFields } from "../shared/config/sections.ts";
import { killAllTaskGroupsSync } from "../shared/exec/process.ts";
import { resolveTaskUser, type TaskUser, TaskUserError } from "../shared/exec/task_user.ts";
import { warnIfPasswordOnCommandLine, warnIfPasswordReadable } from "../worker/password_warnings.ts";
import { createLogger } from "../shared/log/logger.ts";
import type { CoordinatorPush } from "../shared/wire/manager_ws.ts";
import { parseDuration } from "../shared/config/duration.ts";
import { type ManagerConfig, resolveManagerConfig } from "./config.ts";
import { acquireManagerLock, type ManagerLock, ManagerLockedError } from "./lock.ts";
import { ManagerIdentity } from "./identity/identity.ts";
import { readIdentity } from "./identity/store.ts";
import { startTokenRefresher } from "./identity/token_refresh.ts";
import { ManagerApi } from "./manager_api.ts";
import { CoordinatorConnection, type ManagerRequest } from "./connection/coordinator_connection.ts";
import { ManagerLink } from "./connection/link.ts";
import { Heartbeats } from "./connection/heartbeat.ts";
import { AssignmentLease, LEASE_INTERVALS } from "./connection/assignment_lease.ts";
import { collectMetrics, TaskCounters } from "./metrics.ts";
import { ManagerState } from "./state.ts";
import { SuiteRunner } from "./suite_runner.ts";
import { HookResourceResolver } from "./hooks/resources.ts";
import { ShutdownController } from "./shutdown.ts";
import { startSuiteExecution } from "./pool/execution.ts";
import { workerCommand } from "./worker_binary.ts";
import { printVersionIfAsked } from "../shared/runtime/build_info.ts";
import {
  type IpcBackendName,
  IpcBackendUnavailableError,
  parseIpcBackendName,
  selectTransport,
} from "../shared/ipc/select.ts";
import { type IpcBackend, openIpcBackend } from "./ipc_backend.ts";
import type { IpcTransport } from "../shared/ipc/transport.ts";
import { type MetricsRecorder, NO_METRICS } from "./prometheus/recorder.ts";
import { type MetricsEndpoint, parseMetricsBind, serveMetrics } from "./prometheus/endpoint.ts";

const USAGE =
  "Usage: mitosis-manager [options]\n\nRuns a Mitosis node manager: takes task suites from the coordinator, " +
  "runs their setup hook, feeds a pool of managed workers and cleans up at the end.";

/** Prints one error line for the operator and returns the exit status. */
function fail(message: string, code: number): number {
  console.error(`mitosis-manager: ${message}`);
  return code;
}

function describeError(error: unknown): string {
  return error instanceof ClientError ? error.msg : error instanceof Error ? error.message : String(error);
}

async function main(): Promise<number> {
  if (printVersionIfAsked("mitosis-manager")) return 0;
  let loaded;
  try {
    loaded = loadConfig("manager", managerFields);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.lines) console.error(`mitosis-manager: ${line}`);
      return 2;
    }
    throw error;
  }
  if (loaded.help) {
    console.log(renderHelp(USAGE, managerFields));
    return 0;
  }
  if (loaded.positionals.length > 0) return fail(`unexpected argument ${loaded.positionals[0]} (see --help)`, 2);
  const env = Deno.env.toObject();
  const config: ManagerConfig = resolveManagerConfig(loaded.config, env);
  let log = createLogger("manager", config.log_level);
  if (loaded.configFile) log.info("configuration file loaded", { path: loaded.configFile });
  for (const key of loaded.unknownKeys) log.warn("unknown configuration key ignored", { key: `manager.${key}` });
  warnIfPasswordOnCommandLine(loaded.sources.password, log);
  warnIfPasswordReadable({
    configFile: loaded.configFile,
    passwordSource: loaded.sources.password,
    passwordFile: loaded.config.password_file,
  }, log);
  let taskUser: TaskUser | null;
  try {
    taskUser = await resolveTaskUser(config.task_user, { create: true, warnOptOut: true, log });
  } catch (error) {
    if (error instanceof TaskUserError) return fail(`manager.task_user: ${error.message}`, 1);
    throw error;
  }
  let ipcName: IpcBackendName;
  try {
    ipcName = parseIpcBackendName(config.ipc);
    // An explicit backend whose library is missing fails here, before registering; RouDi comes later.
    if (ipcName !== "auto") selectTransport(ipcName, env, { log: log.child({ component: "ipc" }) });
  } catch (error) {
    if (error instanceof IpcBackendUnavailableError) return fail(`manager.ipc: ${error.message}`, 2);
    throw error;
  }
  const workerBinary = workerCommand(config.worker_binary);
  const metricsBind = config.metrics_bind === undefined ? null : parseMetricsBind(config.metrics_bind);
  if (config.metrics_bind !== undefined && metricsBind === null) {
    return fail(`manager.metrics_bind: "${config.metrics_bind}" is not PORT, HOST:PORT or [V6]:PORT`, 2);
  }

  let lock: ManagerLock;
  try {
    lock = acquireManagerLock(config.state_dir);
  } catch (error) {
    if (error instanceof ManagerLockedError) return fail(error.message, 1);
    return fail(`cannot use the state dir ${config.state_dir}: ${describeError(error)}`, 1);
  }
  // Hooks run in process groups of their own: never leave one behind, however the manager exits.
  globalThis.addEventListener("unload", () => killAllTaskGroupsSync());

  // Signals before registration (which may wait for the coordinator) only abort it.
  const startup = new AbortController();
  let onSignal = (signal: Deno.Signal) => startup.abort(signal);
  for (const signal of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(signal, () => onSignal(signal));

  let identity: ManagerIdentity;
  try {
    // Registration (the coordinator client, the login) is loaded only when there is no stored identity.
    const found = await readIdentity(config.state_dir);
    const { identity: stored, registered } = found !== null
      ? { identity: found, registered: false }
      : await (await import("./identity/register.ts")).loadOrRegister(config, env, log, startup.signal);
    identity = new ManagerIdentity(config.state_dir, stored);
    if (!registered) log.info("manager identity loaded", { manager_uuid: stored.manager_uuid });
  } catch (error) {
    lock.release();
    if (startup.signal.aborted) {
      log.info("stopped before registering", { signal: startup.signal.reason });
      return 0;
    }
    return fail(`cannot register with ${config.coordinator_addr}: ${describeError(error)}`, 1);
  }
  log = log.child({ manager_uuid: identity.uuid });
  let ipcBackend: IpcBackend;
  try {
    const workers = config.max_workers ?? Math.max(1, navigator.hardwareConcurrency || 1);
    ipcBackend = await openIpcBackend(ipcName, env, workers, log.child({ component: "ipc" }));
  } catch (error) {
    lock.release();
    if (error instanceof IpcBackendUnavailableError) return fail(`manager.ipc: ${error.message}`, 2);
    throw error;
  }
  const ipc: IpcTransport = ipcBackend.transport;
  // A RouDi this manager started must not outlive it, however it exits.
  globalThis.addEventListener("unload", () => ipcBackend.killSync());
  log.info("manager starting", {
    coordinator: config.coordinator_addr,
    state_dir: config.state_dir,
    max_workers: config.max_workers,
    tags: config.tags,
    groups: config.groups,
    ipc: ipc.name,
    worker_binary: workerBinary,
    task_user: taskUser?.name ?? null,
  });

  const api = new ManagerApi(config.coordinator_addr, () => identity.token);
  const refresher = startTokenRefresher(identity, api, log);
  const counters = new TaskCounters();
  const startedAt = performance.now();
  // The metrics library is loaded only when metrics are served; its sources are read at scrape time, once all exist.
  const prometheus = metricsBind === null ? null : new (await import("./prometheus/registry.ts")).ManagerPrometheus({
    activeWorkers: () => runner.activeWorkers,
    bufferedTasks: () => runner.bufferedTasks,
    counters,
    state: () => state.state,
    connected: () => connection.connected,
  });
  const metrics: MetricsRecorder = prometheus ?? NO_METRICS;
  // The callbacks below run only once the connection has started, when every module exists.
  // No Idle heartbeat once stopping: it would make the coordinator assign a suite just before the connection closes.
  const state = new ManagerState(log, () => {
    if (!(shutdown.stopping && state.state === "Idle")) heartbeats.sendNow();
  });

  const onPush = (push: CoordinatorPush) => {
    log.debug("push received", { type: push.type });
    switch (push.type) {
      case "ConfigUpdate": {
        const interval = push.heartbeat_interval ? parseDuration(push.heartbeat_interval) : null;
        if (interval !== null && interval > 0) heartbeats.setInterval(interval);
        if (push.lease_duration) log.info("lease duration announced", { lease_duration: push.lease_duration });
        return;
      }
      case "Shutdown":
        shutdown.request(push.graceful, "coordinator", push.graceful ? "Shutdown (graceful)" : "Shutdown (force)");
        return;
      default:
        runner.handlePush(push);
    }
  };

  let printed = false;
  const connection = new CoordinatorConnection({
    baseUrl: config.coordinator_addr,
    token: () => identity.token,
    log,
    backoff: { maxMs: config.reconnect_max_delay },
    onPush,
    greeting: (): ManagerRequest => link.heldTasksGreeting(),
    onOpen: (first) => {
      if (!first) metrics.reconnected();
      heartbeats.sendNow();
      if (!printed) {
        printed = true;
        console.log(`mitosis-manager ${identity.uuid} connected to ${config.coordinator_addr}`);
      }
      void refresher.checkNow();
    },
    checkToken: () => api.checkToken(),
    onTokenRejected: async () => {
      const previous = identity.uuid;
      const { registerManager } = await import("./identity/register.ts");
      const next = await registerManager(config, env);
      await identity.replace(next);
      log.warn("manager registered again (the coordinator rejected its token)", {
        previous_manager_uuid: previous,
        new_manager_uuid: next.manager_uuid,
      });
    },
  });
  const link = new ManagerLink(connection, counters, log, undefined, metrics);
  const heartbeats = new Heartbeats({
    connection,
    link,
    snapshot: () => state.snapshot(),
    metrics: () => collectMetrics({ counters, activeWorkers: runner.activeWorkers, startedAt, ipcTransport: ipc.name }),
    intervalMs: config.heartbeat_interval,
    log,
    onAck: (sentAt: number, assignedSuiteUuid: string | null): void => lease.confirmed(sentAt, assignedSuiteUuid),
  });
  const lease = new AssignmentLease({
    durationMs: (): number => LEASE_INTERVALS * heartbeats.intervalMs,
    requestConfirmation: () => heartbeats.sendNow(),
  });
  const runner = new SuiteRunner({
    config,
    managerUuid: () => identity.uuid,
    link,
    state,
    startExecution: (options) =>
      startSuiteExecution(options, {
        workerBinary,
        ipc,
        stopGraceMs: config.worker_stop_grace,
        lease,
        taskUser: taskUser?.name,
        log,
        resourceUrl: (suiteUuid, resource, signal) => api.resourceUrl(suiteUuid, resource, signal),
        watchedTask: (uuid, signal) => api.watchedTask(uuid, signal),
        metrics,
      }),
    resolver: new HookResourceResolver(api, log),
    taskUser: taskUser ?? undefined,
    log,
    metrics,
  });
  let endpoint: MetricsEndpoint | null = null;
  if (prometheus !== null && metricsBind !== null) {
    try {
      endpoint = await serveMetrics(metricsBind, prometheus.registry, log);
    } catch (error) {
      refresher.stop();
      await ipcBackend.close();
      lock.release();
      return fail(`cannot serve metrics on ${config.metrics_bind}: ${describeError(error)}`, 1);
    }
  }
  const shutdown = new ShutdownController(runner, log, {
    stopGraceMs: config.worker_stop_grace,
    giveUpDelivery: () => connection.giveUpWhenDisconnected(),
  });
  onSignal = (signal) => shutdown.signal(signal);
  if (startup.signal.aborted) shutdown.signal(startup.signal.reason as Deno.Signal);

  connection.start();
  heartbeats.start();
  const code = await shutdown.exitCode;

  heartbeats.stop();
  refresher.stop();
  await connection.close();
  await endpoint?.close();
  killAllTaskGroupsSync();
  await ipcBackend.close();
  lock.release();
  log.info("manager stopped", { exit_code: code });
  return code;
}

if (import.meta.main) {
  // A crash must not leave hook process groups behind either.
  globalThis.addEventListener("error", () => killAllTaskGroupsSync());
  globalThis.addEventListener("unhandledrejection", () => killAllTaskGroupsSync());
  Deno.exit(await main());
}

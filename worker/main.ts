/**
 * `mitosis-worker`: an independent worker. Parses the `[worker]`
 * configuration, logs in as the user, registers, then runs the heartbeat and
 * task loops until it is stopped:
 *
 * - SIGTERM/SIGINT: stop fetching; a running task's process group is
 *   terminated (SIGTERM, 10 s, SIGKILL) and the task is not reported, so the
 *   coordinator puts it back to Ready when the worker unregisters (as the
 *   existing Mitosis does); `DELETE /workers` (3 s limit), remove the cache
 *   dir, exit 0. A second signal kills the task's group at once and exits 130.
 * - 401 from the coordinator (worker removed): the same, without unregistering.
 *
 * As root, tasks run as `task_user` (see `shared/exec/task_user.ts`). The
 * user's token is not cached (see `login.ts`).
 *
 * A task never outlives the worker, even a SIGKILLed one: see
 * `shared/exec/process.ts` (parent-death signal, group guard). The running
 * task's process group is also recorded in `<cache_dir>/running/` (see
 * `shared/exec/group_records.ts`); at start, before registering, the worker
 * kills the groups recorded there by workers that are no longer alive.
 * Each start registers a new worker (a new uuid): nothing of a previous
 * process's identity is kept.
 */
import { ClientError } from "../shared/client/client.ts";
import { WorkerClient } from "../shared/client/worker_client.ts";
import { ConfigError, loadConfig, renderHelp } from "../shared/config/load.ts";
import { workerFields } from "../shared/config/sections.ts";
import { killLeftoverGroups, TaskGroupRecords } from "../shared/exec/group_records.ts";
import { killAllTaskGroupsSync } from "../shared/exec/process.ts";
import { makeReachable, resolveTaskUser, type TaskUser, TaskUserError } from "../shared/exec/task_user.ts";
import { createLogger, type Logger } from "../shared/log/logger.ts";
import { runHeartbeat } from "./heartbeat.ts";
import { HttpTaskReporter } from "./http_reporter.ts";
import { userToken, warnIfPasswordOnCommandLine, warnIfPasswordReadable, type WorkerConfig } from "./login.ts";
import { runTaskLoop } from "./loop.ts";
import { MANAGED_FLAGS, managedMain } from "./managed.ts";
import { register } from "./register.ts";

const USAGE =
  "Usage: mitosis-worker [options]\n\nRuns an independent Mitosis worker: registers with the coordinator, " +
  "then fetches and runs tasks one at a time.\n\n" +
  "Managed mode (spawned by mitosis-manager): mitosis-worker --managed --ipc ADDR --worker-local-id N " +
  "[--cache-dir DIR]: no login; tasks come from the manager over IPC.";

/** Longest wait between report retries while the coordinator is unreachable. */
const MAX_REPORT_RETRY_MS = 30_000;

/** `<cache_dir>`, default `$XDG_CACHE_HOME/mitosis/worker` (`~/.cache/mitosis/worker`). */
function cacheRoot(config: WorkerConfig, env: Record<string, string>): string {
  if (config.cache_dir !== undefined) return config.cache_dir;
  const cacheHome = env.XDG_CACHE_HOME || `${env.HOME ?? "."}/.cache`;
  return `${cacheHome}/mitosis/worker`;
}

/** `<cache_dir>/running`: the records of running task process groups, shared by the workers of one cache dir. */
function groupRecordsDir(cacheRoot: string): string {
  return `${cacheRoot.replace(/\/+$/, "")}/running`;
}

/** Removes the worker's cache dir, logging (not throwing) on failure. */
async function removeCacheDir(path: string, log: Logger): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) log.error("cannot remove the worker cache dir", { path, error });
  }
}

async function main(): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig("worker", workerFields, { extraFlags: MANAGED_FLAGS });
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.lines) console.error(`mitosis-worker: ${line}`);
      return 2;
    }
    throw error;
  }
  if (loaded.positionals.length > 0) {
    console.error(`mitosis-worker: unexpected argument ${loaded.positionals[0]} (see --help)`);
    return 2;
  }
  if (loaded.help) {
    console.log(renderHelp(USAGE, workerFields));
    return 0;
  }
  if (loaded.extra.managed === true) {
    return await managedMain(loaded.config, loaded.extra, cacheRoot(loaded.config, Deno.env.toObject()));
  }
  const config = loaded.config;
  const env = Deno.env.toObject();
  let log = createLogger("worker", config.log_level);
  if (loaded.configFile) log.info("configuration file loaded", { path: loaded.configFile });
  for (const key of loaded.unknownKeys) log.warn("unknown configuration key ignored", { key: `worker.${key}` });
  warnIfPasswordOnCommandLine(loaded.sources.password, log);
  warnIfPasswordReadable({
    configFile: loaded.configFile,
    passwordSource: loaded.sources.password,
    passwordFile: config.password_file,
  }, log);
  let taskUser: TaskUser | null;
  try {
    taskUser = await resolveTaskUser(config.task_user, { create: true, warnOptOut: true, log });
  } catch (error) {
    if (!(error instanceof TaskUserError)) throw error;
    console.error(`mitosis-worker: worker.task_user: ${error.message}`);
    return 1;
  }
  if (taskUser !== null) log.info("tasks run as the task user", { task_user: taskUser.name, uid: taskUser.uid });
  const recordsDir = groupRecordsDir(cacheRoot(config, env));
  await killLeftoverGroups(recordsDir, log);

  let workerId: string;
  let client: WorkerClient;
  try {
    const user = await userToken(config, env);
    const registered = await register(config, user.token);
    workerId = registered.worker_id;
    client = new WorkerClient(config.coordinator_addr, registered.token);
    log = log.child({ worker_uuid: workerId });
    log.info("worker registered", { user: user.username, coordinator: config.coordinator_addr });
  } catch (error) {
    const message = error instanceof ClientError ? error.msg : error instanceof Error ? error.message : String(error);
    console.error(`mitosis-worker: cannot register with ${config.coordinator_addr}: ${message}`);
    return 1;
  }

  const cacheDir = `${cacheRoot(config, env)}/${workerId}`;
  const stop = new AbortController();
  let removed = false;
  const onRemoved = () => {
    removed = true;
    stop.abort("worker removed by coordinator");
  };
  let signals = 0;
  const onSignal = (signal: Deno.Signal) => {
    signals++;
    if (signals === 1) {
      log.info("signal received: stopping", { signal });
      stop.abort(`signal ${signal}`);
      return;
    }
    log.warn("second signal: killing the running task and exiting now", { signal });
    killAllTaskGroupsSync();
    try {
      Deno.removeSync(cacheDir, { recursive: true });
    } catch (error) {
      log.error("cannot remove the worker cache dir", { path: cacheDir, error });
    }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));

  let code = 0;
  try {
    await Deno.mkdir(cacheDir, { recursive: true });
    if (taskUser !== null) makeReachable(cacheDir, log);
    console.log(`mitosis-worker ${workerId} registered with ${config.coordinator_addr}`);
    const reporter = new HttpTaskReporter(client, Math.min(config.polling_interval, MAX_REPORT_RETRY_MS), log);
    await Promise.all([
      runHeartbeat({ client, intervalMs: config.heartbeat_interval, log, signal: stop.signal, onRemoved }),
      runTaskLoop({
        client,
        reporter,
        pollingMs: config.polling_interval,
        cacheDir,
        log,
        signal: stop.signal,
        onRemoved,
        engine: {
          ...(taskUser === null ? {} : { taskUser }),
          groupRecords: new TaskGroupRecords(recordsDir, log),
        },
      }).finally(() => stop.abort("task loop ended")),
    ]);
  } catch (error) {
    log.error("worker failed", { error });
    stop.abort("worker failed");
    killAllTaskGroupsSync();
    code = 1;
  }

  if (removed) {
    log.warn("worker removed by coordinator; exiting");
  } else {
    try {
      await client.unregister(3_000);
      log.info("worker unregistered");
    } catch (error) {
      log.warn("cannot unregister the worker", { error: error instanceof ClientError ? error.msg : error });
    }
  }
  await removeCacheDir(cacheDir, log);
  return code;
}

if (import.meta.main) Deno.exit(await main());

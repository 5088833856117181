/**
 * The independent worker's run (see `main.ts`): logs in, registers, runs the
 * heartbeat and task loops until it is stopped, unregisters. Loaded by
 * `main.ts` only in independent mode: a managed worker (`managed.ts`) never
 * loads the coordinator client, the login prompt or their schemas.
 */
import { ClientError } from "../shared/client/client.ts";
import { WorkerClient } from "../shared/client/worker_client.ts";
import type { Loaded } from "../shared/config/load.ts";
import type { workerFields } from "../shared/config/sections.ts";
import { killLeftoverGroups, TaskGroupRecords } from "../shared/exec/group_records.ts";
import { killAllTaskGroupsSync } from "../shared/exec/process.ts";
import { makeReachable, resolveTaskUser, type TaskUser, TaskUserError } from "../shared/exec/task_user.ts";
import { createLogger, type Logger } from "../shared/log/logger.ts";
import { cacheRoot } from "./cache_root.ts";
import { runHeartbeat } from "./heartbeat.ts";
import { HttpTaskReporter } from "./http_reporter.ts";
import { userToken, warnIfPasswordOnCommandLine, warnIfPasswordReadable } from "./login.ts";
import { runTaskLoop } from "./loop.ts";
import { register } from "./register.ts";

/** Longest wait between report retries while the coordinator is unreachable. */
const MAX_REPORT_RETRY_MS = 30_000;

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

/** Runs an independent worker with the loaded configuration; resolves with the exit code. */
export async function independentMain(loaded: Loaded<typeof workerFields>): Promise<number> {
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

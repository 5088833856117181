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
import { cacheRoot } from "./cache_root.ts";
import { MANAGED_FLAGS, managedMain } from "./managed.ts";
import { managedConfig } from "./managed_config.ts";

const USAGE =
  "Usage: mitosis-worker [options]\n\nRuns an independent Mitosis worker: registers with the coordinator, " +
  "then fetches and runs tasks one at a time.\n\n" +
  "Managed mode (spawned by mitosis-manager): mitosis-worker --managed --ipc ADDR --worker-local-id N " +
  "[--cache-dir DIR]: no login; tasks come from the manager over IPC.";

async function main(): Promise<number> {
  if (Deno.args.includes("--version")) {
    const { versionLine } = await import("../shared/runtime/build_info.ts");
    console.log(versionLine("mitosis-worker"));
    return 0;
  }
  // A managed worker as its manager starts it reads its three settings without the config schemas (zod).
  const env = Deno.env.toObject();
  const managed = Deno.args.includes("--managed") ? await managedConfig(Deno.args, env) : null;
  if (managed !== null) return await managedMain(managed.config, managed.extra, cacheRoot(managed.config, env));
  const [{ ConfigError, loadConfig, renderHelp }, { workerFields }] = await Promise.all([
    import("../shared/config/load.ts"),
    import("../shared/config/sections.ts"),
  ]);
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
    return await managedMain(loaded.config, loaded.extra, cacheRoot(loaded.config, env));
  }
  // Loaded only now: a managed worker never needs the coordinator client, the login or their schemas.
  const { independentMain } = await import("./independent.ts");
  return await independentMain(loaded);
}

if (import.meta.main) Deno.exit(await main());

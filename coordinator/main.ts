/**
 * `mitosis-coordinator`: parses configuration, starts the coordinator and
 * stops it on SIGINT/SIGTERM or `POST /admin/shutdown`. With `--dev`, also
 * runs a local node manager (see `dev/dev_mode.ts`), stopped before the
 * coordinator.
 */
import { ConfigError, loadConfig, renderHelp } from "../shared/config/load.ts";
import { coordinatorFields } from "../shared/config/sections.ts";
import { createLogger } from "../shared/log/logger.ts";
import { printVersionIfAsked } from "../shared/runtime/build_info.ts";
import { startCoordinator } from "./server.ts";
import { DEV_FLAG, DEV_HELP, type DevMode, startDevMode } from "./dev/dev_mode.ts";

const USAGE = "Usage: mitosis-coordinator [--dev] [options]\n\nRuns the Mitosis coordinator (REST API, scheduler); " +
  "with --dev, also a node manager on this machine to run suites on at once.";

async function main(): Promise<number> {
  if (printVersionIfAsked("mitosis-coordinator")) return 0;
  let loaded;
  try {
    loaded = loadConfig("coordinator", coordinatorFields, { extraFlags: DEV_FLAG });
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.lines) console.error(`mitosis-coordinator: ${line}`);
      return 2;
    }
    throw error;
  }
  if (loaded.positionals.length > 0) {
    console.error(`mitosis-coordinator: unexpected argument ${loaded.positionals[0]} (see --help)`);
    return 2;
  }
  if (loaded.help) {
    console.log(renderHelp(USAGE, coordinatorFields, [DEV_HELP]));
    return 0;
  }
  const log = createLogger("coordinator", loaded.config.log_level);
  if (loaded.configFile) log.info("configuration file loaded", { path: loaded.configFile });
  for (const key of loaded.unknownKeys) log.warn("unknown configuration key ignored", { key: `coordinator.${key}` });

  let coordinator;
  try {
    coordinator = await startCoordinator(loaded.config, log);
  } catch (error) {
    log.error("coordinator failed to start", { error });
    return 1;
  }
  console.log(`Mitosis coordinator listening on ${coordinator.url}`);
  console.log(
    `Log in with: mitosis login --coordinator ${coordinator.url} ${loaded.config.admin_user}` +
      "  (from a source checkout: ./scripts/mitosis.sh login ...)",
  );
  let dev: DevMode | null = null;
  if (loaded.extra.dev === true) {
    try {
      dev = await startDevMode({ url: coordinator.url, config: loaded.config, configFile: loaded.configFile, log });
    } catch (error) {
      log.error("local mode failed to start", { error });
      await coordinator.stop("local mode failed to start");
      return 1;
    }
  }

  let signals = 0;
  const onSignal = (signal: Deno.Signal) => {
    signals++;
    if (signals > 1) {
      log.warn("second signal: exiting now", { signal });
      dev?.killSync();
      coordinator.killSync();
      Deno.exit(130);
    }
    void (async () => {
      await dev?.stop(); // while the coordinator still serves it
      await coordinator.stop(`signal ${signal}`);
    })();
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  await coordinator.finished;
  await dev?.stop(); // after POST /admin/shutdown
  return 0;
}

if (import.meta.main) Deno.exit(await main());

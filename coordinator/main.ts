/**
 * `mitosis-coordinator`: parses configuration, starts the coordinator and
 * stops it on SIGINT/SIGTERM or `POST /admin/shutdown`.
 */
import { ConfigError, loadConfig, renderHelp } from "../shared/config/load.ts";
import { coordinatorFields } from "../shared/config/sections.ts";
import { createLogger } from "../shared/log/logger.ts";
import { printVersionIfAsked } from "../shared/runtime/build_info.ts";
import { startCoordinator } from "./server.ts";

const USAGE = "Usage: mitosis-coordinator [options]\n\nRuns the Mitosis coordinator (REST API, scheduler).";

async function main(): Promise<number> {
  if (printVersionIfAsked("mitosis-coordinator")) return 0;
  let loaded;
  try {
    loaded = loadConfig("coordinator", coordinatorFields);
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
    console.log(renderHelp(USAGE, coordinatorFields));
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

  let signals = 0;
  const onSignal = (signal: Deno.Signal) => {
    signals++;
    if (signals > 1) {
      log.warn("second signal: exiting now", { signal });
      coordinator.killSync();
      Deno.exit(130);
    }
    void coordinator.stop(`signal ${signal}`);
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  await coordinator.finished;
  return 0;
}

if (import.meta.main) Deno.exit(await main());

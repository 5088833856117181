/**
 * The all-in-one local mode, `mitosis-coordinator --dev`: next to the
 * coordinator, a local node manager (tags `local`, a worker per core) that
 * logs in as the admin user, so a suite can run right after the start; the
 * banner with a copy-paste example is printed once the manager is
 * connected. See `manager_settings.ts` (its settings), `local_manager.ts`
 * (supervision, stop, parent-death signal) and `banner.ts`.
 */
import type { CoordinatorConfig } from "../http/context.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { coordinatorFields } from "../../shared/config/sections.ts";
import { findInstallation, roleCommand } from "../../shared/runtime/installation.ts";
import { coordinatorDataDir } from "../server.ts";
import { devBanner } from "./banner.ts";
import { type LocalManager, startLocalManager } from "./local_manager.ts";
import { prepareLocalManager } from "./manager_settings.ts";

/** The extra command-line flag that turns the local mode on. */
export const DEV_FLAG = { dev: { type: "boolean" } } as const;

/** `--dev` in `--help`, as `[flag, help]`. */
export const DEV_HELP: [string, string] = [
  "--dev",
  "all-in-one local mode: also run a node manager here (tags local, a worker per CPU core)\n" +
  "logged in as admin_user, state in <data_dir>/dev; prints an example suite to try",
];

/** What the local mode needs from the coordinator. */
export interface DevModeInput {
  /** The running coordinator's URL. */
  url: string;
  config: CoordinatorConfig;
  /** The config file the coordinator loaded, if any. */
  configFile?: string;
  log: Logger;
}

/** A running local mode. */
export type DevMode = Pick<LocalManager, "stop" | "killSync">;

/**
 * Starts the local manager and prints the banner once it is connected.
 * Throws when this installation cannot run a manager.
 */
export async function startDevMode(input: DevModeInput): Promise<DevMode> {
  const command = roleCommand("manager");
  if (command === null) throw new Error("this installation holds no mitosis-manager to run the local mode with");
  const env = Deno.env.toObject();
  const settings = await prepareLocalManager({
    coordinatorUrl: input.url,
    adminUser: input.config.admin_user,
    adminPassword: input.config.admin_password,
    dataDir: coordinatorDataDir(input.config, env),
    logLevel: input.config.log_level,
    configFile: input.configFile,
    env,
  });
  const manager = startLocalManager({ command, env: settings.env, log: input.log });
  const installation = findInstallation();
  void manager.connected.then((managerUuid) =>
    console.log(devBanner({
      url: input.url,
      adminUser: input.config.admin_user,
      defaultPassword: input.config.admin_password === coordinatorFields.admin_password.default,
      managerUuid,
      stateDir: settings.stateDir,
      sourceRoot: installation?.kind === "source" ? installation.root : undefined,
    }))
  );
  return manager;
}

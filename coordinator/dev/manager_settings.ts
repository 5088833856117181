/**
 * The settings of the local node manager that `mitosis-coordinator --dev`
 * runs: its `[manager]` keys as `MITOSIS_*` environment variables (coordinator
 * URL, admin user, `password_file`, `state_dir`, tags `local`, log level) on
 * top of the coordinator's environment, from which the coordinator's own
 * settings (secrets among them) and any login settings meant for another
 * user are removed. The password is only in a 0600 file under
 * `<data_dir>/dev/`, never in argv or in a variable tasks inherit.
 */
import { envName } from "../../shared/config/load.ts";
import { coordinatorFields } from "../../shared/config/sections.ts";
import type { LogLevel } from "../../shared/log/logger.ts";

/** The tag of the local manager: suites created with `--tags local` run on it. */
export const LOCAL_MANAGER_TAG = "local";

/** Manager keys the local mode always sets itself (never taken from the coordinator's environment). */
const MANAGED_KEYS = [
  "coordinator_addr",
  "user",
  "password",
  "password_file",
  "credential_path",
  "retain",
  "state_dir",
  "tags",
  "log_level",
] as const;

/** What the local manager's settings are derived from. */
export interface LocalManagerInput {
  /** This coordinator's URL. */
  coordinatorUrl: string;
  /** The configured `admin_user` and `admin_password`. */
  adminUser: string;
  adminPassword: string;
  /** The coordinator's data dir; the manager's files go to `<dataDir>/dev/`. */
  dataDir: string;
  logLevel: LogLevel;
  /** The config file the coordinator loaded, if any: the manager reads its `[manager]` section. */
  configFile?: string;
  /** The coordinator's environment. */
  env: Record<string, string>;
}

/** Where the local manager keeps its files and the environment it runs with. */
export interface LocalManagerSettings {
  /** The complete environment of the manager process. */
  env: Record<string, string>;
  /** `<data_dir>/dev/manager`: its lock, identity and suites' work dirs. */
  stateDir: string;
  /** `<data_dir>/dev/admin-password` (0600). */
  passwordFile: string;
}

/** The directory of the local mode's files under the coordinator's data dir. */
export function devDir(dataDir: string): string {
  return `${dataDir}/dev`;
}

/** Writes `text` to a new file of mode 0600 (an existing one is replaced, never reopened with its old mode). */
async function writePrivateFile(path: string, text: string): Promise<void> {
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.writeTextFile(path, text, { createNew: true, mode: 0o600 });
}

/**
 * The environment of the local manager: `input.env` without the
 * coordinator's `MITOSIS_*` settings, `MITOSIS_CONFIG` and the manager keys
 * set here, plus those keys.
 */
export function localManagerEnv(
  input: Omit<LocalManagerInput, "adminPassword">,
  paths: { stateDir: string; passwordFile: string },
): Record<string, string> {
  const removed = new Set([
    "MITOSIS_CONFIG",
    ...Object.keys(coordinatorFields).map(envName),
    ...MANAGED_KEYS.map(envName),
  ]);
  const env = Object.fromEntries(Object.entries(input.env).filter(([name]) => !removed.has(name)));
  const settings: Record<(typeof MANAGED_KEYS)[number], string | undefined> = {
    coordinator_addr: input.coordinatorUrl,
    user: input.adminUser,
    password: undefined,
    password_file: paths.passwordFile,
    // Not the user's credential cache: the manager logs in with the password file and caches nothing there.
    credential_path: `${devDir(input.dataDir)}/credentials`,
    // Logging in must not revoke the admin's other tokens (the user's CLI login).
    retain: "true",
    state_dir: paths.stateDir,
    tags: LOCAL_MANAGER_TAG,
    log_level: input.logLevel,
  };
  for (const [key, value] of Object.entries(settings)) if (value !== undefined) env[envName(key)] = value;
  if (input.configFile !== undefined) env.MITOSIS_CONFIG = input.configFile;
  return env;
}

/**
 * Creates `<data_dir>/dev/` (0700), writes the admin password file (0600)
 * and returns the manager's settings.
 */
export async function prepareLocalManager(input: LocalManagerInput): Promise<LocalManagerSettings> {
  const dir = devDir(input.dataDir);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const passwordFile = `${dir}/admin-password`;
  await writePrivateFile(passwordFile, `${input.adminPassword}\n`);
  const stateDir = `${dir}/manager`;
  return { env: localManagerEnv(input, { stateDir, passwordFile }), stateDir, passwordFile };
}

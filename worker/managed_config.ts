/**
 * The configuration of a managed worker without the configuration schemas.
 *
 * `loadConfig` validates every field with zod, whose loading is about a
 * fifth of a managed worker's memory. A managed worker uses three settings
 * (`cache_dir`, `task_user`, `log_level`) and is started by its manager with
 * `--managed --ipc … --worker-local-id … --cache-dir … --task-user …` and the
 * manager's environment. `managedConfig` reads that case by hand, and only
 * when it is certain to give what `loadConfig("worker", workerFields)` would:
 *
 * - flags: only `--managed`, `--ipc`, `--worker-local-id`, `--cache-dir`,
 *   `--task-user`, `--log-level`, each at most once (`--name value` with a
 *   value not starting with `-`, or `--name=value`);
 * - `MITOSIS_CONFIG` unset; the default config file absent, or its
 *   `[worker]` table holding no key of the worker's but those three, as
 *   strings (other keys are reported as unknown by `loadConfig`, which a
 *   managed worker ignores);
 * - every `MITOSIS_<KEY>` of a worker key valid (they are checked as the
 *   field schemas check them).
 *
 * Anything else (`--help`, another flag, a bad value, a config file setting
 * other worker keys…) gets null, and `main.ts` runs `loadConfig`, which
 * gives the same result or the precise error. `tests/worker_managed_config.test.ts`
 * compares both on many inputs and keeps `WORKER_KEYS` equal to the keys of
 * `workerFields`.
 */
import { parseDuration } from "../shared/config/duration.ts";
import { LOG_LEVELS, type LogLevel } from "../shared/log/logger.ts";

// As in `shared/config/load.ts` (not imported: it loads the TOML parser and `node:util` up front).
/** The environment variable of a key: `log_level` → `MITOSIS_LOG_LEVEL`. */
const envName = (key: string): string => `MITOSIS_${key.toUpperCase()}`;
/** `$XDG_CONFIG_HOME` (or `~/.config`). */
const configHome = (env: Record<string, string>): string => env.XDG_CONFIG_HOME || `${env.HOME ?? "."}/.config`;

/** What a managed worker takes from its configuration. */
export interface ManagedConfig {
  config: { cache_dir?: string; task_user: string; log_level: LogLevel };
  /** The managed-mode flags, as `loadConfig` returns its `extraFlags`. */
  extra: { managed: boolean | undefined; ipc: string | undefined; "worker-local-id": string | undefined };
}

/** How each key of `workerFields` (`shared/config/sections.ts`) is validated from a string. */
const WORKER_KEYS = {
  coordinator_addr: "string",
  polling_interval: "duration",
  heartbeat_interval: "duration",
  credential_path: "string",
  user: "string",
  password: "string",
  password_file: "string",
  task_user: "string",
  groups: "list",
  tags: "list",
  labels: "list",
  lifetime: "duration",
  retain: "bool",
  cache_dir: "string",
  log_level: "logLevel",
} as const;
/** The worker's configuration keys (for the tests). */
export const MANAGED_CONFIG_WORKER_KEYS: readonly string[] = Object.keys(WORKER_KEYS);

const BOOL_WORDS = ["1", "true", "yes", "on", "0", "false", "no", "off", ""];

/** Whether the field schema of `kind` accepts the string `value`. */
function validString(kind: typeof WORKER_KEYS[keyof typeof WORKER_KEYS], value: string): boolean {
  switch (kind) {
    case "string":
      return value.length >= 1;
    case "duration": {
      const ms = parseDuration(value);
      return ms !== null && ms >= 0;
    }
    case "list":
      return true;
    case "bool":
      return BOOL_WORDS.includes(value.trim().toLowerCase());
    case "logLevel":
      return (LOG_LEVELS as readonly string[]).includes(value);
  }
}

/** The settings a managed worker reads; other keys of a config file's `[worker]` table send it to `loadConfig`. */
const MANAGED_KEYS = ["cache_dir", "task_user", "log_level"] as const;
type ManagedKey = typeof MANAGED_KEYS[number];

/** The flags of the fast path: the config key each one sets, or the extra flag it is. */
const FLAGS: Record<string, ManagedKey | "ipc" | "worker-local-id"> = {
  "cache-dir": "cache_dir",
  "task-user": "task_user",
  "log-level": "log_level",
  ipc: "ipc",
  "worker-local-id": "worker-local-id",
};

/** Reads the config file's `[worker]` values of the managed keys; null when only `loadConfig` can tell. */
async function fileValues(env: Record<string, string>): Promise<Partial<Record<ManagedKey, string>> | null> {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${configHome(env)}/mitosis/config.toml`);
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? {} : null;
  }
  let doc: Record<string, unknown>;
  try {
    const { parse } = await import("smol-toml");
    doc = parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  const part = doc.worker;
  if (part === undefined) return {};
  if (typeof part !== "object" || part === null || Array.isArray(part)) return null;
  const values: Partial<Record<ManagedKey, string>> = {};
  for (const [key, value] of Object.entries(part)) {
    if (!(key in WORKER_KEYS)) continue; // an unknown key: a warning of loadConfig's, which managed mode ignores
    const managed = MANAGED_KEYS.find((k) => k === key);
    if (managed === undefined || typeof value !== "string") return null;
    if (!validString(WORKER_KEYS[managed], value)) return null;
    values[managed] = value;
  }
  return values;
}

/**
 * The configuration of a managed worker read without the schemas, or null
 * when `loadConfig` must read it (see the module comment).
 */
export async function managedConfig(
  args: readonly string[],
  env: Record<string, string>,
): Promise<ManagedConfig | null> {
  const flags: Partial<Record<ManagedKey | "ipc" | "worker-local-id", string>> = {};
  let managed = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--managed") {
      if (managed) return null;
      managed = true;
      continue;
    }
    if (!arg.startsWith("--")) return null;
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const target = Object.hasOwn(FLAGS, name) ? FLAGS[name] : undefined;
    if (target === undefined || flags[target] !== undefined) return null;
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("-")) return null;
      value = next;
      i++;
    }
    flags[target] = value;
  }
  if (!managed || env.MITOSIS_CONFIG !== undefined) return null;
  for (const [key, kind] of Object.entries(WORKER_KEYS)) {
    const value = env[envName(key)];
    if (value !== undefined && !validString(kind, value)) return null;
  }
  for (const key of MANAGED_KEYS) {
    if (flags[key] !== undefined && !validString(WORKER_KEYS[key], flags[key])) return null;
  }
  const file = await fileValues(env);
  if (file === null) return null;
  const pick = (key: ManagedKey): string | undefined => flags[key] ?? env[envName(key)] ?? file[key];
  return {
    config: {
      cache_dir: pick("cache_dir"),
      task_user: pick("task_user") ?? "mitosis-task",
      log_level: (pick("log_level") ?? "info") as LogLevel,
    },
    extra: { managed: true, ipc: flags.ipc, "worker-local-id": flags["worker-local-id"] },
  };
}

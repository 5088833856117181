/**
 * A managed worker's configuration read without the schemas
 * (`worker/managed_config.ts`) against `loadConfig("worker", workerFields)`:
 * on a matrix of flags, `MITOSIS_*` variables (every worker key, valid and
 * invalid values) and config files, whatever the fast path answers equals
 * what `loadConfig` gives, and the way a manager starts its workers takes
 * the fast path.
 */
import { loadConfig } from "../shared/config/load.ts";
import { workerFields } from "../shared/config/sections.ts";
import { MANAGED_FLAGS } from "../worker/managed.ts";
import { MANAGED_CONFIG_WORKER_KEYS, managedConfig } from "../worker/managed_config.ts";
import { assertEquals, assertTrue } from "./support/assert.ts";

/** What `loadConfig` gives a managed worker, in the fast path's shape; the error text otherwise. */
function viaLoadConfig(args: string[], env: Record<string, string>): unknown {
  try {
    const loaded = loadConfig("worker", workerFields, { args, env, extraFlags: MANAGED_FLAGS });
    if (loaded.help || loaded.positionals.length > 0 || loaded.extra.managed !== true) return "not managed mode";
    const { cache_dir, task_user, log_level } = loaded.config;
    return { config: { cache_dir, task_user, log_level }, extra: loaded.extra };
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

const MANAGER_ARGS = [
  "--managed",
  "--ipc",
  "unix:/tmp/x/ipc.sock",
  "--worker-local-id",
  "3",
  "--cache-dir",
  "/tmp/x/workers/3",
  "--task-user",
  "root",
];

const ARGS: string[][] = [
  MANAGER_ARGS,
  ["--managed", "--ipc=unix:/a", "--worker-local-id=0"],
  ["--managed", "--ipc", "/a", "--worker-local-id", "1", "--log-level", "debug"],
  ["--managed", "--ipc", "/a", "--worker-local-id", "1", "--log-level=verbose"],
  ["--managed", "--ipc", "/a", "--cache-dir="],
  ["--managed", "--ipc", "/a", "--task-user", ""],
  ["--managed", "--ipc", "/a", "--ipc", "/b"],
  ["--managed", "--ipc"],
  ["--managed", "--ipc", "-x"],
  ["--managed", "--managed"],
  ["--managed=true"],
  ["--managed", "-h"],
  ["--managed", "--help"],
  ["--managed", "positional"],
  ["--managed", "--"],
  ["--managed", "--coordinator-addr", "http://x"],
  ["--managed", "--config", "/nonexistent.toml"],
  ["--ipc", "/a"],
  [],
];

/** Sample strings for every kind of key (valid for some kinds, not for others). */
const SAMPLES = ["", " ", "x", "1m", "90s", "-1s", "1.5h", "true", "OFF", "maybe", "debug", "a, b,", "0"];

/** Environments: none, each worker key with each sample, and a few combinations. */
function environments(home: string): Record<string, string>[] {
  const base = { HOME: home, XDG_CONFIG_HOME: `${home}/config` };
  const out: Record<string, string>[] = [base];
  for (const key of MANAGED_CONFIG_WORKER_KEYS) {
    for (const value of SAMPLES) out.push({ ...base, [`MITOSIS_${key.toUpperCase()}`]: value });
  }
  out.push({ ...base, MITOSIS_LOG_LEVEL: "warn", MITOSIS_COORDINATOR_ADDR: "http://c", MITOSIS_USER: "u" });
  out.push({ ...base, MITOSIS_CONFIG: `${home}/missing.toml` });
  out.push({ ...base, MITOSIS_TASK_USER: "someone", MITOSIS_CACHE_DIR: "/c" });
  return out;
}

const FILES: (string | null)[] = [
  null,
  "",
  '[worker]\nlog_level = "debug"\n',
  '[worker]\nlog_level = "loud"\n',
  "[worker]\nlog_level = 3\n",
  '[worker]\ntask_user = "t"\ncache_dir = "/d"\nunknown_key = 1\n',
  '[worker]\ncache_dir = ""\n',
  '[worker]\npolling_interval = "1m"\n',
  '[worker]\ntags = ["a"]\n',
  '[manager]\nmax_workers = "lots"\n',
  "worker = 5\n",
  "[worker\n",
];

Deno.test("managed config: the keys it checks are the keys of workerFields", () => {
  assertEquals([...MANAGED_CONFIG_WORKER_KEYS].sort(), Object.keys(workerFields).sort());
});

Deno.test("managed config: whatever the fast path reads equals what loadConfig gives", async () => {
  const home = await Deno.makeTempDir({ prefix: "mitosis-managed-config-" });
  try {
    await Deno.mkdir(`${home}/config/mitosis`, { recursive: true });
    let fast = 0;
    let total = 0;
    for (const file of FILES) {
      const path = `${home}/config/mitosis/config.toml`;
      if (file === null) await Deno.remove(path).catch(() => {});
      else await Deno.writeTextFile(path, file);
      for (const env of environments(home)) {
        for (const args of ARGS) {
          const got = await managedConfig(args, env);
          total++;
          if (got === null) continue;
          fast++;
          const what = JSON.stringify({ args, env, file });
          assertEquals(got as unknown, viaLoadConfig(args, env), what);
        }
      }
    }
    assertTrue(fast > 1_000 && fast < total, `${fast} of ${total} cases took the fast path`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("managed config: a worker started as the manager starts it takes the fast path", async () => {
  const home = await Deno.makeTempDir({ prefix: "mitosis-managed-config-" });
  try {
    const env = { HOME: home, MITOSIS_LOG_LEVEL: "warn", MITOSIS_COORDINATOR_ADDR: "http://c:5000" };
    const got = await managedConfig(MANAGER_ARGS, env);
    assertEquals(got, {
      config: { cache_dir: "/tmp/x/workers/3", task_user: "root", log_level: "warn" },
      extra: { managed: true, ipc: "unix:/tmp/x/ipc.sock", "worker-local-id": "3" },
    });
    // A config file whose [worker] table sets only what a managed worker reads keeps the fast path.
    await Deno.mkdir(`${home}/.config/mitosis`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/.config/mitosis/config.toml`,
      '[manager]\nmax_workers = 4\n[worker]\nlog_level = "error"\n',
    );
    assertEquals((await managedConfig(MANAGER_ARGS, { HOME: home }))?.config.log_level, "error");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/**
 * Test coordinators: in-process (`startTestCoordinator`) for API tests, or
 * a real `coordinator/main.ts` process (`spawnCoordinator`) for lifecycle
 * tests. Both listen on loopback with a random port; the in-process one uses
 * a fresh database (with the current schema already migrated) unless one is
 * given.
 */
import { type Coordinator, startCoordinator } from "../../coordinator/server.ts";
import { loadConfig } from "../../shared/config/load.ts";
import { coordinatorFields } from "../../shared/config/sections.ts";
import type { CoordinatorConfig } from "../../coordinator/http/context.ts";
import { createLogger, type LogLevel } from "../../shared/log/logger.ts";
import { migratedDatabase } from "./postgres.ts";

/** Default admin credentials of test coordinators. */
export const ADMIN = { username: "mitosis_admin", password: "test-admin-pw" } as const;

/** A coordinator running inside the test process. */
export interface TestCoordinator extends Coordinator, AsyncDisposable {
  readonly dbUrl: string;
  readonly dataDir: string;
}

/** Starts an in-process coordinator; dispose (or `stop`) it at the end of the test. */
export async function startTestCoordinator(overrides: Partial<CoordinatorConfig> = {}): Promise<TestCoordinator> {
  const dbUrl = overrides.db_url ?? await migratedDatabase();
  const dataDir = overrides.data_dir ?? await Deno.makeTempDir({ prefix: "mitosis-test-coord-" });
  const { config } = loadConfig("coordinator", coordinatorFields, { args: [], env: { HOME: dataDir } });
  const level = (Deno.env.get("MITOSIS_TEST_LOG_LEVEL") ?? "error") as LogLevel;
  const coordinator = await startCoordinator(
    {
      ...config,
      bind: "127.0.0.1:0",
      admin_password: ADMIN.password,
      log_level: level,
      ...overrides,
      db_url: dbUrl,
      data_dir: dataDir,
    },
    createLogger("test-coordinator", level),
  );
  return {
    ...coordinator,
    dbUrl,
    dataDir,
    [Symbol.asyncDispose]: async () => {
      await coordinator.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A coordinator running as a child process. */
export interface SpawnedCoordinator extends AsyncDisposable {
  readonly url: string;
  readonly process: Deno.ChildProcess;
  /** Everything the process wrote to stderr so far (JSON log lines). */
  readonly stderr: () => string;
  /** Sends SIGTERM and waits for exit; returns the exit code. */
  stop(): Promise<number>;
}

const decoder = new TextDecoder();

/**
 * Spawns `deno run coordinator/main.ts` with the given flags and environment
 * and waits until it prints its listening line (or exits, which throws).
 */
export async function spawnCoordinator(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<SpawnedCoordinator> {
  const main = new URL("../../coordinator/main.ts", import.meta.url).pathname;
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, ...args],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderrText = "";
  const stderrDone = (async () => {
    for await (const chunk of process.stderr) stderrText += decoder.decode(chunk);
  })();
  const reader = process.stdout.getReader();
  let stdoutText = "";
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (url === undefined) {
    if (Date.now() > deadline) {
      process.kill("SIGKILL");
      throw new Error(`coordinator did not start in ${timeoutMs} ms:\n${stderrText}`);
    }
    const { value, done } = await reader.read();
    if (done) {
      await stderrDone;
      const status = await process.status;
      throw new Error(`coordinator exited with ${status.code} before listening:\n${stderrText}`);
    }
    stdoutText += decoder.decode(value);
    url = /listening on (http:\/\/\S+)/.exec(stdoutText)?.[1];
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  let exited: Promise<number> | undefined;
  const stop = () => {
    exited ??= (async () => {
      try {
        process.kill("SIGTERM");
      } catch {
        // already exited
      }
      const status = await process.status;
      await stderrDone;
      return status.code;
    })();
    return exited;
  };
  return { url, process, stderr: () => stderrText, stop, [Symbol.asyncDispose]: async () => void await stop() };
}

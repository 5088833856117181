/**
 * Runs `manager/main.ts` as a real subprocess in a sandbox (temporary HOME,
 * config, credential cache and its own `--state-dir`; a clean environment)
 * and, unless told otherwise, waits for its
 * `mitosis-manager <uuid> connected to <url>` line. Dispose it to stop it
 * (SIGTERM, then SIGKILL) and remove the sandbox it created. Also: a probe
 * for processes carrying a given environment variable (hooks and workers of
 * a suite carry `MITOSIS_TASK_SUITE_UUID`).
 */
import { spawnSandboxed } from "./sandbox.ts";

const MAIN = new URL("../../manager/main.ts", import.meta.url).pathname;

/** Options of `spawnManager`. */
export interface SpawnManagerOptions {
  user?: string;
  password?: string;
  /** Extra flags (defaults: `--heartbeat-interval 2s --retain --log-level debug`). */
  args?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Sandbox to use (e.g. the one of an earlier run, to reuse its state dir); it is then kept on dispose. */
  dir?: string;
  /** Wait for the connected line (default true). */
  waitConnected?: boolean;
  /** How long to wait for it (default 60 s). */
  timeoutMs?: number;
}

/** A running manager process. */
export interface SpawnedManager extends AsyncDisposable {
  readonly process: Deno.ChildProcess;
  /** The sandbox directory (HOME). */
  readonly dir: string;
  /** The manager's `--state-dir`. */
  readonly stateDir: string;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** The JSON log lines written so far. */
  logs(): Record<string, unknown>[];
  /** Waits until a log line matches `predicate`; returns it. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<
    Record<string, unknown>
  >;
  /** Waits for the connected line; resolves with the manager's uuid. */
  waitConnected(timeoutMs?: number): Promise<string>;
  /** Sends a signal (ignored once it has exited). */
  kill(signal: Deno.Signal): void;
  /** Waits for exit at most `timeoutMs`; resolves with the exit code, or null when still running. */
  waitExit(timeoutMs: number): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 30 s); resolves with the exit code. */
  stop(graceMs?: number): Promise<number>;
}

/** Starts a manager for `coordinatorUrl`. */
export async function spawnManager(coordinatorUrl: string, options: SpawnManagerOptions = {}): Promise<SpawnedManager> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "mitosis-test-manager-" });
  const stateDir = `${dir}/state`;
  const args = [
    "run",
    "--allow-all",
    // As `deno task manager` runs it: 1 MiB young-generation semi-spaces (peak RSS ~110 -> ~85 MiB).
    "--v8-flags=--max-semi-space-size=1",
    MAIN,
    "--coordinator",
    coordinatorUrl,
    "--state-dir",
    stateDir,
    "--heartbeat-interval",
    "2s",
    "--retain", // keep the test's own tokens of that user valid
    "--log-level",
    "debug",
    ...(options.user === undefined ? [] : ["--user", options.user]),
    ...(options.password === undefined ? [] : ["--password", options.password]),
    ...(options.args ?? []),
  ];
  const { process, supervised } = spawnSandboxed(args, dir, options.env, 30_000);
  const { waitExit, kill, stop } = supervised;
  const logs = (): Record<string, unknown>[] =>
    supervised.stderr().split("\n").flatMap((line) => {
      if (!line.startsWith("{")) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return []; // a line still being written
      }
    });
  const waitForLog = async (
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logs().find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(`manager did not log ${what} in ${timeoutMs} ms:\n${supervised.stderr()}`);
      }
      if (supervised.exitCode() !== null) {
        throw new Error(`manager exited with ${supervised.exitCode()} before logging ${what}:\n${supervised.stderr()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const waitConnected = async (timeoutMs = options.timeoutMs ?? 60_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const uuid = /mitosis-manager (\S+) connected to /.exec(supervised.stdout())?.[1];
      if (uuid !== undefined) return uuid;
      const code = await waitExit(50);
      if (code !== null) throw new Error(`manager exited with ${code} before connecting:\n${supervised.stderr()}`);
      if (Date.now() > deadline) throw new Error(`manager did not connect in ${timeoutMs} ms:\n${supervised.stderr()}`);
    }
  };
  const cleanup = async () => {
    await stop();
    if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {/* already gone */});
  };

  const manager: SpawnedManager = {
    process,
    dir,
    stateDir,
    stdout: supervised.stdout,
    stderr: supervised.stderr,
    logs,
    waitForLog,
    waitConnected,
    kill,
    waitExit,
    stop,
    [Symbol.asyncDispose]: cleanup,
  };
  if (options.waitConnected ?? true) {
    try {
      await waitConnected();
    } catch (error) {
      await cleanup();
      throw error;
    }
  }
  return manager;
}

/**
 * Pids of living processes (not zombies) whose environment holds
 * `name=value`, read from `/proc/<pid>/environ` (processes of other users
 * are skipped).
 */
export function processesWithEnv(name: string, value: string): number[] {
  const wanted = `${name}=${value}`;
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
      if (state === "Z" || state === "X") continue;
      const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      if (environ.split("\0").includes(wanted)) found.push(Number(entry.name));
    } catch {
      continue; // exited while scanning, or not readable
    }
  }
  return found;
}

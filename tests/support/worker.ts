/**
 * Runs `worker/main.ts` as a real subprocess in a sandbox (temporary HOME,
 * config, credential cache and cache dir; a clean environment) and waits for
 * its `mitosis-worker <uuid> registered with <url>` line. Dispose it to stop
 * it (SIGTERM, then SIGKILL) and remove the sandbox.
 */
import { spawnSandboxed } from "./sandbox.ts";

const MAIN = new URL("../../worker/main.ts", import.meta.url).pathname;

/** Options of `spawnWorker`. */
export interface SpawnWorkerOptions {
  user: string;
  password: string;
  /** Extra flags (defaults: `--polling-interval 200ms --heartbeat-interval 1s --retain`). */
  args?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** How long to wait for registration (default 60 s). */
  timeoutMs?: number;
  /** `--cache-dir` (default `<sandbox>/cache`), e.g. one prepared before the worker starts. */
  cacheRoot?: string;
}

/** A running worker process. */
export interface SpawnedWorker extends AsyncDisposable {
  /** The worker's uuid, from its registered line. */
  readonly uuid: string;
  readonly process: Deno.ChildProcess;
  /** The sandbox directory (HOME). */
  readonly dir: string;
  /** The worker's own cache dir, `<cache_dir>/<uuid>`. */
  readonly cacheDir: string;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Sends a signal (ignored once it has exited). */
  kill(signal: Deno.Signal): void;
  /** Waits for exit at most `timeoutMs`; resolves with the exit code, or null when still running. */
  waitExit(timeoutMs: number): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 20 s); resolves with the exit code. */
  stop(graceMs?: number): Promise<number>;
}

/** Starts a worker for `coordinatorUrl` and waits until it has registered. */
export async function spawnWorker(coordinatorUrl: string, options: SpawnWorkerOptions): Promise<SpawnedWorker> {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-worker-" });
  const cacheRoot = options.cacheRoot ?? `${dir}/cache`;
  const args = [
    "run",
    "--allow-all",
    MAIN,
    "--coordinator",
    coordinatorUrl,
    "--user",
    options.user,
    "--password",
    options.password,
    "--cache-dir",
    cacheRoot,
    "--polling-interval",
    "200ms",
    "--heartbeat-interval",
    "1s",
    "--retain", // keep the test's own tokens of that user valid
    ...(options.args ?? []),
  ];
  const { process, supervised } = spawnSandboxed(args, dir, options.env, 20_000);
  const { waitExit, kill, stop } = supervised;
  const cleanup = async () => {
    await stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {/* already gone */});
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let uuid: string | undefined;
  while (uuid === undefined) {
    uuid = /mitosis-worker (\S+) registered with /.exec(supervised.stdout())?.[1];
    if (uuid !== undefined) break;
    const code = await waitExit(50);
    if (code !== null || Date.now() > deadline) {
      await cleanup();
      throw new Error(
        code !== null
          ? `worker exited with ${code} before registering:\n${supervised.stderr()}`
          : `worker did not register in time:\n${supervised.stderr()}`,
      );
    }
  }

  return {
    uuid,
    process,
    dir,
    cacheDir: `${cacheRoot}/${uuid}`,
    stdout: supervised.stdout,
    stderr: supervised.stderr,
    kill,
    waitExit,
    stop,
    [Symbol.asyncDispose]: cleanup,
  };
}

/**
 * Supervision of the local node manager of `mitosis-coordinator --dev`.
 *
 * - Spawn: `roleCommand("manager")` (a source checkout or a built runtime
 *   directory), in a session and process group of its own, so a Ctrl-C in
 *   the coordinator's terminal reaches the coordinator only and the
 *   coordinator alone decides how the manager stops; through
 *   `setpriv --pdeathsig KILL` (`parentDeathPrefix`, as tasks are spawned),
 *   so the kernel kills it when the coordinator dies, even by SIGKILL (its
 *   workers then see their IPC connection close and exit, killing their
 *   tasks). Stdin closed, stderr (JSON logs) on the coordinator's stderr,
 *   stdout read for its `mitosis-manager <uuid> connected to <url>` line.
 * - Unexpected exit: logged as an error with the exit code and signal, then
 *   the manager is started again after a backoff (1 s, 2 s … 30 s; starting
 *   over once a manager has run for `STABLE_MS`).
 * - `stop`: no more restarts; SIGTERM (the manager's graceful stop: running
 *   tasks get its `worker_stop_grace`), SIGKILL after `stopGraceMs`.
 *   `killSync` sends SIGKILL at once (a forced exit).
 */
import type { Logger } from "../../shared/log/logger.ts";
import { parentDeathPrefix } from "../../shared/exec/task_user.ts";
import { Backoff, sleep } from "../../manager/connection/backoff.ts";

/** A manager that ran this long before exiting restarts after the shortest delay again. */
export const STABLE_MS = 60_000;

/**
 * Default time between SIGTERM and SIGKILL when stopping: the manager's
 * default `worker_stop_grace` (30 s) plus its stop delivery time (5 s) and
 * a margin.
 */
export const DEFAULT_STOP_GRACE_MS = 45_000;

/** Longest delay between restarts. */
const MAX_RESTART_DELAY_MS = 30_000;

/** How to run and supervise the manager. */
export interface LocalManagerOptions {
  /** The argv running the manager (`roleCommand("manager")`). */
  command: string[];
  /** Its complete environment. */
  env: Record<string, string>;
  log: Logger;
  /** Time between SIGTERM and SIGKILL on `stop` (default `DEFAULT_STOP_GRACE_MS`). */
  stopGraceMs?: number;
  /** First restart delay (default 1 s). */
  restartDelayMs?: number;
}

/** A supervised local manager. */
export interface LocalManager {
  /** Resolves with the manager's uuid on its first connection to the coordinator. */
  readonly connected: Promise<string>;
  /** Pid of the manager process now running, if any. */
  pid(): number | null;
  /** Stops it (no restart); resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now, without waiting (last-resort exit path). */
  killSync(): void;
}

const CONNECTED = /^mitosis-manager (\S+) connected to /;

/** Reads the manager's stdout: its connected line calls `onConnected`, any other line goes to stderr. */
async function readStdout(child: Deno.ChildProcess, onConnected: (uuid: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  const line = (text: string) => {
    const uuid = CONNECTED.exec(text)?.[1];
    if (uuid !== undefined) onConnected(uuid);
    else if (text !== "") Deno.stderr.writeSync(encoder.encode(`${text}\n`));
  };
  try {
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      lines.forEach(line);
    }
  } catch {
    // the pipe broke: the process is gone
  }
  line(pending);
}

/** Starts the manager now and keeps it running until `stop`. */
export function startLocalManager(options: LocalManagerOptions): LocalManager {
  const { log } = options;
  const stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  const backoff = new Backoff({ initialMs: options.restartDelayMs ?? 1_000, maxMs: MAX_RESTART_DELAY_MS });
  const stopping = new AbortController();
  const prefix = parentDeathPrefix(undefined);
  if (prefix.length === 0) {
    log.warn("setpriv (util-linux) not found: the local manager would outlive a coordinator killed with SIGKILL");
  }
  let child: Deno.ChildProcess | null = null;
  let resolveConnected: (uuid: string) => void = () => {};
  const connected = new Promise<string>((resolve) => resolveConnected = resolve);

  /** Runs one manager process until it exits; resolves with how long it ran. */
  const runOnce = async (): Promise<number> => {
    const argv = [...prefix, ...options.command];
    const startedAt = performance.now();
    let process: Deno.ChildProcess;
    try {
      process = new Deno.Command(argv[0], {
        args: argv.slice(1),
        env: options.env,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
        detached: true,
      }).spawn();
    } catch (error) {
      log.error("local manager could not be started", { command: options.command, error });
      return 0;
    }
    child = process;
    const pid = process.pid;
    log.info("local manager started", { pid, command: options.command });
    const output = readStdout(process, (uuid) => {
      log.info("local manager connected", { pid, manager_uuid: uuid });
      resolveConnected(uuid);
    });
    const status = await process.status;
    void output; // may end later: a process the manager left behind can hold the pipe
    child = null;
    const exit = { pid, exit_code: status.code, signal: status.signal ?? null };
    if (stopping.signal.aborted) log.info("local manager stopped", exit);
    else log.error("local manager exited unexpectedly", exit);
    return performance.now() - startedAt;
  };

  const supervision = (async () => {
    while (!stopping.signal.aborted) {
      const ranMs = await runOnce();
      if (stopping.signal.aborted) break;
      if (ranMs >= STABLE_MS) backoff.reset();
      const delay = backoff.next();
      log.warn("local manager restarting", { restart_in_ms: delay, restarts: backoff.attempts });
      await sleep(delay, stopping.signal);
    }
  })();

  const signal = (name: Deno.Signal) => {
    try {
      child?.kill(name);
    } catch {
      // exited meanwhile
    }
  };

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping.abort();
      const running = child;
      if (running !== null) {
        log.info("stopping the local manager", { pid: running.pid, grace_ms: stopGraceMs });
        signal("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const graceOver = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), stopGraceMs));
        const late = await Promise.race([running.status.then(() => false), graceOver]);
        clearTimeout(timer);
        if (late) {
          log.warn("local manager did not stop in time: killing it", { pid: running.pid, grace_ms: stopGraceMs });
          signal("SIGKILL");
        }
      }
      await supervision;
    })();
    return stopped;
  };

  return {
    connected,
    pid: () => child?.pid ?? null,
    stop,
    killSync: () => {
      stopping.abort();
      signal("SIGKILL");
    },
  };
}

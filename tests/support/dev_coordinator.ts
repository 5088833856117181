/**
 * `coordinator/main.ts --dev` as a real process, as a user runs it from a
 * terminal: in a process group of its own (so a test can send SIGINT to the
 * whole group, as Ctrl-C does), in a sandbox HOME with its own data dir, on a
 * test database and a random loopback port. Also: the example its banner
 * prints, and the living processes that mention a path (in their command
 * line or environment), to prove that nothing it started is left behind.
 */
import { sandboxEnv } from "./sandbox.ts";
import { migratedDatabase } from "./postgres.ts";
import { processesMentioning } from "./leftovers.ts";

const MAIN = new URL("../../coordinator/main.ts", import.meta.url).pathname;

/** The admin password test coordinators in the local mode get (through the environment). */
export const DEV_ADMIN_PASSWORD = "dev-admin-pw";

/** A running `--dev` coordinator. */
export interface DevCoordinator extends AsyncDisposable {
  readonly process: Deno.ChildProcess;
  /** Its HOME: every process it starts carries this path in its environment. */
  readonly home: string;
  /** Its `--data-dir`. */
  readonly dataDir: string;
  /** Its URL, from the listening line. */
  readonly url: string;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** The JSON log lines written to stderr so far (coordinator and manager). */
  logs(): Record<string, unknown>[];
  /** Waits until a log line matches `predicate`; returns it. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<
    Record<string, unknown>
  >;
  /** The example's commands as printed (indented lines of the banner), without the indentation. */
  example(): string[];
  /** Sends `signal` to its process group (as a terminal's Ctrl-C does with SIGINT). */
  signalGroup(signal: Deno.Signal): void;
  /** Waits for its exit at most `timeoutMs`; the exit code, or null when still running. */
  waitExit(timeoutMs: number): Promise<number | null>;
}

/** Options of `spawnDevCoordinator`. */
export interface DevCoordinatorOptions {
  /** Extra arguments after `--dev`. */
  args?: string[];
  /** How long to wait for the banner (default 90 s). */
  timeoutMs?: number;
}

/** The banner's last line: once it is printed, the example is complete. */
const BANNER_END = "Ctrl-C stops";

/**
 * Starts `coordinator/main.ts --dev --bind 127.0.0.1:0 --data-dir
 * <home>/data --db-url <fresh migrated database>` with the admin password
 * in `MITOSIS_ADMIN_PASSWORD`, and waits for its banner. Disposing it kills
 * whatever is left of it (SIGKILL to the coordinator, then to every process
 * mentioning its HOME) and removes the HOME.
 */
export async function spawnDevCoordinator(options: DevCoordinatorOptions = {}): Promise<DevCoordinator> {
  const home = await Deno.makeTempDir({ prefix: "mitosis-test-dev-" });
  const dataDir = `${home}/data`;
  const dbUrl = await migratedDatabase();
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      MAIN,
      "--dev",
      "--bind",
      "127.0.0.1:0",
      "--data-dir",
      dataDir,
      "--db-url",
      dbUrl,
      ...(options.args ?? []),
    ],
    env: sandboxEnv(home, { MITOSIS_ADMIN_PASSWORD: DEV_ADMIN_PASSWORD, MITOSIS_LOG_LEVEL: "info" }),
    clearEnv: true,
    cwd: home,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true, // its own process group, as a shell's foreground job
  }).spawn();
  let stdoutText = "";
  let stderrText = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of process.stdout) stdoutText += decoder.decode(chunk, { stream: true });
  })();
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of process.stderr) stderrText += decoder.decode(chunk, { stream: true });
  })();
  let code: number | null = null;
  const status = process.status.then((s) => code = s.code);
  const waitExit = async (timeoutMs: number): Promise<number | null> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), timeoutMs));
    try {
      return await Promise.race([status, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  const logs = (): Record<string, unknown>[] =>
    stderrText.split("\n").flatMap((line) => {
      if (!line.startsWith("{")) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return []; // a line still being written
      }
    });
  const waitForLog = async (
    predicate: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 60_000,
  ): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logs().find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no log of ${what} in ${timeoutMs} ms:\n${stderrText}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const url = (): string | undefined => /listening on (http:\/\/\S+)/.exec(stdoutText)?.[1];
  const dispose = async () => {
    if (code === null) {
      try {
        process.kill("SIGKILL");
      } catch {
        // exited meanwhile
      }
      await status;
    }
    for (const pid of processesMentioning(home)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    await Deno.remove(home, { recursive: true }).catch(() => {/* a process may still be writing */});
  };

  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (!stdoutText.includes(BANNER_END)) {
    const exited = await waitExit(50);
    if (exited !== null || Date.now() > deadline) {
      await dispose();
      throw new Error(
        `the --dev coordinator ${exited === null ? "printed no banner in time" : `exited with ${exited}`}:\n` +
          `${stdoutText}\n${stderrText}`,
      );
    }
  }
  return {
    process,
    home,
    dataDir,
    url: url()!,
    stdout: () => stdoutText,
    stderr: () => stderrText,
    logs,
    waitForLog,
    example: () => stdoutText.split("\n").filter((line) => line.startsWith("  ")).map((line) => line.slice(2)),
    signalGroup: (signal) => {
      try {
        Deno.kill(-process.pid, signal);
      } catch {
        // the group is gone
      }
    },
    waitExit,
    [Symbol.asyncDispose]: dispose,
  };
}

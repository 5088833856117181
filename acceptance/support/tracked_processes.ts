/**
 * Child processes of an acceptance case, each tracked by pid so the case can
 * signal exactly the processes it started and stop all of them when it ends
 * or is aborted. Each process's stdout and stderr go to log files under the
 * case's directory (kept after the run); stdout is also kept in memory,
 * where daemons print the lines a case waits for ("listening on", "connected
 * to", "registered with").
 */

/** A process started by a `ProcessTracker`. */
export interface TrackedProcess {
  /** Unique name within the tracker (also the log files' name). */
  readonly name: string;
  readonly pid: number;
  /** `<logDir>/<name>.stderr.log`. */
  readonly stderrPath: string;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** The exit code once exited (128+n for a signal), else null. */
  exitCode(): number | null;
  /** Resolves with the exit code once the process has exited and its output is written. */
  readonly exited: Promise<number>;
  /** Sends a signal; false when the process had already exited. */
  signal(signal: Deno.Signal): boolean;
  /** Waits until stdout matches `pattern`; rejects when the process exits first, on timeout or abort. */
  waitForStdout(pattern: RegExp, timeoutMs: number, abort?: AbortSignal): Promise<RegExpExecArray>;
  /** SIGTERM (after SIGCONT), then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs: number): Promise<number>;
}

/** How to start one process. */
export interface SpawnOptions {
  /** Executable (default: this Deno). */
  command?: string;
  args: string[];
  /** Environment (the whole environment when `clearEnv`). */
  env?: Record<string, string>;
  clearEnv?: boolean;
  cwd?: string;
}

const decoder = new TextDecoder();

/** Writes all of `bytes` to `file`. */
async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** Starts and tracks the processes of one case. */
export class ProcessTracker {
  readonly #logDir: string;
  readonly #processes: TrackedProcess[] = [];

  /** `logDir` must exist. */
  constructor(logDir: string) {
    this.#logDir = logDir;
  }

  /** Every process started so far, in order. */
  get all(): readonly TrackedProcess[] {
    return this.#processes;
  }

  /** Processes that have not exited. */
  living(): TrackedProcess[] {
    return this.#processes.filter((p) => p.exitCode() === null);
  }

  /** Starts a process named `name` (a name used before gets a `.2`, `.3` … suffix). */
  spawn(name: string, options: SpawnOptions): TrackedProcess {
    let unique = name;
    for (let n = 2; this.#processes.some((p) => p.name === unique); n++) unique = `${name}.${n}`;
    const stdoutFile = Deno.openSync(`${this.#logDir}/${unique}.stdout.log`, {
      write: true,
      create: true,
      truncate: true,
    });
    const stderrPath = `${this.#logDir}/${unique}.stderr.log`;
    const stderrFile = Deno.openSync(stderrPath, { write: true, create: true, truncate: true });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(options.command ?? Deno.execPath(), {
        args: options.args,
        env: options.env,
        clearEnv: options.clearEnv ?? false,
        cwd: options.cwd,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      stdoutFile.close();
      stderrFile.close();
      throw error;
    }
    let stdoutText = "";
    // Each chunk is written as it comes (a pipeTo into the file's writable held lines back until the exit).
    const copy = async (from: ReadableStream<Uint8Array>, to: Deno.FsFile, also?: (chunk: Uint8Array) => void) => {
      try {
        for await (const chunk of from) {
          also?.(chunk);
          await writeAll(to, chunk);
        }
      } finally {
        to.close();
      }
    };
    const stdoutDone = copy(child.stdout, stdoutFile, (chunk) => stdoutText += decoder.decode(chunk, { stream: true }));
    const stderrDone = copy(child.stderr, stderrFile);
    let code: number | null = null;
    const exited = child.status.then(async (status) => {
      await Promise.allSettled([stdoutDone, stderrDone]);
      code = status.signal === null ? status.code : 128 + signalNumber(status.signal);
      return code;
    });
    const signal = (sig: Deno.Signal): boolean => {
      if (code !== null) return false;
      try {
        child.kill(sig);
        return true;
      } catch {
        return false; // exited between the check and the signal
      }
    };
    const waitExit = async (timeoutMs: number): Promise<number | null> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), timeoutMs));
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    };
    const tracked: TrackedProcess = {
      name: unique,
      pid: child.pid,
      stderrPath,
      stdout: () => stdoutText,
      exitCode: () => code,
      exited,
      signal,
      waitForStdout: async (pattern, timeoutMs, abort) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const match = pattern.exec(stdoutText);
          if (match !== null) return match;
          abort?.throwIfAborted();
          if (code !== null) {
            throw new Error(`${unique} exited with ${code} before printing ${pattern} (see ${stderrPath})`);
          }
          if (Date.now() > deadline) throw new Error(`${unique} did not print ${pattern} in ${timeoutMs} ms`);
          await waitExit(50);
        }
      },
      stop: async (graceMs) => {
        signal("SIGCONT");
        signal("SIGTERM");
        const result = await waitExit(graceMs);
        if (result !== null) return result;
        signal("SIGKILL");
        return await exited;
      },
    };
    this.#processes.push(tracked);
    return tracked;
  }

  /** SIGKILLs every living process (a stopped one too). */
  killAll(): void {
    for (const process of this.living()) process.signal("SIGKILL");
  }

  /** Waits until every process has exited, at most `timeoutMs`; resolves with the names still running. */
  async settle(timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.living().length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.living().map((p) => p.name);
  }
}

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGTERM: 15,
};

function signalNumber(signal: Deno.Signal): number {
  return SIGNAL_NUMBERS[signal] ?? 0;
}

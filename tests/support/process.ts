/**
 * Supervision of a spawned test subprocess: its stdout and stderr collected
 * as text, waiting for exit with a timeout, signals that are harmless once it
 * has exited, and a stop that escalates from SIGTERM to SIGKILL.
 */

/** A supervised child process. */
export interface Supervised {
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** The exit code once it has exited, else null. */
  exitCode(): number | null;
  /** Resolves with the exit code (after both pipes are drained). */
  readonly exited: Promise<number>;
  /** Waits at most `timeoutMs`; resolves with the exit code, or null when still running. */
  waitExit(timeoutMs: number): Promise<number | null>;
  /** Sends a signal (ignored once it has exited). */
  kill(signal: Deno.Signal): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number>;
}

/** Starts collecting a piped child's output and returns its controls. */
export function supervise(process: Deno.ChildProcess, defaultGraceMs: number): Supervised {
  const decoder = new TextDecoder();
  let stdoutText = "";
  let stderrText = "";
  const drained = Promise.all([
    (async () => {
      for await (const chunk of process.stdout) stdoutText += decoder.decode(chunk, { stream: true });
    })(),
    (async () => {
      const errors = new TextDecoder();
      for await (const chunk of process.stderr) stderrText += errors.decode(chunk, { stream: true });
    })(),
  ]);
  let code: number | null = null;
  const exited = process.status.then(async (status) => {
    await drained;
    code = status.code;
    return status.code;
  });
  const waitExit = async (timeoutMs: number): Promise<number | null> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), timeoutMs));
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  const kill = (signal: Deno.Signal) => {
    if (code !== null) return;
    try {
      process.kill(signal);
    } catch {
      // exited between the check and the signal
    }
  };
  return {
    stdout: () => stdoutText,
    stderr: () => stderrText,
    exitCode: () => code,
    exited,
    waitExit,
    kill,
    stop: async (graceMs = defaultGraceMs) => {
      kill("SIGTERM");
      const result = await waitExit(graceMs);
      if (result !== null) return result;
      kill("SIGKILL");
      return await exited;
    },
  };
}

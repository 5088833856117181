/**
 * The `exit_status` of a task result, in the encoding of the existing Mitosis
 * (Rust `ExitStatus::into_raw()`): the raw wait(2) status of the task's
 * process.
 *
 * - exited normally with code N → `N << 8` (exit 0 → 0, exit 1 → 256, exit 3 → 768);
 * - killed by signal S → `S` (SIGKILL → 9, SIGTERM → 15, SIGSEGV → 11).
 *
 * The core-dump flag (0x80) of a real wait status is never set: Deno does not
 * report it. Clients decode with the usual macros: `status >> 8` is the exit
 * code when `status & 0x7f` is 0, else `status & 0x7f` is the signal.
 */

/** Linux signal numbers of the names Deno reports in `CommandStatus.signal`. */
const LINUX_SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** The raw wait status of a normal exit with `code` (`code << 8`). */
export function exitCodeStatus(code: number): number {
  return (code & 0xff) << 8;
}

/** The raw wait status of a death by signal number `signo` (`signo` itself). */
export function signalStatus(signo: number): number {
  return signo & 0x7f;
}

/** The Linux number of a signal name such as `SIGTERM`; `undefined` when unknown. */
export function signalNumber(name: string): number | undefined {
  return LINUX_SIGNALS[name];
}

/**
 * Encodes a Deno process status as the raw wait status.
 *
 * @example waitStatusOf({ success: false, code: 3, signal: null }) // 768
 * @example waitStatusOf({ success: false, code: 137, signal: "SIGKILL" }) // 9
 */
export function waitStatusOf(status: Deno.CommandStatus): number {
  if (status.signal !== null) {
    // Deno reports a signal death as code 128 + S; prefer the name, fall back to the code.
    const signo = signalNumber(status.signal) ?? status.code - 128;
    return signalStatus(signo);
  }
  return exitCodeStatus(status.code);
}

/** Human description of a raw wait status, for logs: `exit 3` or `signal 9`. */
export function describeWaitStatus(raw: number): string {
  const signo = raw & 0x7f;
  return signo === 0 ? `exit ${(raw >> 8) & 0xff}` : `signal ${signo}`;
}

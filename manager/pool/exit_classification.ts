/**
 * How a managed worker process ended, in the terms of SPEC §5.5 failure
 * accounting:
 *
 * | how it ended | cause | counts as a crash | abort after |
 * | --- | --- | --- | --- |
 * | SIGSEGV, SIGILL, SIGBUS, SIGFPE | `fatal-signal` | yes | 2 failures |
 * | SIGKILL, SIGABRT, any other signal | `killed` | yes | 3 failures |
 * | exit code ≠ 0 | `exit-code` | yes | 3 failures |
 * | SIGTERM, SIGINT | `requested` | no | never |
 * | exit code 0 | `clean-exit` | no | never |
 * | any, after the manager asked it to stop | `requested` | no | never |
 *
 * An exit code of 128 + N for a known signal N is read as death by that
 * signal: a worker binary that is a shell wrapper (not `exec`ing the worker)
 * reports its child's signal death that way.
 */

/** Why a worker exited. */
export type ExitCause = "fatal-signal" | "killed" | "exit-code" | "requested" | "clean-exit";

/** A classified worker exit. */
export interface ExitClassification {
  cause: ExitCause;
  /** Signal name when it died of one (also when read from a 128 + N exit code). */
  signal: string | null;
  /** Exit code when it exited normally. */
  code: number | null;
  /** Failures of one task after which the manager aborts it; null = never (not a crash). */
  abortThreshold: number | null;
  /** One-line description, e.g. `killed by SIGSEGV`, `exited with code 3`. */
  description: string;
}

const FATAL_SIGNALS = new Set(["SIGSEGV", "SIGILL", "SIGBUS", "SIGFPE"]);
const STOP_SIGNALS = new Set(["SIGTERM", "SIGINT"]);

/** Signal names by Linux number, for 128 + N exit codes. */
const SIGNAL_NAMES: Readonly<Record<number, string>> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  10: "SIGUSR1",
  11: "SIGSEGV",
  12: "SIGUSR2",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
};

/** Abort threshold of a crash by fatal signal (SPEC §5.5). */
export const FATAL_SIGNAL_THRESHOLD = 2;
/** Abort threshold of SIGKILL, SIGABRT and non-zero exits (SPEC §5.5). */
export const KILLED_THRESHOLD = 3;

/** What Deno reports of an exited child (`Deno.CommandStatus`). */
export interface ProcessExit {
  code: number;
  signal: Deno.Signal | string | null;
}

function bySignal(signal: string, via: string): ExitClassification {
  const description = `killed by ${signal}${via}`;
  if (STOP_SIGNALS.has(signal)) {
    return { cause: "requested", signal, code: null, abortThreshold: null, description };
  }
  const fatal = FATAL_SIGNALS.has(signal);
  return {
    cause: fatal ? "fatal-signal" : "killed",
    signal,
    code: null,
    abortThreshold: fatal ? FATAL_SIGNAL_THRESHOLD : KILLED_THRESHOLD,
    description,
  };
}

/**
 * Classifies a worker's exit. `requested` is true when the manager asked the
 * worker to stop (shutdown, cancellation): whatever the status, it is not a
 * crash then.
 *
 * @example
 * classifyExit({ code: 139, signal: "SIGSEGV" }, false).abortThreshold // 2
 */
export function classifyExit(exit: ProcessExit, requested: boolean): ExitClassification {
  let classification: ExitClassification;
  if (exit.signal !== null) {
    classification = bySignal(exit.signal, "");
  } else if (exit.code > 128 && SIGNAL_NAMES[exit.code - 128] !== undefined) {
    classification = bySignal(SIGNAL_NAMES[exit.code - 128], ` (exit code ${exit.code})`);
  } else if (exit.code === 0) {
    classification = { cause: "clean-exit", signal: null, code: 0, abortThreshold: null, description: "exited (0)" };
  } else {
    classification = {
      cause: "exit-code",
      signal: null,
      code: exit.code,
      abortThreshold: KILLED_THRESHOLD,
      description: `exited with code ${exit.code}`,
    };
  }
  if (requested) {
    return { ...classification, cause: "requested", abortThreshold: null };
  }
  return classification;
}

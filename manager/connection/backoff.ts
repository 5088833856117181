/**
 * Exponential backoff with jitter for reconnecting: 1 s, 2 s, 4 s … capped
 * at 60 s, each delay drawn uniformly from [½·d, d] ("equal jitter") so a
 * fleet of managers does not reconnect in lockstep after a coordinator
 * restart. `reset` starts over after a healthy connection.
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** First delay (default 1 s). */
  initialMs?: number;
  /** Largest delay (default 60 s). */
  maxMs?: number;
  /** Random source in [0, 1) (tests pass a fixed one). */
  random?: () => number;
}

/** A reconnect delay sequence. */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 1_000;
    this.#maxMs = options.maxMs ?? 60_000;
    this.#random = options.random ?? Math.random;
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt; each call doubles the base up to the cap. */
  next(): number {
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(base / 2 + (base / 2) * this.#random());
  }

  /** Starts the sequence over (after a healthy connection). */
  reset(): void {
    this.#attempt = 0;
  }
}

/** Sleeps `ms`, or less when `signal` aborts (resolves either way). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Whether the coordinator can reach PostgreSQL, as the work that needs it
 * finds out, and the outage it is in when it cannot.
 *
 * - **Detection.** A caller whose database operation failed with a lost,
 *   refused or unanswered connection (`isDatabaseUnavailable`) reports it
 *   with `failed`. One failure does not make an outage (a backend can be
 *   terminated alone): a probe — `SELECT now()` on a connection of its own,
 *   bounded by `probeTimeoutMs` — confirms it. A failed probe starts the
 *   outage and logs `database connection lost` once, with the first error
 *   and where it happened (requests that need the database are answered
 *   503 until it is back); a probe that answers logs
 *   `database connection failed; the database answers` (at most once per
 *   `remindEveryMs`).
 * - **Bounded waits.** Work that waits on a database which stopped answering
 *   (packets dropped: queries neither fail nor return) is given to `within`:
 *   past `stallMs` a probe checks the database, and when it does not answer
 *   the wait ends with `DatabaseUnavailableError` (503 over HTTP, `Error`
 *   over the WebSocket), while a database that answers lets slow work go
 *   on. During an outage the wait ends after `outageWaitMs`. So no client
 *   waits much longer than `stallMs + probeTimeoutMs` (5 s) for its 503.
 * - **Recovery.** During an outage the probe is retried with a backoff
 *   (250 ms doubling to 2 s); the first that answers ends it and logs
 *   `database connection restored` with its duration and how many
 *   operations failed meanwhile (those are logged at debug level only,
 *   plus `database still unreachable` every `remindEveryMs`). The database
 *   time of that answer is `resumedAt`: the heartbeat reapers count silence
 *   from it, so managers and workers whose heartbeats failed during the
 *   outage are not taken for dead.
 */
import type { LogFields, Logger } from "../../shared/log/logger.ts";
import { DatabaseUnavailableError, isDatabaseUnavailable } from "./errors.ts";

/** Settings of the availability tracker. */
export interface AvailabilityOptions {
  /** Asks the database for its clock on a connection of its own; rejects (or hangs) when it is unreachable. */
  probe: () => Promise<Date>;
  log: Logger;
  /** Longest wait for a probe's answer (default 2 s). */
  probeTimeoutMs?: number;
  /** How long `within` lets work wait before probing the database (default 3 s). */
  stallMs?: number;
  /** How long `within` lets work wait during an outage (default 1 s). */
  outageWaitMs?: number;
  /** First and longest pause between probes during an outage (defaults 250 ms and 2 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** How often a lasting outage (or failures while the database answers) is logged again (default 60 s). */
  remindEveryMs?: number;
}

/** An outage as it ended. */
export interface Outage {
  /** Wall-clock time of the first failure. */
  startedAt: Date;
  /** From the first failure to the probe that answered. */
  durationMs: number;
  /** Database operations reported failed during it. */
  failures: number;
}

type Settings = Required<Omit<AvailabilityOptions, "probe" | "log">>;

const DEFAULTS: Settings = {
  probeTimeoutMs: 2_000,
  stallMs: 3_000,
  outageWaitMs: 1_000,
  retryInitialMs: 250,
  retryMaxMs: 2_000,
  remindEveryMs: 60_000,
};

const SETTLED = Symbol("settled");
const STALLED = Symbol("stalled");

/** Tracks the database's reachability; see the module comment. */
export class DatabaseAvailability {
  readonly #probe: () => Promise<Date>;
  readonly #log: Logger;
  readonly #o: Readonly<Settings>;
  /** The current outage (null while reachable). */
  #outage: { startedAt: Date; started: number; failures: number; remindedAt: number } | null = null;
  /** A probe confirming a suspected loss (while reachable). */
  #confirming: Promise<boolean> | null = null;
  #blipLoggedAt = -Infinity;
  #resumedAt: Date | null = null;
  #recovery: Promise<void> | null = null;
  readonly #stopped = new AbortController();
  readonly #ended: Outage[] = [];

  constructor(options: AvailabilityOptions) {
    this.#probe = options.probe;
    this.#log = options.log;
    const { probe: _probe, log: _log, ...settings } = options;
    this.#o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) };
  }

  /** False during an outage. */
  get reachable(): boolean {
    return this.#outage === null;
  }

  /** Database time at which the last outage ended; null when there was none. */
  get resumedAt(): Date | null {
    return this.#resumedAt;
  }

  /** The outages that ended, oldest first. */
  get outages(): readonly Outage[] {
    return this.#ended;
  }

  /**
   * Reports a failed database operation (`context`: where, e.g. method and
   * path). Returns true when `error` is an unavailability, which is then
   * logged here (once per outage, see the module comment) and must not be
   * logged again by the caller; false for any other error.
   */
  failed(error: unknown, context: LogFields): boolean {
    if (!isDatabaseUnavailable(error)) return false;
    const outage = this.#outage;
    if (outage !== null) {
      outage.failures++;
      this.#log.debug("database operation failed during the outage", { ...context, error: errorText(error) });
      return true;
    }
    void this.#confirm(error, context);
    return true;
  }

  /**
   * Awaits `work` (which waits on the database), giving up with
   * `DatabaseUnavailableError` when it has waited `stallMs` and a probe
   * finds the database unreachable, or `outageWaitMs` during an outage;
   * `work` itself goes on in the background (its late outcome is dropped).
   * While the database answers probes, slow work is awaited as long as it
   * takes.
   */
  async within<T>(work: Promise<T>, context: LogFields): Promise<T> {
    const settled = work.then(() => SETTLED, () => SETTLED);
    for (;;) {
      const waitMs = this.#outage === null ? this.#o.stallMs : this.#o.outageWaitMs;
      if (await timeout(settled, waitMs) === SETTLED) return await work;
      const reachable = await Promise.race([settled, this.#check(context, performance.now() - waitMs)]);
      if (reachable === SETTLED) return await work;
      if (!reachable) {
        work.catch((error) => this.#log.debug("work given up during the outage failed later", { ...context, error }));
        throw new DatabaseUnavailableError(`the database did not answer within ${waitMs} ms and is unreachable`);
      }
    }
  }

  /** Stops probing (the coordinator is stopping). */
  stop(): Promise<void> {
    this.#stopped.abort();
    return this.#recovery ?? Promise.resolve();
  }

  /** Whether the database answers now: false during an outage, else a probe (shared by concurrent callers). */
  #check(context: LogFields, waitingSince: number): Promise<boolean> {
    if (this.#outage !== null) return Promise.resolve(false);
    return this.#confirm(null, context, waitingSince);
  }

  /**
   * Probes after a suspected loss (`error`; null: work waiting since `since`,
   * a `performance.now()` time); a failed probe starts the outage, dated
   * `since`. Resolves whether the database answered.
   */
  #confirm(error: unknown, context: LogFields, since = performance.now()): Promise<boolean> {
    const started = since;
    const startedAt = new Date(Date.now() - (performance.now() - since));
    this.#confirming ??= (async () => {
      const answer = await this.#probeOnce();
      this.#confirming = null;
      if (!(answer instanceof Error)) {
        if (error !== null && performance.now() - this.#blipLoggedAt >= this.#o.remindEveryMs) {
          this.#blipLoggedAt = performance.now();
          this.#log.warn("database connection failed; the database answers", { ...context, error: errorText(error) });
        }
        return true;
      }
      if (this.#outage !== null) return false;
      this.#outage = { startedAt, started, failures: 1, remindedAt: performance.now() };
      this.#log.warn("database connection lost", {
        ...context,
        error: error === null ? `no answer within ${this.#o.stallMs} ms` : errorText(error),
        probe_error: answer.message,
      });
      this.#recovery = this.#recover().finally(() => (this.#recovery = null));
      return false;
    })();
    return this.#confirming;
  }

  /** Probes with a backoff until the database answers (or the tracker stops), then ends the outage. */
  async #recover(): Promise<void> {
    let pauseMs = this.#o.retryInitialMs;
    let probes = 0;
    while (!this.#stopped.signal.aborted) {
      await sleep(pauseMs, this.#stopped.signal);
      if (this.#stopped.signal.aborted) return;
      pauseMs = Math.min(pauseMs * 2, this.#o.retryMaxMs);
      probes++;
      const answer = await this.#probeOnce();
      const outage = this.#outage;
      if (outage === null) return;
      if (answer instanceof Error) {
        this.#log.debug("database probe failed", { error: answer.message, attempt: probes, retry_in_ms: pauseMs });
        if (performance.now() - outage.remindedAt >= this.#o.remindEveryMs) {
          outage.remindedAt = performance.now();
          this.#log.warn("database still unreachable", {
            outage_ms: Math.round(performance.now() - outage.started),
            failed_operations: outage.failures,
            error: answer.message,
          });
        }
        continue;
      }
      const ended: Outage = {
        startedAt: outage.startedAt,
        durationMs: Math.round(performance.now() - outage.started),
        failures: outage.failures,
      };
      this.#outage = null;
      this.#resumedAt = answer;
      this.#ended.push(ended);
      this.#log.info("database connection restored", {
        outage_ms: ended.durationMs,
        failed_operations: ended.failures,
        probes,
      });
      return;
    }
  }

  /** One probe bounded by `probeTimeoutMs`: the database's clock, or why it did not answer. */
  async #probeOnce(): Promise<Date | Error> {
    let probe: Promise<Date>;
    try {
      probe = this.#probe();
    } catch (error) {
      return asError(error);
    }
    probe.catch(() => {/* a late failure of a probe already given up */});
    const outcome = await timeout(probe, this.#o.probeTimeoutMs).catch(asError);
    if (outcome === STALLED) {
      return new DatabaseUnavailableError(`the database did not answer a probe within ${this.#o.probeTimeoutMs} ms`);
    }
    return outcome;
  }
}

/** `promise`'s value, or `STALLED` once `ms` have passed first. */
async function timeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof STALLED> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<typeof STALLED>((resolve) => timer = setTimeout(resolve, ms, STALLED)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** An error as one log field: its message and code (no stack: the outage, not the call site, is the news). */
function errorText(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
}

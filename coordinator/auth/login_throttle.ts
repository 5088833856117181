/**
 * Login throttling: failed logins are counted per user name and per client
 * address over a sliding window; once either reaches the limit, further
 * attempts with that name or from that address are refused (429 with
 * `Retry-After`) until the oldest counted failure leaves the window, even
 * with the right password. Successful logins are not counted (and clear the
 * user name's failures, never the address's). Counts live in this
 * coordinator's memory: each coordinator of a cluster throttles on its own.
 */

/** Throttle settings. */
export interface LoginThrottleOptions {
  /** Failures per key within `windowMs` that close it; 0 turns throttling off. */
  maxFailures: number;
  windowMs: number;
  /** Keys remembered per kind; the oldest are forgotten beyond it (memory bound). */
  maxKeys?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Default bound on remembered user names and addresses, each. */
const DEFAULT_MAX_KEYS = 50_000;

/** Failure times of one key, oldest first. */
class FailureLog {
  readonly #times = new Map<string, number[]>();
  readonly #maxKeys: number;

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys;
  }

  /** The failures of `key` still within the window (pruning older ones). */
  recent(key: string, since: number): number[] {
    const times = this.#times.get(key);
    if (times === undefined) return [];
    while (times.length > 0 && times[0] <= since) times.shift();
    if (times.length === 0) this.#times.delete(key);
    return times;
  }

  add(key: string, at: number, since: number, keep: number): void {
    const times = this.recent(key, since);
    times.push(at);
    if (times.length > keep) times.splice(0, times.length - keep);
    // Re-insert so the map's order is least recently failed first.
    this.#times.delete(key);
    this.#times.set(key, times);
    while (this.#times.size > this.#maxKeys) {
      const oldest = this.#times.keys().next().value;
      if (oldest === undefined) break;
      this.#times.delete(oldest);
    }
  }

  clear(key: string): void {
    this.#times.delete(key);
  }
}

/** Counts failed logins and says when a login must wait. */
export class LoginThrottle {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #users: FailureLog;
  readonly #addresses: FailureLog;

  constructor(options: LoginThrottleOptions) {
    this.#max = options.maxFailures;
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
    this.#users = new FailureLog(options.maxKeys ?? DEFAULT_MAX_KEYS);
    this.#addresses = new FailureLog(options.maxKeys ?? DEFAULT_MAX_KEYS);
  }

  /** Seconds to wait before `username` may try again from `address`; 0 when it may try now. */
  retryAfterSeconds(username: string, address: string | null): number {
    if (this.#max <= 0) return 0;
    const now = this.#now();
    const since = now - this.#windowMs;
    let waitMs = 0;
    const logs: [FailureLog, string | null][] = [[this.#users, username], [this.#addresses, address]];
    for (const [log, key] of logs) {
      if (key === null) continue;
      const times = log.recent(key, since);
      if (times.length >= this.#max) {
        // Open again once enough failures have left the window.
        waitMs = Math.max(waitMs, times[times.length - this.#max] + this.#windowMs - now);
      }
    }
    return waitMs > 0 ? Math.ceil(waitMs / 1000) : 0;
  }

  /** Counts a failed login of `username` from `address`. */
  recordFailure(username: string, address: string | null): void {
    if (this.#max <= 0) return;
    const now = this.#now();
    const since = now - this.#windowMs;
    this.#users.add(username, now, since, this.#max);
    if (address !== null) this.#addresses.add(address, now, since, this.#max);
  }

  /** A successful login: the user name's failures are forgotten. */
  recordSuccess(username: string): void {
    this.#users.clear(username);
  }
}

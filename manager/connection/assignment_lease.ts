/**
 * Whether this manager may still trust its suite assignment, hence the tasks
 * it prefetched for it. The coordinator takes a manager silent for longer
 * than its `manager_heartbeat_timeout` Offline and returns its suite and
 * every task it held to Ready (to be claimed again, perhaps elsewhere). A
 * manager that could not heartbeat that long (frozen by SIGSTOP, cut off)
 * cannot tell, so it trusts its assignment only while the last heartbeat
 * the coordinator answered naming the suite was sent less than
 * `LEASE_INTERVALS` heartbeat intervals ago (the coordinator's timeout is
 * expected to be at least that: defaults 30 s and 120 s).
 *
 * When the lease has lapsed, the pool drops its prefetch buffer (ReturnTasks)
 * and hands out no task until a fresh heartbeat reply names the suite again
 * (`waitFresh` asks for one).
 */

/** The lease lasts this many heartbeat intervals after the heartbeat's sending. */
export const LEASE_INTERVALS = 3;

/** Shortest time between two confirmation requests (heartbeats sent on demand). */
const REQUEST_SPACING_MS = 500;

/** What the lease needs. */
export interface AssignmentLeaseOptions {
  /** How long a confirmation holds (e.g. `LEASE_INTERVALS` × the heartbeat interval). */
  durationMs: () => number;
  /** Sends a heartbeat now (its reply calls `confirmed`). */
  requestConfirmation: () => void;
  /** Monotonic clock in ms (default `performance.now`). */
  now?: () => number;
}

/** The latest confirmation of this manager's suite assignment. */
export class AssignmentLease {
  readonly #o: AssignmentLeaseOptions;
  readonly #now: () => number;
  #last: { sentAt: number; suiteUuid: string | null } | null = null;
  #generation = 0;
  #requestedAt = -Infinity;
  readonly #waiters = new Set<() => void>();

  constructor(options: AssignmentLeaseOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Increases with every confirmation (a new period of trust). */
  get generation(): number {
    return this.#generation;
  }

  /** A heartbeat sent at `sentAt` (monotonic ms) was answered: the coordinator assigns `suiteUuid` (or none). */
  confirmed(sentAt: number, suiteUuid: string | null): void {
    if (this.#last !== null && sentAt < this.#last.sentAt) return;
    this.#last = { sentAt, suiteUuid };
    this.#generation++;
    for (const wake of [...this.#waiters]) wake();
  }

  /** True while the last confirmation names `suiteUuid` and its heartbeat left less than the lease's duration ago. */
  fresh(suiteUuid: string): boolean {
    const last = this.#last;
    return last !== null && last.suiteUuid === suiteUuid && this.#now() - last.sentAt < this.#o.durationMs();
  }

  /**
   * Resolves true once the assignment of `suiteUuid` is fresh (asking for a
   * confirmation when it is not), false when no confirmation made it fresh
   * within `waitMs`.
   */
  async waitFresh(suiteUuid: string, waitMs: number): Promise<boolean> {
    if (this.fresh(suiteUuid)) return true;
    const now = this.#now();
    if (now - this.#requestedAt >= REQUEST_SPACING_MS) {
      this.#requestedAt = now;
      this.#o.requestConfirmation();
    }
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, waitMs);
      this.#waiters.add(wake);
    });
    return this.fresh(suiteUuid);
  }
}

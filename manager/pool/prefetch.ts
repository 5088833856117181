/**
 * The prefetch buffer of a suite execution (SPEC §6): up to
 * `task_prefetch_count` claimed tasks held ready for the workers, refilled
 * with ONE batched `FetchTask` (`max_count` = the free room, at most 1,000)
 * whenever it falls below half. A single background loop does every fetch,
 * so fetches never overlap.
 *
 * Workers' fetches are served from the buffer — tasks to retry (their worker
 * crashed) first — and wait briefly when it is empty.
 *
 * When the coordinator answers no task, the suite's state decides:
 * `Complete` or `Cancelled` → drained; `Closed` → drained once this manager
 * has nothing of the suite left (nothing buffered, retrying or running);
 * `suite_state: null` (the suite is no longer this manager's: reclaimed or
 * released) → drained; `Open` → poll again, backing off from 100 ms to 1 s,
 * so tasks submitted later are picked up within a second. Fetch errors are
 * logged and retried with a backoff up to 5 s.
 */
import type { CoordinatorLink } from "../contracts.ts";
import type { ManagedTask } from "../../shared/wire/manager_ws.ts";
import type { Logger } from "../../shared/log/logger.ts";

/** Why the buffer stopped fetching for good. */
export type DrainReason = "Complete" | "Cancelled" | "Closed" | "reclaimed";

/** Largest `max_count` of one FetchTask (the coordinator's limit). */
export const MAX_FETCH_BATCH = 1000;

/** Options of a `PrefetchBuffer`. */
export interface PrefetchOptions {
  link: CoordinatorLink;
  suiteUuid: string;
  /** `task_prefetch_count`. */
  capacity: number;
  log: Logger;
  /** True while tasks of the suite are running on this manager's workers (a Closed suite is not drained then). */
  hasRunningTasks: () => boolean;
  /** Called once when the buffer drains. */
  onDrained?: (reason: DrainReason) => void;
  /** First and longest pause between fetches that found nothing (defaults 100 ms and 1 s). */
  emptyPollMinMs?: number;
  emptyPollMaxMs?: number;
  /** Longest pause between failed fetches (default 5 s; starts at 250 ms). */
  errorRetryMaxMs?: number;
}

interface Waiter {
  resolve: (task: ManagedTask | null) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Buffer of prefetched tasks plus the tasks to retry. */
export class PrefetchBuffer {
  readonly #o: PrefetchOptions;
  readonly #queue: ManagedTask[] = [];
  readonly #retries: ManagedTask[] = [];
  readonly #waiters: Waiter[] = [];
  /** Sizes (`max_count`) of every FetchTask sent, in order. */
  readonly fetchSizes: number[] = [];
  #drained: DrainReason | null = null;
  #closed = false;
  #wake: (() => void) | null = null;
  #pump: Promise<void> | null = null;

  constructor(options: PrefetchOptions) {
    this.#o = options;
  }

  /** Starts the refill loop. */
  start(): void {
    this.#pump ??= this.#run().catch((error) => {
      this.#o.log.error("prefetch loop failed; no more tasks will be fetched", { error });
      this.#drain("reclaimed");
    });
  }

  /** Why the buffer drained, or null while it may still get tasks. */
  get drained(): DrainReason | null {
    return this.#drained;
  }

  /** True when no task can come out of the buffer any more (drained or closed, and empty). */
  get exhausted(): boolean {
    return (this.#drained !== null || this.#closed) && this.#queue.length === 0 && this.#retries.length === 0;
  }

  /** Tasks held (buffered and to retry). */
  get size(): number {
    return this.#queue.length + this.#retries.length;
  }

  /**
   * The next task to run: a task to retry, else a buffered one. Waits up to
   * `waitMs` when there is none; null when none came (ask again), or when the
   * buffer is exhausted.
   */
  next(waitMs: number): Promise<ManagedTask | null> {
    const task = this.#take();
    if (task !== null || this.exhausted || waitMs <= 0) return Promise.resolve(task);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          resolve(null);
        }, waitMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Puts a started task back to be run again (its worker crashed), ahead of the buffer. */
  requeue(task: ManagedTask): void {
    this.#retries.push(task);
    this.#serveWaiters();
  }

  /** Takes the task `uuid` out of the buffer or the retry list (it was cancelled); undefined when not held here. */
  remove(uuid: string): ManagedTask | undefined {
    for (const list of [this.#retries, this.#queue]) {
      const at = list.findIndex((t) => t.uuid === uuid);
      if (at >= 0) {
        const [task] = list.splice(at, 1);
        this.#nudge();
        return task;
      }
    }
    return undefined;
  }

  /**
   * Takes every task out (buffered and to retry) without closing the buffer:
   * the assignment they were claimed under may have lapsed (see
   * `manager/connection/assignment_lease.ts`); the refill loop goes on.
   */
  drop(): ManagedTask[] {
    const dropped = [...this.#retries.splice(0), ...this.#queue.splice(0)];
    this.#nudge();
    return dropped;
  }

  /** Wakes the refill loop early (e.g. the last running task ended, so a Closed suite may now be drained). */
  nudge(): void {
    this.#nudge();
  }

  /**
   * Stops fetching for good and hands back every task not started (buffered
   * and to retry), once a fetch in flight has landed (its tasks included).
   * Waiting workers get null.
   */
  async close(): Promise<ManagedTask[]> {
    this.#closed = true;
    this.#nudge();
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve(null);
    }
    await this.#pump;
    return [...this.#retries.splice(0), ...this.#queue.splice(0)];
  }

  #take(): ManagedTask | null {
    const task = this.#retries.shift() ?? this.#queue.shift() ?? null;
    if (task !== null && this.#queue.length * 2 < this.#o.capacity) this.#nudge();
    return task;
  }

  #serveWaiters(): void {
    while (this.#waiters.length > 0) {
      const task = this.#retries.shift() ?? this.#queue.shift();
      if (task === undefined) break;
      const waiter = this.#waiters.shift()!;
      clearTimeout(waiter.timer);
      waiter.resolve(task);
    }
    if (this.exhausted) {
      for (const waiter of this.#waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.resolve(null);
      }
    }
  }

  #nudge(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Sleeps until nudged, or `ms` (forever when undefined). */
  #sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined) {
        timer = setTimeout(() => {
          this.#wake = null;
          resolve();
        }, ms);
      }
    });
  }

  #drain(reason: DrainReason): void {
    if (this.#drained !== null) return;
    this.#drained = reason;
    this.#o.log.info("prefetch buffer drained: no more tasks to fetch", {
      reason,
      buffered: this.#queue.length,
      retrying: this.#retries.length,
    });
    this.#serveWaiters();
    this.#o.onDrained?.(reason);
  }

  async #run(): Promise<void> {
    const { link, suiteUuid, capacity, log } = this.#o;
    const emptyMin = this.#o.emptyPollMinMs ?? 100;
    const emptyMax = this.#o.emptyPollMaxMs ?? 1_000;
    const errorMax = this.#o.errorRetryMaxMs ?? 5_000;
    let emptyPause = emptyMin;
    let errorPause = 250;
    while (!this.#closed && this.#drained === null) {
      if (this.#queue.length * 2 >= capacity) {
        await this.#sleep();
        continue;
      }
      const maxCount = Math.min(capacity - this.#queue.length, MAX_FETCH_BATCH);
      this.fetchSizes.push(maxCount);
      let answer;
      try {
        answer = await link.fetchTasks(suiteUuid, maxCount);
      } catch (error) {
        log.warn("task fetch failed; retrying", {
          suite: suiteUuid,
          max_count: maxCount,
          retry_in_ms: errorPause,
          error,
        });
        await this.#sleep(errorPause);
        errorPause = Math.min(errorPause * 2, errorMax);
        continue;
      }
      errorPause = 250;
      if (answer.tasks.length > 0) {
        log.debug("tasks prefetched", { suite: suiteUuid, max_count: maxCount, count: answer.tasks.length });
        this.#queue.push(...answer.tasks);
        emptyPause = emptyMin;
        this.#serveWaiters();
        continue;
      }
      const state = answer.suiteState;
      if (state === "Complete" || state === "Cancelled") {
        this.#drain(state);
      } else if (state === null) {
        this.#drain("reclaimed");
      } else if (state === "Closed" && this.size === 0 && !this.#o.hasRunningTasks()) {
        this.#drain("Closed");
      } else {
        await this.#sleep(emptyPause);
        emptyPause = Math.min(emptyPause * 2, emptyMax);
      }
    }
  }
}

/**
 * The manager's state machine: Idle → Preparing → Executing → Cleanup →
 * Idle. Every transition is logged (with the suite uuid) and announced to
 * the listener, which sends a heartbeat at once so the coordinator sees the
 * new state without waiting for the next interval.
 *
 * Besides the normal path, Preparing may go straight back to Idle
 * (preparation failed) or to Cleanup (the suite was cancelled, reclaimed or
 * the manager is stopping while it prepared).
 */
import type { NodeManagerState } from "../shared/wire/managers.ts";
import type { Logger } from "../shared/log/logger.ts";

/** The states a live manager can be in (Offline is the coordinator's view of a silent one). */
export type ManagerActivity = Exclude<NodeManagerState, "Offline">;

const ALLOWED: Record<ManagerActivity, readonly ManagerActivity[]> = {
  Idle: ["Preparing"],
  Preparing: ["Executing", "Cleanup", "Idle"],
  Executing: ["Cleanup"],
  Cleanup: ["Idle"],
};

/** A transition the state machine does not allow (a bug in the caller). */
export class InvalidTransitionError extends Error {
  constructor(from: ManagerActivity, to: ManagerActivity) {
    super(`invalid manager state transition ${from} → ${to}`);
    this.name = "InvalidTransitionError";
  }
}

/** What a heartbeat reports. */
export interface StateSnapshot {
  state: ManagerActivity;
  /** The suite to name in heartbeats: the current one, unless the coordinator reclaimed it. */
  suiteUuid: string | null;
}

/** The current state and suite of the manager. */
export class ManagerState {
  readonly #log: Logger;
  readonly #onChange: () => void;
  #state: ManagerActivity = "Idle";
  #suiteUuid: string | null = null;
  #reclaimed = false;

  /** `onChange` runs after every transition. */
  constructor(log: Logger, onChange: () => void) {
    this.#log = log;
    this.#onChange = onChange;
  }

  /** The current state. */
  get state(): ManagerActivity {
    return this.#state;
  }

  /** The suite being worked on (null when Idle). */
  get suiteUuid(): string | null {
    return this.#suiteUuid;
  }

  /** What heartbeats report now. */
  snapshot(): StateSnapshot {
    return { state: this.#state, suiteUuid: this.#reclaimed ? null : this.#suiteUuid };
  }

  /** Stops naming the current suite in heartbeats (the coordinator reclaimed it). */
  forgetSuite(): void {
    this.#reclaimed = true;
  }

  /** Moves to `to` (with `suiteUuid` when leaving Idle); throws `InvalidTransitionError` for a disallowed move. */
  transition(to: ManagerActivity, reason: string, suiteUuid?: string): void {
    const from = this.#state;
    if (!ALLOWED[from].includes(to)) throw new InvalidTransitionError(from, to);
    if (from === "Idle") {
      this.#suiteUuid = suiteUuid ?? null;
      this.#reclaimed = false;
    }
    const suite = this.#suiteUuid;
    this.#state = to;
    if (to === "Idle") {
      this.#suiteUuid = null;
      this.#reclaimed = false;
    }
    this.#log.info("manager state changed", { from, to, suite_uuid: suite, reason });
    this.#onChange();
  }
}

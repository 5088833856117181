/**
 * Heartbeats over the WebSocket: one every `heartbeat_interval` (changed by
 * a `ConfigUpdate` push), one right after each (re)connection and one on
 * every state transition, each carrying the state, the suite and the
 * metrics. A heartbeat not answered within twice the interval (at least
 * 10 s) drops the connection so that a fresh one is made.
 */
import type { Logger } from "../../shared/log/logger.ts";
import type { ManagerMetrics } from "../../shared/wire/managers.ts";
import type { StateSnapshot } from "../state.ts";
import type { CoordinatorConnection } from "./coordinator_connection.ts";
import { ConnectionClosedError, NotConnectedError } from "./coordinator_connection.ts";
import type { ManagerLink } from "./link.ts";
import { processRssMb } from "../metrics.ts";

/** Shortest period accepted (a zero interval would spin). */
const MIN_INTERVAL_MS = 100;

/** What the heartbeat loop needs. */
export interface HeartbeatOptions {
  connection: CoordinatorConnection;
  link: ManagerLink;
  /** The state and suite to report now. */
  snapshot: () => StateSnapshot;
  /** The metrics to report now. */
  metrics: () => ManagerMetrics;
  intervalMs: number;
  log: Logger;
  /** A heartbeat sent at `sentAt` (`performance.now()`) was answered naming `assignedSuiteUuid`. */
  onAck?: (sentAt: number, assignedSuiteUuid: string | null) => void;
}

/** The heartbeat sender. */
export class Heartbeats {
  readonly #o: HeartbeatOptions;
  #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
    this.#intervalMs = options.intervalMs;
  }

  /** The current interval. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Starts the periodic heartbeats. */
  start(): void {
    this.stop();
    this.#timer = setInterval(() => this.sendNow(), Math.max(MIN_INTERVAL_MS, this.#intervalMs));
  }

  /** Changes the interval (restarting the period). */
  setInterval(ms: number): void {
    if (ms === this.#intervalMs) return;
    this.#o.log.info("heartbeat interval changed", { from_ms: this.#intervalMs, to_ms: ms });
    this.#intervalMs = ms;
    if (this.#timer !== undefined) this.start();
  }

  /** Sends a heartbeat now when connected (otherwise the next connection sends one). */
  sendNow(): void {
    if (!this.#o.connection.connected) return;
    const { state, suiteUuid } = this.#o.snapshot();
    const metrics = this.#o.metrics();
    const timeoutMs = Math.max(10_000, 2 * this.#intervalMs);
    const sentAt = performance.now();
    this.#o.link.heartbeat(state, suiteUuid, metrics, timeoutMs).then(
      (ack) => {
        this.#o.onAck?.(sentAt, ack.assigned_suite_uuid);
        this.#o.log.debug("heartbeat acknowledged", {
          state,
          suite_uuid: suiteUuid,
          assigned_suite_uuid: ack.assigned_suite_uuid,
          rss_mb: processRssMb(),
          ...metrics,
        });
      },
      (error) => {
        if (error instanceof NotConnectedError || error instanceof ConnectionClosedError) {
          this.#o.log.debug("heartbeat not delivered", { error: error.message });
        } else {
          this.#o.log.warn("heartbeat failed", { error });
        }
      },
    );
  }

  /** Stops the periodic heartbeats. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

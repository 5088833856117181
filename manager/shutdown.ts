/**
 * How the manager stops. The first SIGTERM/SIGINT (or `Shutdown
 * {graceful: true}` from the coordinator) stops gracefully: no new suite,
 * running tasks finish (the pool's `worker_stop_grace`), cleanup runs,
 * `SuiteCompleted` is sent, exit 0. A second signal (exit 130) or `Shutdown
 * {graceful: false}` (exit 0) forces: workers and hooks are killed, the
 * pool returns its tasks, exit within `FORCE_LIMIT_MS` whatever happens.
 * Nothing is unregistered: the manager keeps its identity for the next start.
 *
 * Every stop is bounded even when the coordinator is unreachable: once
 * `worker_stop_grace` + `STOP_DELIVERY_MS` have passed since a graceful stop
 * began (at once for a forced one), `giveUpDelivery` is called and reports
 * and messages still waiting for a connection fail instead of waiting for
 * it; the coordinator's heartbeat timeout reclaims the tasks they were
 * about.
 */
import type { Logger } from "../shared/log/logger.ts";
import type { SuiteRunner } from "./suite_runner.ts";

/** Longest a forced stop waits for the pool and the coordinator before exiting anyway. */
export const FORCE_LIMIT_MS = 20_000;

/** What a graceful stop gives pending reports and messages, after `worker_stop_grace`, to reach the coordinator. */
export const STOP_DELIVERY_MS = 5_000;

/** Exit status after a second signal. */
export const FORCED_BY_SIGNAL_EXIT = 130;

/** Where a stop request came from. */
export type StopSource = "signal" | "coordinator";

/** How a stop bounds its waits for the coordinator. */
export interface StopDelivery {
  /** `worker_stop_grace`: what running tasks get before their workers are killed. */
  stopGraceMs: number;
  /** Makes requests stop waiting for a connection (`CoordinatorConnection.giveUpWhenDisconnected`). */
  giveUpDelivery: () => void;
  /** Delivery time after the stop grace (default `STOP_DELIVERY_MS`). */
  deliveryMs?: number;
}

/** The manager's stop sequence; `exitCode` resolves when the process may exit. */
export class ShutdownController {
  readonly #runner: SuiteRunner;
  readonly #log: Logger;
  readonly #delivery: StopDelivery | undefined;
  #deliveryTimer: ReturnType<typeof setTimeout> | undefined;
  #mode: "graceful" | "force" | null = null;
  /** Exit status of a forced stop (130 after a second signal). */
  #forceCode = 0;
  #resolve: (code: number) => void = () => {};
  /** Resolves with the exit status once the manager has stopped. */
  readonly exitCode: Promise<number>;

  constructor(runner: SuiteRunner, log: Logger, delivery?: StopDelivery) {
    this.#runner = runner;
    this.#log = log;
    this.#delivery = delivery;
    this.exitCode = new Promise<number>((resolve) => this.#resolve = resolve).finally(() => {
      clearTimeout(this.#deliveryTimer);
    });
  }

  /** Gives up waiting for the coordinator after `ms`. */
  #giveUpDeliveryAfter(ms: number): void {
    const delivery = this.#delivery;
    if (delivery === undefined) return;
    clearTimeout(this.#deliveryTimer);
    const giveUp = () => {
      this.#log.info("stop delivery time over: messages no longer wait for the coordinator", { after_ms: ms });
      delivery.giveUpDelivery();
    };
    if (ms <= 0) giveUp();
    else this.#deliveryTimer = setTimeout(giveUp, ms);
  }

  /** True once a stop was requested. */
  get stopping(): boolean {
    return this.#mode !== null;
  }

  /** A signal: the first stops gracefully, the second forces. */
  signal(name: Deno.Signal): void {
    if (this.#mode === null) this.request(true, "signal", name);
    else this.request(false, "signal", name);
  }

  /** Requests a stop; a forced request overrides a graceful one in progress. */
  request(graceful: boolean, source: StopSource, detail: string): void {
    if (graceful && this.#mode !== null) {
      this.#log.info("already stopping", { source, detail });
      return;
    }
    if (!graceful && this.#mode === "force") return;
    const suite = this.#runner.activeSuiteUuid;
    if (graceful) {
      this.#mode = "graceful";
      this.#log.info("stopping gracefully: running tasks finish, then cleanup", { source, detail, suite_uuid: suite });
      if (this.#delivery !== undefined) {
        this.#giveUpDeliveryAfter(this.#delivery.stopGraceMs + (this.#delivery.deliveryMs ?? STOP_DELIVERY_MS));
      }
      this.#runner.shutdown(true).then(
        // A forced stop may have ended the graceful one: its status wins.
        () => this.#resolve(this.#mode === "force" ? this.#forceCode : 0),
        (error) => {
          this.#log.error("graceful stop failed", { error });
          this.#resolve(1);
        },
      );
      return;
    }
    this.#mode = "force";
    const code = source === "signal" ? FORCED_BY_SIGNAL_EXIT : 0;
    this.#forceCode = code;
    this.#log.warn("stopping now: killing workers and hooks", { source, detail, suite_uuid: suite });
    this.#giveUpDeliveryAfter(0);
    const limit = setTimeout(() => {
      this.#log.error("forced stop did not finish in time; exiting anyway", { limit_ms: FORCE_LIMIT_MS });
      this.#resolve(code);
    }, FORCE_LIMIT_MS);
    this.#runner.shutdown(false).then(
      () => this.#resolve(code),
      (error) => {
        this.#log.error("forced stop failed", { error });
        this.#resolve(code === 0 ? 1 : code);
      },
    ).finally(() => clearTimeout(limit));
  }
}

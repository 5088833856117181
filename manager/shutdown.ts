/**
 * How the manager stops. The first SIGTERM/SIGINT (or `Shutdown
 * {graceful: true}` from the coordinator) stops gracefully: no new suite,
 * running tasks finish (the pool's `worker_stop_grace`), cleanup runs,
 * `SuiteCompleted` is sent, exit 0. A second signal (exit 130) or `Shutdown
 * {graceful: false}` (exit 0) forces: workers and hooks are killed, the
 * pool returns its tasks, exit within `FORCE_LIMIT_MS` whatever happens.
 * Nothing is unregistered: the manager keeps its identity for the next start.
 */
import type { Logger } from "../shared/log/logger.ts";
import type { SuiteRunner } from "./suite_runner.ts";

/** Longest a forced stop waits for the pool and the coordinator before exiting anyway. */
export const FORCE_LIMIT_MS = 20_000;

/** Exit status after a second signal. */
export const FORCED_BY_SIGNAL_EXIT = 130;

/** Where a stop request came from. */
export type StopSource = "signal" | "coordinator";

/** The manager's stop sequence; `exitCode` resolves when the process may exit. */
export class ShutdownController {
  readonly #runner: SuiteRunner;
  readonly #log: Logger;
  #mode: "graceful" | "force" | null = null;
  /** Exit status of a forced stop (130 after a second signal). */
  #forceCode = 0;
  #resolve: (code: number) => void = () => {};
  /** Resolves with the exit status once the manager has stopped. */
  readonly exitCode: Promise<number>;

  constructor(runner: SuiteRunner, log: Logger) {
    this.#runner = runner;
    this.#log = log;
    this.exitCode = new Promise((resolve) => this.#resolve = resolve);
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

/**
 * A reaper counts a peer's silence up to the moment its statement runs. A
 * statement sent just before the database stalled (packets dropped: nothing
 * fails, nothing answers) runs only when the database is back, and then
 * counts the stall as silence although the peers' heartbeats were held up by
 * the same stall. So a reaper's deciding statement that took longer than
 * `stallGuardMs` has its decision thrown away (rolled back, or not acted
 * upon); the next pass decides again, counting silence from the end of the
 * outage when one was detected.
 */

/** How long a reaper's deciding statement may take: a quarter of the timeout, at least 1 s. */
export function stallGuardMs(timeoutMs: number): number {
  return Math.max(1_000, Math.floor(timeoutMs / 4));
}

/** A reaper's decision came too late to be trusted. */
export class StalledDecisionError extends Error {
  /** How long the statement took. */
  readonly tookMs: number;
  constructor(tookMs: number, guardMs: number) {
    super(`the reaper's statement took ${Math.round(tookMs)} ms (more than ${guardMs} ms): decision discarded`);
    this.name = "StalledDecisionError";
    this.tookMs = tookMs;
  }
}

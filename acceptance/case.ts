/**
 * The contract of an acceptance case: one scenario of the acceptance guide
 * (ids 8.1.1 … 8.5.3, the checklist sections, `chaos`), run against real
 * processes by `deno task acceptance` (`acceptance/run.ts`).
 *
 * Each module in `acceptance/cases/` exports `cases: AcceptanceCase[]`; the
 * runner discovers them, so a new case is one new module.
 */

/** How large a run is: `quick` fits the whole suite in about 12 minutes on 2 cores. */
export type Scale = "quick" | "full";

/** What a case gets from the runner. */
export interface CaseContext {
  readonly scale: Scale;
  /** A directory of its own for files and logs (kept after the run under test-results/). */
  readonly dir: string;
  /** Progress lines (printed by the runner, prefixed with the case id). */
  log(message: string): void;
  /** Aborted when the runner gives up on the case (its time limit). */
  readonly signal: AbortSignal;
}

/** A case's result. A case that throws is reported as `fail` with the error as its reason. */
export interface CaseOutcome {
  status: "pass" | "fail" | "not run";
  /** Why it failed or did not run (required unless it passed). */
  reason?: string;
  /** The scale it ran at, next to the guide's, e.g. "1 manager × 16 workers × 2,000 tasks (guide: 10,000)". */
  scale: string;
  /** What it checked, one line per check, each with its observed value where there is one. */
  checks: string[];
  /** Measured figures (numbers, units in the key: `tasks_per_s`, `p95_ms`, `rss_mib`). */
  figures?: Record<string, number | string>;
}

/** One case of the guide. */
export interface AcceptanceCase {
  /** The guide's id: "8.4.2", or "concurrency", "security", "observability", "chaos". */
  readonly id: string;
  readonly title: string;
  /** Upper bound of its run time at each scale, in seconds (the runner aborts it past that). */
  readonly limitS: Record<Scale, number>;
  run(ctx: CaseContext): Promise<CaseOutcome>;
}

/** Every case id of the guide, in report order; ids without an implementation are reported `not run`. */
export const GUIDE_CASE_IDS = [
  "8.1.1",
  "8.1.2",
  "8.1.3",
  "8.2.1",
  "8.2.2",
  "8.2.3",
  "8.3.1",
  "8.3.2",
  "8.3.3",
  "8.3.4",
  "8.3.5",
  "8.4.1",
  "8.4.2",
  "8.4.3",
  "8.4.4",
  "8.5.1",
  "8.5.2",
  "8.5.3",
  "concurrency",
  "security",
  "observability",
  "chaos",
] as const;

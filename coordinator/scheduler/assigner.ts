/**
 * Hands suites to idle node managers (SPEC §5.2 "Order"): whenever something
 * may have made a suite runnable for someone (a suite created or reopened,
 * tasks submitted, managers added or refreshed, a manager turning Idle), call
 * `kick()`. Assignment runs soon after, debounced, on every coordinator.
 */

/** Triggers suite assignment. */
export interface SuiteAssigner {
  /** Requests an assignment pass (cheap; coalesced). */
  kick(): void;
}

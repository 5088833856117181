/**
 * The task suite state machine: its states, their database codes, and every
 * transition with what causes it. Code and SQL name states through
 * `SuiteState` (SQL triggers, which cannot import it, name each code in a
 * comment); the transition table is what the triggers and stores implement,
 * and `tests/suite_states.test.ts` drives a suite through each transition on
 * a real database and checks it against this table.
 *
 * ```
 *            new task                 no task pending
 *   ┌──────────────────────┐   ┌──────────────────────────┐
 *   ▼                      │   │                          ▼
 * Open ──idle/close──▶ Closed ─┴──────────────────▶ Complete
 *   │ ▲                    │        new task (reopens)   │
 *   │ └────────────────────┴─────────────────────────────┘
 *   └──────── cancel (from any state but Cancelled) ─────▶ Cancelled
 * ```
 */
import type { Db } from "../db/connect.ts";
import { type TaskSuiteState, TaskSuiteStateCode } from "../../shared/wire/suites.ts";

/** Database codes of the suite states (Open 0, Closed 1, Complete 2, Cancelled 3). */
export const SuiteState = TaskSuiteStateCode;

/** States in which a suite's Ready tasks are handed to managers. */
export const RUNNABLE_SUITE_STATES: readonly number[] = [SuiteState.Open, SuiteState.Closed];

/** SQL condition: the suite state in `column` (e.g. `s.state`) is runnable (Open or Closed). */
export function runnableSuiteState(db: Db, column: string) {
  return db`${db(column)} IN (${SuiteState.Open}, ${SuiteState.Closed})`;
}

/** What moves a suite from one state to another. */
export type SuiteEvent =
  | "task submitted"
  | "closed by user"
  | "idle past auto-close"
  | "last pending task done"
  | "cancelled";

/** One allowed transition. */
export interface SuiteTransition {
  from: TaskSuiteState;
  to: TaskSuiteState;
  on: SuiteEvent;
  /** Where it happens. */
  by: string;
}

/** Every transition of the suite state machine. */
export const SUITE_TRANSITIONS: readonly SuiteTransition[] = [
  { from: "Open", to: "Closed", on: "closed by user", by: "POST /suites/{uuid}/close (suites/store.ts closeSuite)" },
  {
    from: "Open",
    to: "Closed",
    on: "idle past auto-close",
    by: "maintenance/suite_auto_close.ts (suites/store.ts autoCloseIdleSuites)",
  },
  { from: "Open", to: "Complete", on: "last pending task done", by: "trigger task_suites_on_task_delete" },
  { from: "Closed", to: "Complete", on: "last pending task done", by: "trigger task_suites_on_task_delete" },
  { from: "Closed", to: "Open", on: "task submitted", by: "trigger task_suites_on_task_insert" },
  { from: "Complete", to: "Open", on: "task submitted", by: "trigger task_suites_on_task_insert" },
  { from: "Open", to: "Cancelled", on: "cancelled", by: "suites/store.ts cancelSuite" },
  { from: "Closed", to: "Cancelled", on: "cancelled", by: "suites/store.ts cancelSuite" },
  { from: "Complete", to: "Cancelled", on: "cancelled", by: "suites/store.ts cancelSuite" },
];

/** True when the table allows `from` → `to`. */
export function canTransition(from: TaskSuiteState, to: TaskSuiteState): boolean {
  return SUITE_TRANSITIONS.some((t) => t.from === from && t.to === to);
}

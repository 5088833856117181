/**
 * The progress display of `suites watch`: a live bar on stderr (npm
 * `cli-progress`) when stderr is a terminal and `--json` is off, otherwise
 * one line on stderr whenever the numbers or the state change.
 */
// @ts-types="./cli_progress.d.ts"
import cliProgress, { type GenericFormatter } from "cli-progress";
import type { SuiteInfo } from "../wire/suites.ts";
import { stderrMultiBar } from "./progress.ts";

/** Shows a suite's progress. */
export interface SuiteProgress {
  /** Shows the suite's latest state. */
  update(suite: SuiteInfo): void;
  /** Stops drawing (the last state stays on screen). */
  stop(): void;
}

/** Completed tasks of a suite: those no longer pending. */
export const completedTasks = (suite: SuiteInfo): number => suite.total_tasks - suite.pending_tasks;

const summary = (suite: SuiteInfo) =>
  `${completedTasks(suite)}/${suite.total_tasks} tasks done, ${suite.pending_tasks} pending | ${suite.state_name}`;

/** `suite 1234abcd [=====-----] 42% | 42/100 tasks done, 58 pending | Open`. */
const format: GenericFormatter = (options, params, payload) => {
  const bar = cliProgress.Format.BarFormat(params.progress, options);
  return `suite ${String(payload.label)} [${bar}] ${Math.floor(params.progress * 100)}% | ${String(payload.summary)}`;
};

/** A bar on a terminal, or change lines written with `writeLine`. */
export function suiteProgress(uuid: string, terminal: boolean, writeLine: (text: string) => void): SuiteProgress {
  const label = uuid.slice(0, 8);
  if (!terminal) {
    let last = "";
    return {
      update(suite) {
        const line = `suite ${label}: ${summary(suite)}`;
        if (line !== last) writeLine(`${line}\n`);
        last = line;
      },
      stop: () => {},
    };
  }
  const multi = stderrMultiBar(format);
  const bar = multi.create(0, 0, { label, summary: "" });
  return {
    update(suite) {
      bar.setTotal(suite.total_tasks);
      bar.update(completedTasks(suite), { label, summary: summary(suite) });
    },
    stop: () => multi.stop(),
  };
}

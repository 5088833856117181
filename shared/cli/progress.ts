/**
 * Progress bars for uploads and downloads (npm `cli-progress`), drawn on
 * stderr only when stderr is a terminal and `--json` is off; otherwise a
 * silent stand-in, so commands never branch on it.
 */
// @ts-types="./cli_progress.d.ts"
import cliProgress, { type GenericFormatter, type MultiBar } from "cli-progress";
import process from "node:process";
import type { TransferProgress } from "../client/transfer.ts";
import { formatBytes } from "./output.ts";

/** One bar: feed it progress, then finish it. */
export interface ProgressBar {
  /** Progress callback for `uploadFile` / `downloadFile`. */
  readonly onProgress: TransferProgress;
  /** Marks the transfer finished (the bar stays, full). */
  done(): void;
}

/** A set of bars drawn together (one per concurrent transfer). */
export interface ProgressBars {
  /** Starts a bar for a transfer of `total` bytes labelled `label`. */
  bar(label: string, total: number): ProgressBar;
  /** Stops drawing; call once all transfers ended, also on failure. */
  stop(): void;
}

/** Bars on stderr when `enabled`, else no-ops. */
export function progressBars(enabled: boolean): ProgressBars {
  return enabled ? terminalBars() : silentBars;
}

/** Whether bars should be drawn: stderr is a terminal and the output is not JSON. */
export function wantProgress(json: boolean): boolean {
  return !json && Deno.stderr.isTerminal();
}

const silentBars: ProgressBars = {
  bar: () => ({ onProgress: () => {}, done: () => {} }),
  stop: () => {},
};

/** `label [=====-----] 42% | 1.2 MB/3 MB | ETA 3s`. */
const format: GenericFormatter = (options, params, payload) => {
  const bar = cliProgress.Format.BarFormat(params.progress, options);
  const percent = Math.floor(params.progress * 100);
  const eta = params.value >= params.total ? "done" : `ETA ${params.eta}s`;
  return `${String(payload.label)} [${bar}] ${percent}% | ${formatBytes(params.value)}/${
    formatBytes(params.total)
  } | ${eta}`;
};

/** The CLI's bars on stderr (30 columns, classic shades), drawn with `format`. */
export function stderrMultiBar(format: GenericFormatter): MultiBar {
  return new cliProgress.MultiBar({
    stream: process.stderr,
    format,
    hideCursor: true,
    clearOnComplete: false,
    barsize: 30,
    emptyOnZero: true,
  }, cliProgress.Presets.shades_classic);
}

function terminalBars(): ProgressBars {
  const multi = stderrMultiBar(format);
  return {
    bar(label, total) {
      const bar = multi.create(total, 0, { label });
      return {
        onProgress: (done) => bar.update(done),
        done: () => bar.update(bar.getTotal()),
      };
    },
    stop: () => multi.stop(),
  };
}

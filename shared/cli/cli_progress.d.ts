/**
 * Types of the part of npm `cli-progress` 3.12 the CLI uses. Written here
 * instead of importing `@types/cli-progress`, because that package pulls in
 * `@types/node`, which replaces Deno's own `node:*` typings for the whole
 * type-checked program (and breaks e.g. `node:assert` calls elsewhere).
 */

/** Bar options (subset). */
export interface Options {
  format?: string | GenericFormatter;
  stream?: unknown;
  hideCursor?: boolean | null;
  clearOnComplete?: boolean;
  stopOnComplete?: boolean;
  barsize?: number;
  emptyOnZero?: boolean;
  barCompleteChar?: string;
  barIncompleteChar?: string;
  fps?: number;
}

/** Values a formatter sees. */
export interface Params {
  progress: number;
  eta: number;
  startTime: number;
  stopTime: number | null;
  total: number;
  value: number;
  maxWidth: number;
}

/** Renders one bar line. */
export type GenericFormatter = (options: Options, params: Params, payload: Record<string, unknown>) => string;

/** Bar characters and default format. */
export interface Preset {
  barCompleteChar: string;
  barIncompleteChar: string;
  format: string;
}

/** One bar of a `MultiBar`. */
export declare class SingleBar {
  update(current: number, payload?: Record<string, unknown>): void;
  getTotal(): number;
  setTotal(total: number): void;
}

/** Several bars redrawn together. */
export declare class MultiBar {
  constructor(options: Options, preset?: Preset);
  create(total: number, startValue: number, payload?: Record<string, unknown>): SingleBar;
  stop(): void;
}

/** Built-in presets (subset). */
export declare const Presets: { shades_classic: Preset; legacy: Preset };

/** Built-in formatters (subset). */
export declare const Format: { BarFormat(progress: number, options: Options): string };

declare const cliProgress: { MultiBar: typeof MultiBar; Presets: typeof Presets; Format: typeof Format };
export default cliProgress;

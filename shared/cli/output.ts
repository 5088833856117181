/**
 * How command results are printed: human-readable text (tables, key/value
 * lists) by default, or the JSON response with `--json` for scripts.
 */

/** Prints command results on stdout in the selected style. */
export class Output {
  /** True when `--json` was given. */
  readonly json: boolean;
  readonly #write: (text: string) => void;

  constructor(write: (text: string) => void, json: boolean) {
    this.#write = write;
    this.json = json;
  }

  /** Prints `value` as JSON with `--json`, otherwise the text `human()` renders. */
  result(value: unknown, human: () => string): void {
    this.#write(`${this.json ? JSON.stringify(value, null, 2) : human()}\n`);
  }

  /** For endpoints that answer an empty body: `{}` with `--json`, otherwise `message`. */
  done(message: string): void {
    this.result({}, () => message);
  }
}

/** Renders rows under upper-case headers in aligned columns. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, col) => Math.max(...all.map((row) => (row[col] ?? "").length)));
  return all
    .map((row) => widths.map((width, col) => (row[col] ?? "").padEnd(width)).join("  ").trimEnd())
    .join("\n");
}

/** Renders `label: value` pairs with the values aligned. */
export function renderFields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`).join("\n");
}

const SIZE_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"] as const;

/** A byte count in decimal units, as storage quotas are written (`16 GB`, `1.5 MB`). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const text = unit === 0 ? String(value) : value.toFixed(2).replace(/\.?0+$/, "");
  return `${text} ${SIZE_UNITS[unit]}`;
}

/**
 * The check lines of a performance case: each compares an observed value
 * with the guide's target and says pass or FAIL, or only reports a value
 * the guide sets no pass/fail target for. `outcome` turns them into the
 * case's result (failed when any check failed, the failures as its reason).
 *
 * @example
 * ```ts
 * const checks = new Checks();
 * checks.below("FetchTask IPC round trip p95", 0.9, 10, "ms");
 * checks.report("throughput", 71.4, "tasks/s", "task-dependent in the guide");
 * return checks.outcome("1 manager × 16 workers × 2,000 tasks (guide: 10,000)", figures);
 * ```
 */
import type { CaseOutcome } from "../case.ts";

/** Formats a measured number for a check line: 3 significant decimals below 10, fewer above. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 1_000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** `figures` with `keys` first, in that order (the runner's summary table shows a case's first few figures). */
export function leading(
  figures: Record<string, number | string>,
  keys: string[],
): Record<string, number | string> {
  const ordered: Record<string, number | string> = {};
  for (const key of keys) if (key in figures) ordered[key] = figures[key];
  return { ...ordered, ...figures };
}

/** The check lines of one case. */
export class Checks {
  readonly lines: string[] = [];
  readonly failures: string[] = [];

  /** Passes when `observed < limit` (a missing measurement, NaN, fails). */
  below(what: string, observed: number, limit: number, unit: string): boolean {
    return this.#compare(what, observed, "<", limit, unit, observed < limit);
  }

  /** Passes when `observed ≤ limit`. */
  atMost(what: string, observed: number, limit: number, unit: string): boolean {
    return this.#compare(what, observed, "≤", limit, unit, observed <= limit);
  }

  /** Passes when `observed` equals `expected`. */
  equals(what: string, observed: number, expected: number, unit = ""): boolean {
    return this.#compare(what, observed, "=", expected, unit, observed === expected);
  }

  /** A condition with its own wording (`detail` holds the observed values). */
  that(what: string, ok: boolean, detail: string): boolean {
    const line = `${what}: ${detail}: ${ok ? "pass" : "FAIL"}`;
    this.lines.push(line);
    if (!ok) this.failures.push(line);
    return ok;
  }

  /** A reported value without pass/fail (the guide sets no fixed target for it). */
  report(what: string, observed: number | string, unit: string, note?: string): void {
    const value = typeof observed === "number" ? formatValue(observed) : observed;
    this.lines.push(`${what}: ${value}${unit === "" ? "" : ` ${unit}`}${note === undefined ? "" : ` (${note})`}`);
  }

  #compare(what: string, observed: number, op: string, limit: number, unit: string, ok: boolean): boolean {
    const u = unit === "" ? "" : ` ${unit}`;
    return this.that(what, ok, `${formatValue(observed)}${u} (target ${op} ${formatValue(limit)}${u})`);
  }

  /** The case's result: `pass` when no check failed, else `fail` with the failed checks as reason. */
  outcome(scale: string, figures: Record<string, number | string>): CaseOutcome {
    if (this.failures.length === 0) return { status: "pass", scale, checks: this.lines, figures };
    return { status: "fail", reason: this.failures.join("; "), scale, checks: this.lines, figures };
  }
}

/**
 * Summaries the performance cases report: latency quantiles (nearest rank,
 * as `scripts/bench/stats.ts` computes them) and the Gini coefficient of a
 * distribution of work.
 *
 * @example
 * ```ts
 * const { p50, p95, p99 } = summarize([0.4, 0.5, 0.7, 3.1]);
 * const balance = gini([2_010, 1_980, 2_005, 2_005]); // ≈ 0.004
 * ```
 */
import { quantile } from "../../scripts/bench/stats.ts";

export { quantile };

/** Quantiles of a list of durations (ms), with its count and maximum. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** p50/p95/p99/max of `values` (NaN each when empty). */
export function summarize(values: number[]): LatencySummary {
  return {
    count: values.length,
    p50: quantile(values, 0.5),
    p95: quantile(values, 0.95),
    p99: quantile(values, 0.99),
    max: values.length === 0 ? NaN : Math.max(...values),
  };
}

/**
 * The Gini coefficient of `values` (0: all equal; 1 − 1/n: one holds
 * everything): the mean absolute difference over all ordered pairs divided
 * by twice the mean. 0 for an empty list or an all-zero one.
 */
export function gini(values: number[]): number {
  const n = values.length;
  const total = values.reduce((sum, v) => sum + v, 0);
  if (n === 0 || total === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  // Σ_i Σ_j |x_i − x_j| = 2 Σ_i (2i − n + 1) x_(i) over the sorted values (i from 0).
  let weighted = 0;
  for (const [i, v] of sorted.entries()) weighted += (2 * i - n + 1) * v;
  return weighted / (n * total);
}

/** `value` rounded to `digits` decimals (for figures). */
export function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Figures from Prometheus metrics (a coordinator's `GET /metrics`, read
 * with a site admin's token; a manager's on its `metrics_bind`; parsed by
 * `tests/support/prometheus.ts`):
 * latency quantiles from histogram buckets, estimated as PromQL's
 * `histogram_quantile` does (linear within the bucket holding the rank), and
 * means from `_sum / _count`.
 *
 * @example
 * ```ts
 * const metrics = await scrapeMetrics(url, adminToken);
 * const claim = histogramSummary(metrics, "mitosis_db_query_duration_seconds", { statement: "claim_suite_tasks" });
 * ```
 */
import { type Exposition, parseExposition, sum } from "../../tests/support/prometheus.ts";

export { type Exposition, sum };

/** Reads `<url>/metrics` (with `token`, when given); throws unless it answers 200. */
export async function scrapeMetrics(url: string, token?: string): Promise<Exposition> {
  const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  const res = await fetch(`${url}/metrics`, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${text.slice(0, 300)}`);
  return parseExposition(text);
}

/** A histogram's observations, in ms. */
export interface HistogramSummary {
  count: number;
  meanMs: number;
  /** Estimated from the buckets (upper bound of the bucket when the rank falls in the last finite one or beyond). */
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/** Cumulative buckets of histogram `name` (seconds) over the series whose labels include `labels`, summed. */
function buckets(
  exposition: Exposition,
  name: string,
  labels: Record<string, string>,
): { le: number; count: number }[] {
  const byLe = new Map<number, number>();
  for (const s of exposition.samples) {
    if (s.name !== `${name}_bucket`) continue;
    if (!Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** The q-quantile (0–1) of histogram `name` in seconds, as `histogram_quantile` estimates it; NaN when empty. */
export function histogramQuantile(
  exposition: Exposition,
  name: string,
  labels: Record<string, string>,
  q: number,
): number {
  const cumulative = buckets(exposition, name, labels);
  const total = cumulative.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const { le, count } of cumulative) {
    if (count >= rank) {
      // Past the last finite bucket: its bound is all that is known.
      if (le === Infinity) return lowerLe;
      return lowerLe + (le - lowerLe) * ((rank - lowerCount) / Math.max(1, count - lowerCount));
    }
    lowerLe = le;
    lowerCount = count;
  }
  return lowerLe;
}

/** Count, mean and quantiles (ms) of histogram `name` (seconds) over the series matching `labels`. */
export function histogramSummary(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): HistogramSummary {
  const count = sum(exposition, `${name}_count`, labels);
  const seconds = sum(exposition, `${name}_sum`, labels);
  const ms = (q: number) => 1000 * histogramQuantile(exposition, name, labels, q);
  return {
    count,
    meanMs: count === 0 ? NaN : 1000 * seconds / count,
    p50Ms: ms(0.5),
    p95Ms: ms(0.95),
    p99Ms: ms(0.99),
  };
}

/**
 * The measures the performance and resource acceptance cases judge by
 * (acceptance/support/): the Gini coefficient of tasks per manager, the
 * leak rule over sampled resource use (growth that levels off passes,
 * growth that goes on fails, too few samples give no verdict), and
 * quantiles estimated from Prometheus histogram buckets.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { gini } from "../acceptance/support/statistics.ts";
import { type ProcessSeries, steadyGrowth } from "../acceptance/support/sampler.ts";
import { histogramQuantile } from "../acceptance/support/metrics.ts";
import { parseExposition } from "./support/prometheus.ts";

const close = (actual: number, expected: number, what: string) =>
  assertTrue(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

/** A process sampled every 250 ms for `seconds`, its RSS and descriptors given by the time since the start. */
function series(seconds: number, rss: (s: number) => number, fds: (s: number) => number = () => 20): ProcessSeries {
  const samples = Array.from({ length: seconds * 4 + 1 }, (_, i) => {
    const s = i / 4;
    return { atMs: s * 1000, rssMiB: rss(s), fds: fds(s), cpuS: s / 10, runQueueS: 0, slices: 0 };
  });
  return { pid: 1, role: "manager", name: "manager-1", samples };
}

Deno.test("Gini coefficient: 0 for equal shares, 1 − 1/n when one holds everything, the mean absolute difference over twice the mean otherwise", () => {
  close(gini([600, 600, 600, 600]), 0, "equal");
  close(gini([0, 0, 0, 2_400]), 0.75, "one of four holds all");
  // |1−3| twice over 2 n² mean = 4 / (2 · 4 · 2) = 0.25.
  close(gini([1, 3]), 0.25, "two");
  close(gini([]), 0, "none");
  assertTrue(gini([619, 593, 594, 594]) < 0.02, "a balanced run");
});

Deno.test("leak rule: memory that grows during warm-up and then holds passes; memory that keeps growing fails", () => {
  const levelled = steadyGrowth(series(30, (s) => Math.min(80, 30 + 5 * s)), 0, 30_000);
  assertEquals(levelled?.rssLeak, false);
  // +1.5 MiB a second: the last third's peak is 15 MiB over the middle third's (over 8 MiB and 10 % of it).
  const growing = steadyGrowth(series(30, (s) => 80 + 1.5 * s), 0, 30_000);
  assertEquals(growing?.rssLeak, true);
  // The same growth within the slack (0.2 MiB/s → 2 MiB) passes: garbage-collected heaps wander.
  assertEquals(steadyGrowth(series(30, (s) => 80 + s / 5), 0, 30_000)?.rssLeak, false);
});

Deno.test("leak rule: descriptors that keep being opened fail, a steady count passes; a run too short gives no verdict", () => {
  assertEquals(steadyGrowth(series(30, () => 50, (s) => 20 + Math.floor(s)), 0, 30_000)?.fdLeak, true);
  assertEquals(steadyGrowth(series(30, () => 50, (s) => (s < 5 ? 20 + s : 25)), 0, 30_000)?.fdLeak, false);
  assertEquals(steadyGrowth(series(3, () => 50), 0, 3_000), null);
});

Deno.test("histogram quantiles from buckets: linear within the bucket holding the rank, as histogram_quantile", () => {
  const exposition = parseExposition([
    "# TYPE d histogram",
    'd_bucket{statement="a",le="0.001"} 50',
    'd_bucket{statement="a",le="0.01"} 90',
    'd_bucket{statement="a",le="0.1"} 100',
    'd_bucket{statement="a",le="+Inf"} 100',
    'd_sum{statement="a"} 0.5',
    'd_count{statement="a"} 100',
  ].join("\n"));
  close(histogramQuantile(exposition, "d", { statement: "a" }, 0.5), 0.001, "p50 at a bucket bound");
  close(histogramQuantile(exposition, "d", { statement: "a" }, 0.7), 0.001 + 0.009 * 0.5, "p70 halfway");
  close(histogramQuantile(exposition, "d", { statement: "a" }, 0.95), 0.01 + 0.09 * 0.5, "p95");
  assertTrue(Number.isNaN(histogramQuantile(exposition, "d", { statement: "b" }, 0.5)), "no observations");
});

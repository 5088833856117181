/**
 * Reading Prometheus text exposition (what `/metrics` answers): a strict
 * enough parser for the tests (`# TYPE` lines, samples with labels), sums
 * over label matches, the checks every histogram must pass, and the metric
 * names a Grafana dashboard's queries use.
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition. */
export interface Exposition {
  /** Metric family name → type (`counter`, `gauge`, `histogram`, …). */
  types: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text format; throws on a line that is neither a comment nor a sample. */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) types.set(type[1], type[2]);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(LABEL)) labels[key] = value.replace(/\\(.)/g, "$1");
    const value = match[3] === "+Inf" ? Infinity : match[3] === "-Inf" ? -Infinity : Number(match[3]);
    if (Number.isNaN(value) && match[3] !== "NaN") throw new Error(`bad value in: ${line}`);
    samples.push({ name: match[1], labels, value });
  }
  return { types, samples };
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function sum(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  return exposition.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

/** Whether any sample of `name` (with `labels`) exists. */
export function has(exposition: Exposition, name: string, labels: Record<string, string> = {}): boolean {
  return exposition.samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/**
 * Problems of histogram `name`: for each label set, buckets must not
 * decrease with `le`, and `le="+Inf"` must equal `_count`. Empty when sound.
 */
export function histogramProblems(exposition: Exposition, name: string): string[] {
  const problems: string[] = [];
  const series = new Map<string, { le: number; value: number }[]>();
  const key = (labels: Record<string, string>) =>
    JSON.stringify(Object.entries(labels).filter(([k]) => k !== "le").sort());
  for (const s of exposition.samples) {
    if (s.name !== `${name}_bucket`) continue;
    const k = key(s.labels);
    series.set(k, [...(series.get(k) ?? []), { le: Number(s.labels.le.replace("+Inf", "Infinity")), value: s.value }]);
  }
  for (const [k, buckets] of series) {
    buckets.sort((a, b) => a.le - b.le);
    for (let i = 1; i < buckets.length; i++) {
      if (buckets[i].value < buckets[i - 1].value) problems.push(`${name}${k}: bucket ${buckets[i].le} decreases`);
    }
    const count = exposition.samples.find((s) => s.name === `${name}_count` && key(s.labels) === k)?.value;
    const inf = buckets.at(-1);
    if (inf?.le !== Infinity || inf.value !== count) {
      problems.push(`${name}${k}: +Inf bucket ${inf?.value} ≠ count ${count}`);
    }
  }
  return problems;
}

/** Metric families an exposition defines (histograms also as `_bucket`, `_sum`, `_count`). */
export function metricNames(exposition: Exposition): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of exposition.types) {
    names.add(name);
    if (type === "histogram" || type === "summary") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
    }
  }
  return names;
}

const PROMQL_WORDS = new Set([
  "sum",
  "rate",
  "irate",
  "increase",
  "histogram_quantile",
  "by",
  "without",
  "max",
  "min",
  "avg",
  "count",
  "le",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "clamp_min",
  "time",
  "offset",
  "bool",
]);

/**
 * Metric names used by the `expr` of every target of a Grafana dashboard
 * (identifiers of PromQL that are neither functions, keywords, label names
 * inside `{}` or `by (…)`, nor `$variables`).
 */
export function dashboardMetricNames(dashboard: unknown): Set<string> {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if (key === "expr" && typeof value === "string") {
        const stripped = value
          .replace(/\{[^}]*\}/g, "") // label matchers
          .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, "") // grouping labels
          .replace(/\[[^\]]*\]/g, "") // range selectors
          .replace(/\$\w+/g, "") // dashboard variables
          .replace(/"[^"]*"/g, "") // strings
          .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ""); // numbers
        for (const [word] of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
          if (!PROMQL_WORDS.has(word)) names.add(word);
        }
      } else visit(value);
    }
  };
  visit(dashboard);
  return names;
}

/**
 * Finds the acceptance cases: every module in `acceptance/cases/*.ts`
 * (dynamically imported; each exports `cases: AcceptanceCase[]`), then
 * orders and selects them for a run: the guide's ids in `GUIDE_CASE_IDS`
 * order, then ids the guide does not list, each either with its
 * implementation or without one (reported `not run`).
 */
import { type AcceptanceCase, GUIDE_CASE_IDS } from "./case.ts";

/** The guide's title of each case id, for ids reported without an implementation. */
export const GUIDE_TITLES: Readonly<Record<string, string>> = {
  "8.1.1": "Basic suite execution",
  "8.1.2": "Suite with resource downloads",
  "8.1.3": "Suite auto-close timeout",
  "8.2.1": "Multiple managers competing for the same suite",
  "8.2.2": "Tag-based auto-matching",
  "8.2.3": "User-specified manager assignment",
  "8.3.1": "Worker crash during task execution",
  "8.3.2": "Manager disconnection during execution",
  "8.3.3": "Coordinator restart",
  "8.3.4": "Environment preparation failure",
  "8.3.5": "Database connection loss",
  "8.4.1": "Single manager high-task load",
  "8.4.2": "Multi-manager stress test",
  "8.4.3": "Latency benchmarking",
  "8.4.4": "Resource utilization profiling",
  "8.5.1": "Independent worker task execution",
  "8.5.2": "Mixed workload (independent + managed workers)",
  "8.5.3": "API backward compatibility",
  concurrency: "Concurrency and race conditions (checklist)",
  security: "Security and permissions (checklist)",
  observability: "Observability and monitoring (checklist)",
  chaos: "Chaos",
};

/** What discovery found. */
export interface Discovered {
  /** Implemented cases by id. */
  cases: Map<string, AcceptanceCase>;
  /** Modules that could not be loaded, or broke the contract, with the reason. */
  errors: { module: string; error: string }[];
}

/** A planned case: an implementation, or an id without one. */
export type Planned = { id: string; implementation: AcceptanceCase } | { id: string; implementation: null };

/** Whether `value` looks like an `AcceptanceCase`. */
function isCase(value: unknown): value is AcceptanceCase {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Partial<AcceptanceCase>;
  return typeof c.id === "string" && typeof c.title === "string" && typeof c.run === "function" &&
    typeof c.limitS?.quick === "number" && typeof c.limitS?.full === "number";
}

/** Imports every `*.ts` module of `dir` (a file URL ending in `/`), in name order; test files and `_*` are skipped. */
export async function discoverCases(dir: URL): Promise<Discovered> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const skipped = entry.name.startsWith("_") || /[._]test\.ts$/.test(entry.name);
    if (entry.isFile && entry.name.endsWith(".ts") && !skipped) names.push(entry.name);
  }
  names.sort();
  const cases = new Map<string, AcceptanceCase>();
  const owner = new Map<string, string>();
  const errors: Discovered["errors"] = [];
  for (const name of names) {
    const module = `acceptance/cases/${name}`;
    let exported: unknown;
    try {
      exported = (await import(new URL(name, dir).href) as { cases?: unknown }).cases;
    } catch (error) {
      errors.push({ module, error: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (!Array.isArray(exported) || !exported.every(isCase)) {
      errors.push({ module, error: "does not export `cases: AcceptanceCase[]`" });
      continue;
    }
    for (const c of exported) {
      const first = owner.get(c.id);
      if (first !== undefined) {
        errors.push({ module, error: `case ${c.id} is also implemented by ${first}; the first one is run` });
        continue;
      }
      owner.set(c.id, module);
      cases.set(c.id, c);
    }
  }
  return { cases, errors };
}

/**
 * The cases to run, in report order: every guide id (or only the `selected`
 * ones when given), then implemented ids the guide does not list, then
 * selected ids that are neither.
 */
export function planCases(cases: Map<string, AcceptanceCase>, selected: string[] | null): Planned[] {
  const guide: readonly string[] = GUIDE_CASE_IDS;
  const extra = [...cases.keys()].filter((id) => !guide.includes(id)).sort();
  const unknown = (selected ?? []).filter((id) => !guide.includes(id) && !cases.has(id));
  const order = [...guide, ...extra, ...unknown];
  const wanted = selected === null ? order : order.filter((id) => selected.includes(id));
  return wanted.map((id) => ({ id, implementation: cases.get(id) ?? null }));
}

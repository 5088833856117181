/**
 * `deno task acceptance`: runs the acceptance guide's cases against real
 * processes, one at a time, and writes `test-results/report.json` and
 * `test-results/report.md`.
 *
 *   deno task acceptance                 # every case at scale "full"
 *   deno task acceptance --quick         # scale "quick": the whole run fits in about 12 minutes on 2 cores
 *   deno task acceptance --case 8.1.1 --case 8.5.2,security
 *
 * Cases come from `acceptance/cases/*.ts`; guide ids no module implements
 * are reported `not run` ("no implementation"), and with `--case` only the
 * selected ids are reported. Exits 1 when a case failed, or when a case
 * selected with `--case` did not run; 2 on a usage error or when the
 * embedded PostgreSQL cannot run (dependencies not set up).
 */
import type { Scale } from "./case.ts";
import { discoverCases, GUIDE_TITLES, planCases } from "./discover.ts";
import { executeCase } from "./execute.ts";
import { machineFacts } from "./machine.ts";
import { preflight } from "./preflight.ts";
import { type CaseReport, renderMarkdown, type Report, statusCounts, summaryTable } from "./report.ts";

const USAGE = `usage: deno task acceptance [--quick | --full] [--case ID[,ID...]]...

  --quick       scale "quick" (the whole run fits in about 12 minutes on 2 cores)
  --full        scale "full" (the default)
  --case IDS    run only these case ids (repeatable, or a comma-separated list)
  --help        this text`;

/** The parsed command line. */
interface Options {
  scale: Scale;
  /** Selected ids, or null for all. */
  selected: string[] | null;
}

/** Parses the arguments; returns a usage error as a string. */
export function parseArgs(args: string[]): Options | string {
  let scale: Scale = "full";
  let selected: string[] | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") scale = "quick";
    else if (arg === "--full") scale = "full";
    else if (arg === "--case" || arg.startsWith("--case=")) {
      const value = arg === "--case" ? args[++i] : arg.slice("--case=".length);
      if (value === undefined || value.trim() === "") return "--case needs an id";
      selected ??= [];
      for (const id of value.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
        if (!selected.includes(id)) selected.push(id);
      }
    } else return `unknown argument: ${arg}`;
  }
  return { scale, selected };
}

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const RESULTS = `${ROOT}/test-results`;

/** Writes report.json and report.md. */
async function writeReport(report: Report, loadErrors: { module: string; error: string }[]): Promise<void> {
  const json = loadErrors.length === 0 ? report : { ...report, load_errors: loadErrors };
  await Deno.writeTextFile(`${RESULTS}/report.json`, JSON.stringify(json, null, 2) + "\n");
  let markdown = renderMarkdown(report);
  if (loadErrors.length > 0) {
    markdown += "\n## Modules that could not be loaded\n\n" +
      loadErrors.map((e) => `- ${e.module}: ${e.error}`).join("\n") + "\n";
  }
  await Deno.writeTextFile(`${RESULTS}/report.md`, markdown);
}

/** Runs the selected cases and writes the report; returns the exit status. */
async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const options = parseArgs(args);
  if (typeof options === "string") {
    console.error(`${options}\n\n${USAGE}`);
    return 2;
  }
  const { scale, selected } = options;
  const problem = await preflight(ROOT);
  if (problem !== null) {
    console.error(`acceptance: ${problem}`);
    return 2;
  }
  await Deno.mkdir(`${RESULTS}/cases`, { recursive: true });
  const machine = await machineFacts(ROOT, ["deno task acceptance", ...args].join(" "), scale);
  const { cases, errors } = await discoverCases(new URL("./cases/", import.meta.url));
  for (const e of errors) console.error(`acceptance: ${e.module}: ${e.error}`);
  const plan = planCases(cases, selected);

  const interrupt = new AbortController();
  const onInterrupt = () => {
    if (interrupt.signal.aborted) Deno.exit(130);
    console.log("acceptance: interrupted; stopping the running case (Ctrl-C again to quit at once)");
    interrupt.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);

  const started = performance.now();
  const report: Report = { machine, cases: [] };
  const print = (line: string) => console.log(line);
  console.log(
    `acceptance: ${plan.length} cases at scale ${scale} (${plan.filter((p) => p.implementation).length} implemented)`,
  );
  for (const planned of plan) {
    let entry: CaseReport;
    if (planned.implementation === null) {
      entry = {
        id: planned.id,
        title: GUIDE_TITLES[planned.id] ?? "",
        status: "not run",
        reason: "no implementation",
        scale: "",
        checks: [],
        figures: {},
        seconds: 0,
      };
    } else if (interrupt.signal.aborted) {
      const c = planned.implementation;
      entry = {
        id: c.id,
        title: c.title,
        status: "not run",
        reason: "interrupted",
        scale: "",
        checks: [],
        figures: {},
        seconds: 0,
      };
    } else {
      const c = planned.implementation;
      console.log(`acceptance: ${c.id} ${c.title} (limit ${c.limitS[scale]} s)`);
      entry = await executeCase(c, { scale, dir: `${RESULTS}/cases/${c.id}`, interrupt: interrupt.signal, print });
    }
    report.cases.push(entry);
    await writeReport(report, errors);
  }
  Deno.removeSignalListener("SIGINT", onInterrupt);

  const total = (performance.now() - started) / 1000;
  console.log(`\n${summaryTable(report.cases)}\n`);
  console.log(`acceptance: ${statusCounts(report.cases)} in ${total.toFixed(1)} s; report: ${RESULTS}/report.md`);
  const failed = report.cases.some((c) =>
    c.status === "fail" || (c.status === "not run" && selected !== null && selected.includes(c.id))
  );
  if (interrupt.signal.aborted) return 130;
  return failed || errors.length > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * The acceptance report: its JSON shape (`test-results/report.json`) and its
 * Markdown rendering (`test-results/report.md`): a header with the machine
 * and the command, a summary table (id | title | status | scale | key
 * figures | seconds), then one section per case with its checks, figures
 * and reason.
 */
import type { CaseOutcome } from "./case.ts";
import type { MachineFacts } from "./machine.ts";

/** One case as reported. */
export interface CaseReport {
  id: string;
  title: string;
  status: CaseOutcome["status"];
  reason?: string;
  scale: string;
  checks: string[];
  figures: Record<string, number | string>;
  /** Wall-clock seconds the case took (0 for one that did not run). */
  seconds: number;
}

/** The whole report. */
export interface Report {
  machine: MachineFacts;
  cases: CaseReport[];
}

/** How many figures the summary table shows per case. */
const KEY_FIGURES = 3;

/** A number as the report prints it: integers as they are, others with at most 3 decimals. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return value.toLocaleString("en-US", { maximumFractionDigits: 3 });
}

function formatFigure(value: number | string): string {
  return typeof value === "number" ? formatNumber(value) : value;
}

/** A table cell: pipes escaped, line breaks flattened. */
function cell(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("|", "\\|").replaceAll(/\r?\n/g, " ");
}

/** The first figures of a case, as `key=value`. */
function keyFigures(figures: Record<string, number | string>): string {
  return Object.entries(figures).slice(0, KEY_FIGURES).map(([key, value]) => `${key}=${formatFigure(value)}`).join(
    ", ",
  );
}

/** Counts of each status, e.g. "20 pass, 1 fail, 1 not run". */
export function statusCounts(cases: CaseReport[]): string {
  const count = (status: CaseReport["status"]) => cases.filter((c) => c.status === status).length;
  return `${count("pass")} pass, ${count("fail")} fail, ${count("not run")} not run`;
}

/** The summary table (Markdown), one row per case. */
export function summaryTable(cases: CaseReport[]): string {
  const rows = [
    "| id | title | status | scale | key figures | seconds |",
    "| --- | --- | --- | --- | --- | ---: |",
    ...cases.map((c) =>
      `| ${cell(c.id)} | ${cell(c.title)} | ${c.status} | ${cell(c.scale)} | ${cell(keyFigures(c.figures))} | ${
        c.seconds.toFixed(1)
      } |`
    ),
  ];
  return rows.join("\n");
}

/** The machine facts as a Markdown list. */
function machineSection(machine: MachineFacts): string {
  const commit = machine.git_commit === null
    ? "unknown"
    : `${machine.git_commit}${machine.git_dirty ? " (with uncommitted changes)" : ""}`;
  return [
    `- command: \`${machine.command}\` (scale ${machine.scale})`,
    `- date: ${machine.date}`,
    `- machine: ${machine.cores} cores, ${machine.memory_gib} GiB memory, ${machine.os}, kernel ${machine.kernel}`,
    `- Deno ${machine.deno}, V8 ${machine.v8}, TypeScript ${machine.typescript}`,
    `- PostgreSQL: ${machine.postgres ?? "unknown"} (embedded)`,
    `- git commit: ${commit}`,
  ].join("\n");
}

/** One case's section: status, scale, reason, checks and figures. */
function caseSection(c: CaseReport): string {
  const lines = [`## ${c.id}: ${c.title}`, "", `**${c.status}** in ${c.seconds.toFixed(1)} s — scale: ${c.scale}`];
  if (c.reason !== undefined) lines.push("", `Reason: ${c.reason}`);
  if (c.checks.length > 0) lines.push("", "Checks:", "", ...c.checks.map((check) => `- ${check}`));
  const figures = Object.entries(c.figures);
  if (figures.length > 0) {
    lines.push("", "| figure | value |", "| --- | ---: |");
    for (const [key, value] of figures) lines.push(`| ${cell(key)} | ${cell(formatFigure(value))} |`);
  }
  return lines.join("\n");
}

/** The whole report as Markdown. */
export function renderMarkdown(report: Report): string {
  const seconds = report.cases.reduce((sum, c) => sum + c.seconds, 0);
  return [
    "# Mitosis acceptance report",
    "",
    machineSection(report.machine),
    "",
    `${statusCounts(report.cases)}; ${seconds.toFixed(1)} s in all.`,
    "",
    summaryTable(report.cases),
    "",
    ...report.cases.map((c) => caseSection(c) + "\n"),
  ].join("\n");
}

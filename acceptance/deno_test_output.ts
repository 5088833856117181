/**
 * Reads what `deno test` prints with `NO_COLOR=1`: the file each test came
 * from (`running N tests from ./tests/x.test.ts`), each top-level test's
 * `name ... ok (12s)` / `FAILED` / `ignored` line (test output between the
 * `------- output -------` markers and indented steps are skipped), the
 * error printed for each failed test, and the final summary line.
 */

/** One top-level test as reported. */
export interface TestResult {
  /** The test file as given to `deno test`, without a leading `./`. */
  file: string;
  name: string;
  status: "ok" | "FAILED" | "ignored";
  /** Deno's own duration (whole seconds past 1 s), or null when it printed none. */
  seconds: number | null;
  /** The first lines of its error, for a failed test. */
  error?: string;
}

/** Deno's summary line. */
export interface TestSummary {
  ok: boolean;
  passed: number;
  failed: number;
}

/** What one `deno test` run reported. */
export interface TestRun {
  results: TestResult[];
  summary: TestSummary | null;
}

/** How many lines of a failed test's error the report keeps. */
const ERROR_LINES = 6;

const RUNNING = /^running \d+ tests? from (?:\.\/)?(.+)$/;
const RESULT = /^(\S.*) \.\.\. (ok|FAILED|ignored)((?: \([^)]*\))*)$/;
/** A test's line whose result comes later, e.g. after Deno's "'name' has been running for over (1m0s)" notice. */
const PENDING = /^(\S.*?) \.\.\.(?:'.*' has been running for over \([^)]*\))*$/;
const LATE_RESULT = /^\s*(ok|FAILED|ignored)((?: \([^)]*\))*)$/;
const SUMMARY = /^(ok|FAILED) \| (\d+) passed.*\| (\d+) failed/;
const OUTPUT_START = /^------- (?:post-test )?output -------$/;
const OUTPUT_END = /^----- (?:post-test )?output end -----$/;

/** Seconds from Deno's duration text: "598µs", "12ms", "3s", "1m 5s" (or "1m5s"); null when there is none. */
export function parseDuration(text: string): number | null {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(µs|ms|m|s)(?![a-zµ])/g)];
  if (parts.length === 0) return null;
  const scale: Record<string, number> = { "µs": 0.000001, ms: 0.001, s: 1, m: 60 };
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * scale[unit], 0);
}

/** Parses a whole `deno test` stdout. */
export function parseDenoTestOutput(text: string): TestRun {
  const results: TestResult[] = [];
  let summary: TestSummary | null = null;
  let file = "";
  let inOutput = false;
  let section: "tests" | "errors" | "failures" = "tests";
  let failing: TestResult | undefined;
  let errorLines: string[] = [];
  let pending: string | null = null;
  const closeError = () => {
    if (failing !== undefined && failing.error === undefined) {
      failing.error = errorLines.filter((l) => l.trim() !== "").slice(0, ERROR_LINES).join("\n");
    }
    failing = undefined;
    errorLines = [];
  };
  for (const line of text.split("\n").map((l) => l.replace(/\r$/, ""))) {
    if (inOutput) {
      if (OUTPUT_END.test(line)) inOutput = false;
      continue;
    }
    if (OUTPUT_START.test(line)) {
      inOutput = true;
      continue;
    }
    const summaryMatch = SUMMARY.exec(line);
    if (summaryMatch !== null) {
      closeError();
      summary = { ok: summaryMatch[1] === "ok", passed: Number(summaryMatch[2]), failed: Number(summaryMatch[3]) };
      continue;
    }
    if (line.trim() === "ERRORS") {
      section = "errors";
      continue;
    }
    if (line.trim() === "FAILURES") {
      closeError();
      section = "failures";
      continue;
    }
    if (section === "errors") {
      // The location is where Deno.test was called: a helper's file when a helper registers the test.
      const header = /^(.*) => (?:\.\/)?(.+?):\d+:\d+$/.exec(line);
      const candidates = header === null
        ? []
        : results.filter((r) => r.name === header[1] && r.status === "FAILED" && r.error === undefined);
      const owner = candidates.find((r) => r.file === header?.[2]) ?? candidates[0];
      if (owner !== undefined) {
        closeError();
        failing = owner;
      } else if (failing !== undefined) errorLines.push(line);
      continue;
    }
    if (section !== "tests") continue;
    const running = RUNNING.exec(line);
    if (running !== null) {
      file = running[1];
      continue;
    }
    const result = RESULT.exec(line);
    if (result !== null) {
      pending = null;
      results.push({
        file,
        name: result[1],
        status: result[2] as TestResult["status"],
        seconds: parseDuration(result[3]),
      });
      continue;
    }
    const late = pending === null ? null : LATE_RESULT.exec(line);
    if (pending !== null && late !== null) {
      results.push({ file, name: pending, status: late[1] as TestResult["status"], seconds: parseDuration(late[2]) });
      pending = null;
      continue;
    }
    const started = PENDING.exec(line);
    if (started !== null) pending = started[1];
  }
  closeError();
  return { results, summary };
}

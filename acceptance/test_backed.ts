/**
 * Acceptance cases proven by existing real-process tests: a case runs
 * `deno test --allow-all --no-check <its files> --filter /^(?:<its test names>)$/`
 * as a subprocess (with `NO_COLOR=1`) and passes only when every test it
 * names was found, at least one ran, all of them passed and Deno's summary
 * says so. Its checks list each test with its result and duration (and what
 * of the guide it proves), then what the guide asks that no test covers.
 *
 * Types are not checked here (`--no-check`): the unit-test run and
 * `deno task check` do that; this run is about behaviour.
 */
import type { AcceptanceCase, CaseContext, CaseOutcome, Scale } from "./case.ts";
import { parseDenoTestOutput, type TestResult } from "./deno_test_output.ts";
import { stopTree } from "./process_tree.ts";

/** A test a case runs. */
export interface TestRef {
  /** Path from the repository root, e.g. `tests/suite_end_to_end.test.ts`. */
  file: string;
  /** The test's exact name, or the start of it with `prefix` (for names built from a scale). */
  name: string;
  prefix?: boolean;
  /** What of the guide's case it proves, where its name does not say. */
  covers?: string;
  /** Run only at scale "full" (listed as skipped at "quick"). */
  fullOnly?: boolean;
}

/** A test-backed case. */
export interface TestBackedSpec {
  id: string;
  title: string;
  limitS: Record<Scale, number>;
  /** The scale at each run scale, next to the guide's. */
  scale: Record<Scale, string>;
  /** Environment for the tests at each scale (their scale knobs). */
  env?: Partial<Record<Scale, Record<string, string>>>;
  tests: TestRef[];
  /** What the guide's case asks that no test here proves. */
  notCovered: string[];
}

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** How long the tests get to stop after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** `text` with the characters that mean something in a regular expression escaped. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Deno's `--filter` value selecting exactly `refs`. */
export function filterFor(refs: TestRef[]): string {
  return `/^(?:${refs.map((r) => escapeRegExp(r.name) + (r.prefix ? ".*" : "")).join("|")})$/`;
}

/** Whether a reported result is the test `ref` names. */
function matches(ref: TestRef, result: TestResult): boolean {
  return result.file === ref.file && (ref.prefix ? result.name.startsWith(ref.name) : result.name === ref.name);
}

function duration(seconds: number | null): string {
  return seconds === null ? "no time" : seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds} s`;
}

/** One check line for a result. */
function checkLine(result: TestResult, covers: string | undefined): string {
  const line = `${result.status === "ok" ? "pass" : result.status} (${
    duration(result.seconds)
  }) ${result.file}: ${result.name}`;
  const withCovers = covers === undefined ? line : `${line} — ${covers}`;
  return result.error === undefined ? withCovers : `${withCovers}\n    ${result.error.replaceAll("\n", "\n    ")}`;
}

/** Streams `stream` line by line into `onLine`, and the bytes into `path`. */
async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  path: string,
  onLine: (line: string) => void,
): Promise<string> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const decoder = new TextDecoder();
  let text = "";
  let pending = "";
  try {
    for await (const chunk of stream) {
      await file.write(chunk);
      const piece = decoder.decode(chunk, { stream: true });
      text += piece;
      pending += piece;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    }
  } finally {
    file.close();
  }
  if (pending !== "") onLine(pending);
  return text;
}

/** Runs the tests of `spec` at `ctx.scale` and judges them. */
async function runTests(spec: TestBackedSpec, ctx: CaseContext): Promise<CaseOutcome> {
  const refs = spec.tests.filter((t) => ctx.scale === "full" || !t.fullOnly);
  const skipped = spec.tests.filter((t) => !refs.includes(t));
  const files = [...new Set(refs.map((r) => r.file))];
  const args = ["test", "--allow-all", "--no-check", ...files, "--filter", filterFor(refs)];
  const env = spec.env?.[ctx.scale] ?? {};
  ctx.log(`${Object.entries(env).map(([k, v]) => `${k}=${v} `).join("")}deno ${args.join(" ")}`);
  // A session of its own (setsid, where present): a Ctrl-C at the terminal reaches the runner, which stops the tests
  // and everything they started, instead of killing `deno test` alone and orphaning its PostgreSQL.
  const setsid = ["/usr/bin/setsid", "/bin/setsid"].find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
  const child = new Deno.Command(setsid ?? Deno.execPath(), {
    args: setsid === undefined ? args : ["--wait", Deno.execPath(), ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const status = child.status;
  const onAbort = () => void stopTree(child.pid, status, STOP_GRACE_MS);
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const [stdout, stderr] = await Promise.all([
    pumpLines(child.stdout, `${ctx.dir}/deno-test.stdout.log`, (line) => {
      if (/ \.\.\. (ok|FAILED|ignored)/.test(line) && !line.startsWith(" ")) ctx.log(line);
    }),
    pumpLines(child.stderr, `${ctx.dir}/deno-test.stderr.log`, () => {}),
  ]);
  const { code } = await status;
  ctx.signal.removeEventListener("abort", onAbort);
  ctx.signal.throwIfAborted();

  const { results, summary } = parseDenoTestOutput(stdout);
  const checks: string[] = [];
  const missing: TestRef[] = [];
  for (const ref of refs) {
    const found = results.filter((r) => matches(ref, r));
    if (found.length === 0) missing.push(ref);
    for (const result of found) checks.push(checkLine(result, ref.covers));
  }
  for (const result of results.filter((r) => !refs.some((ref) => matches(ref, r)))) {
    checks.push(`${checkLine(result, undefined)} (also matched the filter)`);
  }
  for (const ref of missing) checks.push(`not found: ${ref.file}: ${ref.name}${ref.prefix ? "…" : ""}`);
  for (const ref of skipped) checks.push(`skipped at scale ${ctx.scale}: ${ref.file}: ${ref.name}`);
  const seed = /fuzz seed (\d+)/.exec(stdout)?.[1];
  if (seed !== undefined) checks.push(`fuzz seed ${seed} (MITOSIS_FUZZ_SEED=${seed} replays it)`);
  checks.push(...spec.notCovered.map((n) => `not covered: ${n}`));

  const failed = results.filter((r) => r.status !== "ok");
  const passed = results.length - failed.length;
  const figures = { tests: results.length, passed, failed: failed.length };
  let reason: string | undefined;
  if (failed.length > 0) {
    reason = `${failed.length} of ${results.length} tests did not pass: ${failed.map((r) => r.name).join("; ")}`;
  } else if (missing.length > 0) reason = `tests not found: ${missing.map((r) => r.name).join("; ")}`;
  else if (results.length === 0) reason = "no test matched";
  else if (summary === null || code !== 0) {
    const tail = stderr.trim().split("\n").slice(-3).join(" / ");
    reason = `deno test exited ${code}${summary === null ? " without a summary" : ""}${tail ? `: ${tail}` : ""}`;
  }
  return {
    status: reason === undefined ? "pass" : "fail",
    ...(reason === undefined ? {} : { reason }),
    scale: spec.scale[ctx.scale],
    checks,
    figures,
  };
}

/** An acceptance case that runs the tests `spec` names. */
export function testBackedCase(spec: TestBackedSpec): AcceptanceCase {
  return { id: spec.id, title: spec.title, limitS: spec.limitS, run: (ctx) => runTests(spec, ctx) };
}

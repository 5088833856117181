/**
 * `deno task bench:startup`: what a user pays to start each executable.
 * Builds the four single-file executables (`scripts/build/build.ts`, timed),
 * then measures `--help` of each, median of `--runs` (default 10):
 *
 * - the built file with its runtime already extracted (the usual start);
 * - its first start with an empty runtime directory (extraction included; one run);
 * - `deno run --allow-all <entry> --help` from this source checkout, with
 *   Deno's caches warm (the baseline: what the repository gives today).
 *
 * Prints a table (file size, build time, each figure in ms) and, as its last
 * line, one JSON object with the figures.
 */
import { parseArgs } from "node:util";
import { build } from "../build/build.ts";
import { EXECUTABLES, ROLE_ENTRY } from "../build/roles.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

async function timeRun(argv: string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - started;
  if (!out.success) throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const { values } = parseArgs({ args: Deno.args, options: { runs: { type: "string" } }, strict: true });
const runs = Number(values.runs ?? 10);
const dir = await Deno.makeTempDir({ prefix: "mitosis-bench-startup-" });
try {
  const started = performance.now();
  const sizes = await build(`${dir}/dist`);
  const buildSeconds = (performance.now() - started) / 1000;
  const env = { HOME: `${dir}/home`, PATH: "/usr/bin:/bin", MITOSIS_RUNTIME_DIR: `${dir}/runtime` };
  const sourceEnv = { HOME: Deno.env.get("HOME") ?? "/root", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  await Deno.mkdir(env.HOME);
  const rows: Record<string, { bytes: number; first_ms: number; cached_ms: number; source_ms: number }> = {};
  for (const spec of EXECUTABLES) {
    const file = `${dir}/dist/${spec.program}`;
    const first = await timeRun([file, "--help"], env);
    const cached: number[] = [];
    const source: number[] = [];
    await timeRun([Deno.execPath(), "run", "--allow-all", `${REPO}/${ROLE_ENTRY[spec.role]}`, "--help"], sourceEnv);
    for (let i = 0; i < runs; i++) {
      // Interleaved, so a change in the machine's load touches both alike.
      cached.push(await timeRun([file, "--help"], env));
      source.push(
        await timeRun([Deno.execPath(), "run", "--allow-all", `${REPO}/${ROLE_ENTRY[spec.role]}`, "--help"], sourceEnv),
      );
    }
    rows[spec.program] = {
      bytes: sizes[spec.program],
      first_ms: Math.round(first),
      cached_ms: Math.round(median(cached)),
      source_ms: Math.round(median(source)),
    };
  }
  console.log(
    `${"file".padEnd(22)}${"size MB".padStart(9)}${"first start".padStart(13)}${"cached".padStart(9)}` +
      `${"deno run (source)".padStart(19)}`,
  );
  for (const [program, r] of Object.entries(rows)) {
    console.log(
      `${program.padEnd(22)}${(r.bytes / 1e6).toFixed(1).padStart(9)}${`${r.first_ms} ms`.padStart(13)}` +
        `${`${r.cached_ms} ms`.padStart(9)}${`${r.source_ms} ms`.padStart(19)}`,
    );
  }
  console.log(`build: ${buildSeconds.toFixed(1)} s; --help, median of ${runs}; load ${Deno.loadavg()[0].toFixed(2)}`);
  console.log(JSON.stringify({ build_s: Number(buildSeconds.toFixed(1)), runs, executables: rows }));
} finally {
  await Deno.remove(dir, { recursive: true });
}

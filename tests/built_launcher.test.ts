/**
 * The self-extracting executables' first start: the payload's digest is
 * checked, the runtime is extracted once even when several first starts
 * race, an interrupted extraction is never used, and an unusable cache
 * directory (read-only, full) or a damaged file gets a clear error.
 */
import { assertEquals, assertIncludes, assertMatch, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { copyExecutables } from "./support/built.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` with nothing but an empty HOME, PATH=/usr/bin:/bin and `env`. */
async function run(argv: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: { PATH: "/usr/bin:/bin", ...env },
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** A directory with a copy of `mitosis`, an empty HOME and an empty runtime directory. */
async function fixture(): Promise<{ dir: string; cli: string; home: string; runtime: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-launcher-" });
  await copyExecutables(`${dir}/bin`, ["mitosis"]);
  await Deno.mkdir(`${dir}/home`);
  return {
    dir,
    cli: `${dir}/bin/mitosis`,
    home: `${dir}/home`,
    runtime: `${dir}/runtime`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

const VERSION_LINE =
  /^mitosis \d+\.\d+\.\d+ \(commit [0-9a-f]{12}(\+dirty)?, built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n$/;
const DIGEST = /^[0-9a-f]{64}$/;

test("four concurrent first starts on an empty runtime directory all succeed and extract the runtime once", async () => {
  await using f = await fixture();
  const env = { HOME: f.home, MITOSIS_RUNTIME_DIR: f.runtime };
  const runs = await Promise.all([1, 2, 3, 4].map(() => run([f.cli, "--version"], env, f.dir)));
  for (const r of runs) {
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, VERSION_LINE);
  }
  const extracting = runs.filter((r) => r.stderr.includes("extracting its runtime into")).length;
  assertEquals(extracting, 1, runs.map((r) => r.stderr).join("\n"));
  const runtime = entries(f.runtime);
  const digests = runtime.filter((name) => DIGEST.test(name));
  assertEquals(digests.length, 1, runtime.join(" "));
  assertEquals(runtime.filter((name) => name.includes(".tmp.")), [], "no temporary extraction left");
  assertEquals(entries(`${f.runtime}/${digests[0]}`), [".complete", "app", "bin"]);
  // A later start finds it and says nothing.
  const again = await run([f.cli, "--version"], env, f.dir);
  assertEquals(again.code, 0);
  assertEquals(again.stderr, "");
  // Without MITOSIS_RUNTIME_DIR it is $XDG_CACHE_HOME/mitosis/runtime, else $HOME/.cache/mitosis/runtime.
  const byHome = await run([f.cli, "--version"], { HOME: f.home }, f.dir);
  assertEquals(byHome.code, 0, byHome.stderr);
  assertEquals(entries(`${f.home}/.cache/mitosis/runtime`).filter((n) => DIGEST.test(n)), digests);
});

test("an extraction killed halfway is never used: the next start extracts again and removes its leftovers", async () => {
  await using f = await fixture();
  const env = { HOME: f.home, MITOSIS_RUNTIME_DIR: f.runtime };
  // A first start in a process group of its own, killed (with its tail | gzip | tar) once extraction began.
  const child = new Deno.Command("setsid", {
    args: [f.cli, "--version"],
    env: { PATH: "/usr/bin:/bin", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("extracting its runtime into")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the first start ended before extracting: ${seen}`);
    seen += value;
  }
  Deno.kill(-child.pid, "SIGKILL");
  await reader.cancel();
  const status = await child.status;
  assertEquals(status.signal, "SIGKILL");
  const runtime = entries(f.runtime);
  assertEquals(runtime.filter((name) => DIGEST.test(name)), [], "the interrupted start published nothing");
  assertTrue(runtime.some((name) => name.includes(".tmp.")), `a partial extraction is left: ${runtime.join(" ")}`);

  const next = await run([f.cli, "--version"], env, f.dir);
  assertEquals(next.code, 0, next.stderr);
  assertMatch(next.stdout, VERSION_LINE);
  assertIncludes(next.stderr, "extracting its runtime into");
  const after = entries(f.runtime);
  assertEquals(after.filter((name) => name.includes(".tmp.")), [], after.join(" "));
  assertEquals(after.filter((name) => DIGEST.test(name)).length, 1);
});

/** Runs the CLI's first start with its runtime directory on a tmpfs mounted with `options`, in a mount namespace of its own. */
async function startOnTmpfs(f: { dir: string; cli: string; home: string; runtime: string }, options: string) {
  await Deno.mkdir(f.runtime);
  const script = `mount -t tmpfs -o ${options} mitosis-test "$1" && exec env -i PATH=/usr/bin:/bin HOME="$2" ` +
    `MITOSIS_RUNTIME_DIR="$1" "$3" --version`;
  return await run(["/usr/bin/unshare", "-m", "sh", "-c", script, "sh", f.runtime, f.home, f.cli], {}, f.dir);
}

test("a read-only runtime directory fails with an error naming it and MITOSIS_RUNTIME_DIR", async () => {
  await using f = await fixture();
  const r = await startOnTmpfs(f, "ro,size=1m");
  assertEquals(r.code, 73, r.stderr);
  assertEquals(r.stdout, "");
  assertIncludes(r.stderr, `mitosis: cannot prepare its runtime in ${f.runtime}`);
  assertIncludes(r.stderr, "set MITOSIS_RUNTIME_DIR to move it");
});

test("a full runtime directory fails with an error naming it, and leaves no partial runtime behind", async () => {
  await using f = await fixture();
  const r = await startOnTmpfs(f, "size=8m");
  assertEquals(r.code, 73, r.stderr);
  assertIncludes(r.stderr, `mitosis: cannot prepare its runtime in ${f.runtime}: extraction failed`);
  assertIncludes(r.stderr, "set MITOSIS_RUNTIME_DIR to move it");
  // The tmpfs lived in the namespace only; what matters is that the start reported it and published nothing.
  assertEquals(entries(f.runtime), []);
});

test("a damaged executable is refused before anything is extracted", async () => {
  await using f = await fixture();
  const bytes = await Deno.readFile(f.cli);
  bytes[bytes.length - 100] ^= 0xff;
  await Deno.writeFile(f.cli, bytes);
  const r = await run([f.cli, "--version"], { HOME: f.home, MITOSIS_RUNTIME_DIR: f.runtime }, f.dir);
  assertEquals(r.code, 74, r.stderr);
  assertIncludes(r.stderr, `mitosis: ${f.cli} is damaged`);
  assertEquals(entries(f.runtime).filter((n) => DIGEST.test(n) || n.includes(".tmp.")), []);
});

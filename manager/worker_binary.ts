/**
 * The command that runs a managed worker (the pool appends `--managed --ipc
 * … --worker-local-id …`):
 *
 * - `--worker-binary PATH`: that executable; a `.ts`/`.js` file is run with
 *   this Deno (`deno run --allow-all PATH`).
 * - from source (the manager runs as `manager/main.ts` next to
 *   `worker/main.ts`): `deno run --allow-all --config <repo>/deno.json
 *   --v8-flags=… <repo>/worker/main.ts`, so the import map is found
 *   whatever the cwd; the V8 flags are `WORKER_V8_FLAGS`.
 * - otherwise (a built executable): `mitosis-worker` beside the manager's
 *   main module, else on `PATH`.
 */

/**
 * V8 flags of managed workers run from source. A worker's JavaScript is a
 * few hundred microseconds per task, around op calls (spawn, IPC, files):
 * measured on the pool bench (2 workers, 1,200 no-op tasks, 3 runs), these
 * take its peak RSS from about 60 to 52 MiB with no more CPU per task
 * (3.3–3.7 ms against 3.5–4.8 ms):
 * - `--jitless`: bytecode interpreter only; the optimising compilers'
 *   code and their code space are never touched (also no WebAssembly,
 *   which the worker does not use);
 * - `--max-semi-space-size=1`: a young generation of 1 MiB semi-spaces
 *   instead of growing to 16 MiB (the worker's heap is ~10 MiB);
 * - `--single-threaded`: no V8 helper threads (GC and compilation run on
 *   the main thread; less memory, no contention on small machines).
 */
export const WORKER_V8_FLAGS = "--v8-flags=--jitless,--max-semi-space-size=1,--single-threaded";

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
      return [
        Deno.execPath(),
        "run",
        "--allow-all",
        ...(isFile(config) ? ["--config", config] : []),
        WORKER_V8_FLAGS,
        source,
      ];
    }
    const sibling = new URL("./mitosis-worker", url).pathname;
    if (isFile(sibling)) return [sibling];
  }
  return ["mitosis-worker"];
}

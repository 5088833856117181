/**
 * How this installation runs each Mitosis role as a process: from a source
 * checkout (`deno run <repo>/<role entry>.ts` with the repository's
 * `deno.json`) or from a built runtime directory (the layout a
 * `mitosis-*` executable extracts: `bin/deno` and `app/<role>.js`, one
 * bundle per role), always with the Deno that runs this process.
 *
 * The manager uses it to spawn managed workers and the all-in-one local mode
 * to spawn its manager, so both work the same from source and from a built
 * executable without a second copy of the runtime.
 */

/** The roles a process can be started as. */
export type Role = "coordinator" | "manager" | "worker" | "mitosis";

/** The source entry of each role, relative to the repository root. */
const SOURCE_ENTRY: Record<Role, string> = {
  coordinator: "coordinator/main.ts",
  manager: "manager/main.ts",
  worker: "worker/main.ts",
  mitosis: "mod.ts",
};

/**
 * V8 flags of managed workers. A worker's JavaScript is a few hundred
 * microseconds per task, around op calls (spawn, IPC, files): measured on
 * the pool bench (2 workers, 1,200 no-op tasks, 3 runs), these take its peak
 * RSS from about 60 to 52 MiB with no more CPU per task:
 * - `--jitless`: bytecode interpreter only; the optimising compilers' code
 *   and code space are never touched (also no WebAssembly, which the worker
 *   does not use);
 * - `--max-semi-space-size=1`: a young generation of 1 MiB semi-spaces
 *   instead of growing to 16 MiB (the worker's heap is ~10 MiB);
 * - `--single-threaded`: no V8 helper threads (GC and compilation run on
 *   the main thread; less memory, no contention on small machines).
 */
export const WORKER_V8_FLAGS = "--v8-flags=--jitless,--max-semi-space-size=1,--single-threaded";

/** V8 flags of the manager: a small young generation (its heap is small and long-lived). */
export const MANAGER_V8_FLAGS = "--v8-flags=--max-semi-space-size=1";

/** The `deno run` flags each role runs with, besides `--allow-all`. */
export const ROLE_V8_FLAGS: Record<Role, readonly string[]> = {
  coordinator: [],
  manager: [MANAGER_V8_FLAGS],
  worker: [WORKER_V8_FLAGS],
  mitosis: [],
};

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Where this process's code comes from. */
export type Installation =
  | { kind: "source"; root: string }
  | { kind: "built"; appDir: string };

/**
 * Finds the installation `moduleUrl` belongs to: a source checkout when the
 * repository's `deno.json` and role entries are beside it, a built runtime
 * directory when role bundles (`<role>.js`) are beside the running bundle.
 * `moduleUrl` defaults to this module's URL, which inside a bundle is the
 * bundle's own.
 */
export function findInstallation(moduleUrl: string = import.meta.url): Installation | null {
  const url = new URL(moduleUrl);
  if (url.protocol !== "file:") return null;
  const root = new URL("../../", url).pathname.replace(/\/$/, "");
  if (isFile(`${root}/deno.json`) && isFile(`${root}/${SOURCE_ENTRY.worker}`)) return { kind: "source", root };
  const appDir = new URL("./", url).pathname.replace(/\/$/, "");
  if (isFile(`${appDir}/worker.js`) || isFile(`${appDir}/manager.js`)) return { kind: "built", appDir };
  return null;
}

/**
 * The argv that runs `role` from `installation` with this process's Deno, or
 * null when the installation does not hold that role (a built executable
 * carries only the roles it needs).
 */
export function roleCommand(role: Role, installation: Installation | null = findInstallation()): string[] | null {
  if (installation === null) return null;
  if (installation.kind === "source") {
    const entry = `${installation.root}/${SOURCE_ENTRY[role]}`;
    if (!isFile(entry)) return null;
    return [
      Deno.execPath(),
      "run",
      "--allow-all",
      "--config",
      `${installation.root}/deno.json`,
      ...ROLE_V8_FLAGS[role],
      entry,
    ];
  }
  const bundle = `${installation.appDir}/${role}.js`;
  if (!isFile(bundle)) return null;
  return [Deno.execPath(), "run", "--allow-all", "--no-config", "--no-lock", ...ROLE_V8_FLAGS[role], bundle];
}

/**
 * IPC round trips as managed workers see them: `timed_worker.ts` is a
 * managed worker (the same code as `mitosis-worker --managed`, run with the
 * workers' V8 flags) that times each request it sends its manager and, when
 * it exits, writes them to `<dir>/ipc-<worker local id>-<pid>.json`, `dir`
 * being `$MITOSIS_ACCEPTANCE_IPC_TIMINGS_DIR`. A manager runs it through the
 * script `writeTimedWorkerScript` writes, given as `--worker-binary`, with
 * that variable in its environment (workers inherit it).
 *
 * @example
 * ```ts
 * const script = await writeTimedWorkerScript(dir);
 * // spawnManager(url, { args: ["--worker-binary", script], env: { [IPC_TIMINGS_ENV]: dir } }) … suite runs …
 * const timings = await readIpcTimings(dir);
 * ```
 */
import { roleCommand } from "../../shared/runtime/installation.ts";

/** The environment variable naming the directory of the timing files. */
export const IPC_TIMINGS_ENV = "MITOSIS_ACCEPTANCE_IPC_TIMINGS_DIR";

/** What one managed worker measured (durations in ms). */
export interface IpcTimings {
  pid: number;
  workerLocalId: number;
  /** `FetchTask` round trips answered with a task. */
  fetched: number[];
  /** `FetchTask` round trips answered with none (the manager waited for tasks, or the suite ended). */
  emptyFetches: number[];
  /** `ReportTask` round trips by operation (`Finish`, `Commit`, …). */
  reports: Record<string, number[]>;
}

/** Single-quotes `word` for `sh`. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Writes `<dir>/timed-worker.sh`, which runs `timed_worker.ts` as this
 * installation runs its managed workers (same Deno, config and V8 flags);
 * returns its path.
 */
export async function writeTimedWorkerScript(dir: string): Promise<string> {
  const command = roleCommand("worker");
  if (command === null) throw new Error("no worker in this installation (a source checkout is needed)");
  const entry = new URL("./timed_worker.ts", import.meta.url).pathname;
  // roleCommand ends with the worker's entry module; the rest (Deno, flags) stays.
  const argv = [...command.slice(0, -1), entry];
  const path = `${dir}/timed-worker.sh`;
  await Deno.writeTextFile(path, `#!/bin/sh\nexec ${argv.map(shellQuote).join(" ")} "$@"\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

/** Every timing file in `dir` (workers that exited normally wrote one each). */
export async function readIpcTimings(dir: string): Promise<IpcTimings[]> {
  const found: IpcTimings[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!/^ipc-\d+-\d+\.json$/.test(entry.name)) continue;
    found.push(JSON.parse(await Deno.readTextFile(`${dir}/${entry.name}`)) as IpcTimings);
  }
  return found;
}

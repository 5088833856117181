/**
 * The work dir of a suite on this manager, `<state_dir>/suites/<uuid>/`:
 * hooks run in it, hook resources land in it, and the worker pool keeps its
 * files (IPC socket, worker dirs) in it. It is emptied when the suite ends
 * on this manager, except `hooks.log`, which is kept for the operator.
 */
import type { Logger } from "../../shared/log/logger.ts";

/** The file kept when a work dir is emptied. */
const KEPT = "hooks.log";

/** The work dir of suite `suiteUuid`. */
export function suiteWorkDir(stateDir: string, suiteUuid: string): string {
  return `${stateDir}/suites/${suiteUuid}`;
}

/** Removes everything in `dir` except `hooks.log`; failures are logged. */
export async function emptyWorkDir(dir: string, log: Logger): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    log.error("cannot list the suite work dir", { path: dir, error });
    return;
  }
  for (const entry of entries) {
    if (entry.name === KEPT) continue;
    try {
      await Deno.remove(`${dir}/${entry.name}`, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        log.error("cannot remove a file of the suite work dir", { path: `${dir}/${entry.name}`, error });
      }
    }
  }
}

/** Creates the work dir (mode 0700), emptied of what an earlier run of the suite left, and returns its path. */
export async function prepareSuiteWorkDir(stateDir: string, suiteUuid: string, log: Logger): Promise<string> {
  const dir = suiteWorkDir(stateDir, suiteUuid);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await emptyWorkDir(dir, log);
  return dir;
}

/**
 * The command that runs a managed worker (the pool appends `--managed --ipc
 * … --worker-local-id …`):
 *
 * - `--worker-binary PATH`: that executable; a `.ts`/`.js` file is run with
 *   this Deno (`deno run --allow-all PATH`).
 * - otherwise the worker of this installation, with this process's Deno:
 *   `<repo>/worker/main.ts` from a source checkout, or the worker bundle a
 *   built `mitosis-manager` carries in its runtime directory (see
 *   `shared/runtime/installation.ts`); both with `WORKER_V8_FLAGS`.
 * - otherwise `mitosis-worker` on `PATH`.
 */
import { findInstallation, roleCommand, WORKER_V8_FLAGS } from "../shared/runtime/installation.ts";

export { WORKER_V8_FLAGS };

/** The argv prefix running a managed worker; `mainModule` locates this installation (tests pass others). */
export function workerCommand(configured: string | undefined, mainModule?: string): string[] {
  if (configured !== undefined) {
    return /\.(ts|js|mjs)$/.test(configured) ? [Deno.execPath(), "run", "--allow-all", configured] : [configured];
  }
  return roleCommand("worker", mainModule === undefined ? findInstallation() : findInstallation(mainModule)) ??
    ["mitosis-worker"];
}

/**
 * The manager's IPC backend: what `--ipc` (config `manager.ipc`) resolves
 * to, and the RouDi daemon the `iceoryx` backend needs.
 *
 * - `unix`: a Unix domain socket per suite execution; always available.
 * - `iceoryx`: iceoryx shared memory. The manager uses the RouDi already
 *   running on the machine, or starts one sized for its workers and stops
 *   it when it stops (RouDi is one per machine: a manager that starts it
 *   should be the only iceoryx user there, or RouDi should run as a service).
 * - `iceoryx2`: refused (no backend yet; the library cannot be had here).
 * - `auto`: iceoryx2 when its backend exists and its library loads; then
 *   iceoryx when its library loads and a RouDi already runs (a manager on
 *   `auto` does not start one: RouDi's lifetime would be tied to whichever
 *   manager happened to start first); else unix. The choice and the reason
 *   are logged and reported in the heartbeat metrics (`ipc_transport`).
 */
import { iceoryxLibraryPath, probeIceoryx } from "../ffi/iceoryx.ts";
import { acquireRoudi, type RoudiDaemon, RoudiError, roudiReachable } from "../shared/ipc/iceoryx/roudi.ts";
import {
  type IpcBackendName,
  IpcBackendUnavailableError,
  type IpcEnv,
  probeIceoryx2,
  selectTransport,
} from "../shared/ipc/select.ts";
import type { IpcTransport } from "../shared/ipc/transport.ts";
import type { Logger } from "../shared/log/logger.ts";

/** The backend in use and what it holds. */
export interface IpcBackend {
  transport: IpcTransport;
  /** Why this backend (for `auto`, what was tried). */
  reason: string;
  /** The RouDi the `iceoryx` backend uses (`started` when this manager owns it), else null. */
  roudi: RoudiDaemon | null;
  /** Stops what the backend started (a RouDi this manager started). */
  close(): Promise<void>;
  /** SIGKILLs a RouDi this manager started (for exit paths that cannot wait). */
  killSync(): void;
}

/** What `auto` resolves to on this machine, and why. */
export async function resolveAuto(env: IpcEnv): Promise<{ name: "unix" | "iceoryx"; reason: string }> {
  const notes: string[] = [];
  const iceoryx2 = probeIceoryx2(env);
  notes.push(
    iceoryx2.ok ? "iceoryx2 library loads but has no backend yet" : "iceoryx2 library not available",
  );
  const iceoryx = probeIceoryx(iceoryxLibraryPath(env));
  if (!iceoryx.ok) {
    notes.push("iceoryx C binding not installed");
  } else if (await roudiReachable()) {
    return { name: "iceoryx", reason: [...notes, "iceoryx: a RouDi daemon runs on this machine"].join("; ") };
  } else {
    notes.push("iceoryx: no RouDi daemon runs (auto does not start one; use --ipc iceoryx)");
  }
  return { name: "unix", reason: notes.join("; ") };
}

/**
 * Opens the backend `name` for a manager with up to `workers` workers.
 * Throws `IpcBackendUnavailableError` when an explicitly chosen backend
 * cannot be used (missing library, RouDi cannot be started).
 */
export async function openIpcBackend(
  name: IpcBackendName,
  env: IpcEnv,
  workers: number,
  log: Logger,
): Promise<IpcBackend> {
  let chosen: Exclude<IpcBackendName, "auto">;
  let reason: string;
  if (name === "auto") {
    ({ name: chosen, reason } = await resolveAuto(env));
  } else {
    chosen = name;
    reason = "configured";
  }
  const transport = selectTransport(chosen, env, { log });
  let roudi: RoudiDaemon | null = null;
  if (chosen === "iceoryx") {
    try {
      roudi = await acquireRoudi({ workers, log: log.child({ component: "roudi" }) });
    } catch (error) {
      if (!(error instanceof RoudiError)) throw error;
      throw new IpcBackendUnavailableError(`the iceoryx IPC backend needs a RouDi daemon: ${error.message}`);
    }
    if (roudi.started) reason += `; started iox-roudi (pid ${roudi.pid}) for ${workers} workers`;
    else reason += "; using the RouDi already running";
  }
  log.info("IPC transport chosen", { ipc: chosen, requested: name, reason });
  return {
    transport,
    reason,
    roudi,
    close: async () => {
      await roudi?.stop();
    },
    killSync: () => {
      if (roudi === null || !roudi.started || roudi.pid === null) return;
      try {
        Deno.kill(roudi.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    },
  };
}

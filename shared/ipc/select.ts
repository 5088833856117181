/**
 * Choosing the IPC backend (`--ipc auto|unix|iceoryx|iceoryx2`).
 * `unix` is always available. `iceoryx` needs Debian's iceoryx C binding
 * (`libiceoryx_binding_c.so.2`, or `MITOSIS_ICEORYX_LIB`) and a RouDi daemon,
 * which a manager that chooses it starts when none runs. `iceoryx2` needs
 * `libiceoryx2_ffi_c.so` (`MITOSIS_ICEORYX2_LIB`, else the loader's search
 * path), which has no backend yet. Asking for a backend that cannot be used
 * is an error, never a silent substitute; `auto` says what it chose and why
 * (`chooseAuto`).
 */
import { createLogger, type Logger } from "../log/logger.ts";
import { IpcBackendUnavailableError } from "./backend_error.ts";
import { iceoryxLibraryPath, probeIceoryx } from "../../ffi/iceoryx.ts";
import { createIceoryxTransport } from "./iceoryx.ts";
import type { IpcTransport } from "./transport.ts";

export { IpcBackendUnavailableError };
import { createUnixTransport, unixTransport } from "./unix.ts";

/** The backend names `--ipc` accepts. */
export const IPC_BACKEND_NAMES = ["auto", "unix", "iceoryx", "iceoryx2"] as const;
/** A backend name. */
export type IpcBackendName = typeof IPC_BACKEND_NAMES[number];

/** File name of the iceoryx2 C library. */
export const ICEORYX2_LIBRARY = "libiceoryx2_ffi_c.so";
/** Environment variable naming the iceoryx2 library's path. */
export const ICEORYX2_LIB_ENV = "MITOSIS_ICEORYX2_LIB";
/** The symbol looked up to recognise the iceoryx2 C API. */
const ICEORYX2_PROBE_SYMBOL = "iox2_node_builder_new";

/** Outcome of trying to load the iceoryx2 library. */
export type Iceoryx2Probe = { ok: true; path: string } | { ok: false; path: string; reason: string };

/** Environment variables as `selectTransport` reads them. */
export type IpcEnv = Readonly<Record<string, string | undefined>>;

/** Tries to `Deno.dlopen` the iceoryx2 C library and resolve one of its symbols; closes it again. */
export function probeIceoryx2(env: IpcEnv): Iceoryx2Probe {
  const path = env[ICEORYX2_LIB_ENV] || ICEORYX2_LIBRARY;
  try {
    const lib = Deno.dlopen(path, { [ICEORYX2_PROBE_SYMBOL]: { parameters: ["pointer"], result: "pointer" } });
    lib.close();
    return { ok: true, path };
  } catch (error) {
    return { ok: false, path, reason: error instanceof Error ? error.message : String(error) };
  }
}

function unknownBackend(value: string): IpcBackendUnavailableError {
  return new IpcBackendUnavailableError(
    `unknown IPC backend "${value}": expected one of ${IPC_BACKEND_NAMES.join(", ")}`,
  );
}

/** Checks a configured backend name. */
export function parseIpcBackendName(value: string): IpcBackendName {
  const name = IPC_BACKEND_NAMES.find((n) => n === value);
  if (name === undefined) throw unknownBackend(value);
  return name;
}

/** Options of `selectTransport`. */
export interface SelectTransportOptions {
  /** Where the choice is logged; also given to the chosen backend (default: component `ipc`, on stderr). */
  log?: Logger;
}

/**
 * The transport for `name`. Throws `IpcBackendUnavailableError` for an
 * explicit backend that cannot be used; `auto` always yields one.
 */
export function selectTransport(
  name: IpcBackendName,
  env: IpcEnv = Deno.env.toObject(),
  options: SelectTransportOptions = {},
): IpcTransport {
  const log = options.log ?? createLogger("ipc");
  const unix = options.log === undefined ? unixTransport : createUnixTransport({ log });
  switch (name) {
    case "unix":
      log.debug("IPC transport: unix");
      return unix;
    case "iceoryx": {
      const probe = probeIceoryx(iceoryxLibraryPath(env));
      if (!probe.ok) throw new IpcBackendUnavailableError(`the iceoryx IPC backend cannot be used: ${probe.reason}`);
      log.debug("IPC transport: iceoryx");
      return createIceoryxTransport({ log });
    }
    case "iceoryx2": {
      const probe = probeIceoryx2(env);
      if (!probe.ok) {
        throw new IpcBackendUnavailableError(
          `the iceoryx2 IPC backend needs ${ICEORYX2_LIBRARY}, which could not be loaded from "${probe.path}" ` +
            `(set ${ICEORYX2_LIB_ENV} to its path): ${probe.reason}`,
        );
      }
      throw new IpcBackendUnavailableError(
        `${ICEORYX2_LIBRARY} loads from "${probe.path}", but the iceoryx2 IPC backend is not implemented yet: ` +
          "use --ipc unix or auto",
      );
    }
    case "auto": {
      const probe = probeIceoryx2(env);
      if (probe.ok) {
        log.warn("IPC transport: unix (auto: iceoryx2 library loads, but its backend is not implemented yet)", {
          library: probe.path,
        });
      } else {
        log.info("IPC transport: unix (auto: iceoryx2 library not available)", {
          library: probe.path,
          reason: probe.reason,
        });
      }
      return unix;
    }
    default: {
      const unknown: never = name;
      throw unknownBackend(String(unknown));
    }
  }
}

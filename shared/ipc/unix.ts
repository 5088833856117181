/**
 * The `unix` IPC transport (SPEC §7), the default and reference backend:
 * length-prefixed JSON (`framing.ts`) over a Unix domain socket whose path is
 * the transport address. Server side in `unix_server.ts` (loaded on the
 * first `serve`), client side in `unix_client.ts`.
 */
import { createLogger, type Logger } from "../log/logger.ts";
import type { IpcTransport } from "./transport.ts";
import { UnixClient } from "./unix_client.ts";

/** Options of `createUnixTransport`. */
export interface UnixTransportOptions {
  /** Where connection problems are logged (default: component `ipc-unix`, level `info`, on stderr). */
  log?: Logger;
}

/** Creates a `unix` transport that logs to `options.log`. */
export function createUnixTransport(options: UnixTransportOptions = {}): IpcTransport {
  const log = options.log ?? createLogger("ipc-unix");
  return {
    name: "unix",
    // Loaded by the manager only: the server validates requests with the zod schemas, which a worker never needs.
    serve: async (address, handler) => (await import("./unix_server.ts")).UnixServer.listen(address, handler, log),
    connect: (address, onControl) => UnixClient.connect(address, onControl, log),
  };
}

/** The `unix` transport with the default logger. */
export const unixTransport: IpcTransport = createUnixTransport();

/**
 * The `iceoryx` IPC transport: manager ↔ worker messages through Eclipse
 * iceoryx 2.0 shared memory (Debian's `libiceoryx_binding_c.so.2`, loaded
 * with `Deno.dlopen`). Each message is one chunk: a 32-byte frame header and
 * its JSON, written into a loaned chunk and read in place (`iceoryx/frame.ts`).
 * The address is any string (the manager uses its socket path); it names the
 * endpoint's topics. Needs a running RouDi daemon: the manager starts one
 * (`iceoryx/roudi.ts`) when it chooses this transport and no RouDi runs.
 */
import { createLogger, type Logger } from "../log/logger.ts";
import type { IpcTransport } from "./transport.ts";
import { IceoryxClient } from "./iceoryx/client.ts";

/** Options of `createIceoryxTransport`. */
export interface IceoryxTransportOptions {
  /** Where connection problems are logged (default: component `ipc-iceoryx`). */
  log?: Logger;
}

/** Creates an `iceoryx` transport that logs to `options.log`. */
export function createIceoryxTransport(options: IceoryxTransportOptions = {}): IpcTransport {
  const log = options.log ?? createLogger("ipc-iceoryx");
  return {
    name: "iceoryx",
    // The server validates requests with the zod schemas, which a worker never needs: loaded on first serve.
    serve: async (address, handler) =>
      (await import("./iceoryx/server.ts")).IceoryxServer.listen(address, handler, log),
    connect: (address, onControl) => IceoryxClient.connect(address, onControl, log),
  };
}

/**
 * An IPC peer in its own process, for the conformance suite's peer-death
 * tests (the test SIGKILLs it). Prints `ready` once usable.
 *
 *   deno run --allow-all tests/support/ipc_peer.ts client <transport> <address> <worker_local_id>
 *     connects, completes one Heartbeat, prints `ready`, prints each control
 *     message as a JSON line, and exits when the connection ends.
 *   deno run --allow-all tests/support/ipc_peer.ts server <transport> <address>
 *     serves: Heartbeat and ReportTask are answered, FetchTask never is (so a
 *     client has a request pending when the server dies).
 */
import { createLogger } from "../../shared/log/logger.ts";
import { parseIpcBackendName, selectTransport } from "../../shared/ipc/select.ts";
import type { ManagerReply } from "../../shared/wire/ipc.ts";

const [mode, backend, address, wid] = Deno.args;
const log = createLogger("ipc-peer", "warn");
const transport = selectTransport(parseIpcBackendName(backend), Deno.env.toObject(), { log });

if (mode === "client") {
  const client = await transport.connect(address, (message) => console.log(JSON.stringify(message)));
  const reply = await client.request({ type: "Heartbeat", request_id: 0, worker_local_id: Number(wid) });
  if (reply.type !== "HeartbeatReply") throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
  console.log("ready");
  await client.closed;
} else if (mode === "server") {
  await transport.serve(address, {
    onRequest: (_peer, request): Promise<ManagerReply> => {
      switch (request.type) {
        case "Heartbeat":
          return Promise.resolve({ type: "HeartbeatReply", request_id: request.request_id });
        case "ReportTask":
          return Promise.resolve({ type: "ReportTaskReply", request_id: request.request_id, success: true });
        case "FetchTask":
          return new Promise<never>(() => {/* never answered */});
        default:
          return Promise.resolve({ type: "Error", request_id: request.request_id, msg: `${request.type} not served` });
      }
    },
  });
  console.log("ready");
} else {
  throw new Error(`usage: ipc_peer.ts client|server <transport> <address> [worker_local_id]`);
}

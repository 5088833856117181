/**
 * The `iceoryx` IPC transport: the conformance suite over shared memory
 * through a RouDi daemon this file starts (iceoryx is installed with
 * apt-get first when missing), plus what is particular to it.
 */
import { createLogger, type LogLevel } from "../shared/log/logger.ts";
import { createIceoryxTransport } from "../shared/ipc/iceoryx.ts";
import { acquireRoudi, type RoudiDaemon } from "../shared/ipc/iceoryx/roudi.ts";
import { ipcConformance } from "./support/ipc_conformance.ts";
import { iceoryxRawConnector } from "./support/ipc_iceoryx_raw.ts";
import { ensureIceoryxInstalled } from "./support/iceoryx.ts";
import { test } from "./support/test.ts";

const logLevel = (Deno.env.get("MITOSIS_TEST_LOG_LEVEL") ?? "off") as LogLevel;
const installed = await ensureIceoryxInstalled();

if (!installed.ok) {
  Deno.test({ name: `iceoryx: conformance (not run: ${installed.reason})`, ignore: true, fn: () => {} });
} else {
  const roudi: RoudiDaemon = await acquireRoudi({ workers: 64, log: createLogger("roudi", logLevel) });
  globalThis.addEventListener("unload", () => {
    if (roudi.pid !== null && roudi.started) {
      try {
        Deno.kill(roudi.pid, "SIGKILL");
      } catch { /* already gone */ }
    }
  });
  const transport = createIceoryxTransport({ log: createLogger("ipc-iceoryx", logLevel) });
  let endpoints = 0;
  const address = () => Promise.resolve(`/tmp/mitosis-iceoryx-test-${Deno.pid}-${++endpoints}`);

  ipcConformance("iceoryx", transport, address, { raw: iceoryxRawConnector });

  test("iceoryx: the RouDi this file started stops", async () => {
    await roudi.stop();
  });
}

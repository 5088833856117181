/**
 * The `iceoryx` IPC transport: the conformance suite over shared memory
 * through a RouDi daemon this file starts (iceoryx is installed with
 * apt-get first when missing), plus what is particular to it.
 */
import { createLogger, type LogLevel } from "../shared/log/logger.ts";
import { roudiReachable } from "../shared/ipc/iceoryx/roudi.ts";
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { ServerFixture } from "./support/ipc_fixtures.ts";
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

  test("iceoryx: non-ASCII text (2-, 3- and 4-byte UTF-8) arrives intact both ways", async () => {
    const text = "Grüße — 日本語 — 🚀".repeat(2000);
    await using fx = await ServerFixture.start(transport, await address(), (request) => ({
      type: "Error",
      request_id: request.request_id,
      msg: request.type === "ReportTask" && typeof request.op === "object" && "Submit" in request.op
        ? request.op.Submit.task_spec.envs.TEXT
        : "unexpected",
    }));
    const { client } = await fx.connect();
    const reply = await client.request({
      type: "ReportTask",
      request_id: 1,
      worker_local_id: 1,
      task_id: 1,
      op: { Submit: { group_name: "g", task_spec: { args: ["x"], envs: { TEXT: text } } } },
    });
    assertEquals(reply.type === "Error" ? reply.msg : null, text);
  });

  test("iceoryx: the RouDi this file started stops", async () => {
    await roudi.stop();
  });

  test("iceoryx: without RouDi a worker fails at once with a clear error instead of waiting 60 s and aborting", async () => {
    if (!roudi.started) return; // someone else's RouDi still runs: nothing to prove here
    assertTrue(!await roudiReachable(), "no RouDi runs now");
    const started = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("./support/ipc_peer.ts", import.meta.url).pathname,
        "client",
        "iceoryx",
        "x",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - started) / 1000;
    assertEquals(out.code, 1, "the client process exits 1 (an uncaught error), not 134 (abort)");
    assertIncludes(new TextDecoder().decode(out.stderr), "no iceoryx RouDi daemon answers");
    assertTrue(seconds < 30, `failed within ${seconds.toFixed(1)} s`);
  });
}

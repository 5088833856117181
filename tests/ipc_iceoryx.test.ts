/**
 * The `iceoryx` IPC transport (iceoryx is installed with apt-get first when
 * missing): the conformance suite over shared memory, plus what is particular
 * to it, in a `deno test` process of its own (`support/ipc_iceoryx_suite.ts`)
 * against a RouDi daemon started here and stopped only after that process
 * ended (a process that used iceoryx cannot leave RouDi, and complains on
 * stderr every 300 ms once RouDi is gone). Its test names name the transport
 * (`iceoryx: 64 concurrent clients …`); each line of its report is echoed.
 */
import { createLogger, type LogLevel } from "../shared/log/logger.ts";
import { acquireRoudi, roudiReachable } from "../shared/ipc/iceoryx/roudi.ts";
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { ensureIceoryxInstalled } from "./support/iceoryx.ts";
import { test } from "./support/test.ts";

const SUITE = new URL("./support/ipc_iceoryx_suite.ts", import.meta.url).pathname;
const PEER = new URL("./support/ipc_peer.ts", import.meta.url).pathname;
const logLevel = (Deno.env.get("MITOSIS_TEST_LOG_LEVEL") ?? "off") as LogLevel;
const installed = await ensureIceoryxInstalled();
const decoder = new TextDecoder();

if (!installed.ok) {
  Deno.test({ name: `iceoryx: conformance suite (not run: ${installed.reason})`, ignore: true, fn: () => {} });
} else {
  test("iceoryx: the conformance suite and the transport's own tests pass over shared memory", async () => {
    const roudi = await acquireRoudi({ workers: 64, log: createLogger("roudi", logLevel) });
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(Deno.execPath(), {
        args: ["test", "--allow-all", SUITE],
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    } finally {
      await roudi.stop();
    }
    const report = decoder.decode(out.stdout);
    for (const line of report.split("\n")) if (line.startsWith("iceoryx: ")) console.log(`  ${line}`);
    const summary = /^(ok|FAILED) \| (\d+) passed \| (\d+) failed/m.exec(report);
    assertTrue(summary !== null, `no test summary:\n${report}\n${decoder.decode(out.stderr)}`);
    assertEquals([summary[1], summary[3]], ["ok", "0"], `iceoryx tests failed:\n${report}`);
    assertTrue(Number(summary[2]) >= 16, `the whole suite ran (${summary[2]} tests)`);
    assertEquals(out.code, 0);
  });

  test("iceoryx: without RouDi a worker fails at once with a clear error instead of waiting 60 s and aborting", async () => {
    assertTrue(!await roudiReachable(), "no RouDi runs now");
    const started = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", PEER, "client", "iceoryx", "x"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - started) / 1000;
    assertEquals(out.code, 1, "the client process exits 1 (an uncaught error), not 134 (abort)");
    assertIncludes(decoder.decode(out.stderr), "no iceoryx RouDi daemon answers");
    assertTrue(seconds < 30, `failed within ${seconds.toFixed(1)} s`);
  });
}

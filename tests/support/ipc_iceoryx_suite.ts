/**
 * The `iceoryx` IPC transport's tests, run by `tests/ipc_iceoryx.test.ts` as
 * `deno test` in a process of their own, against the RouDi daemon that test
 * started: a process that used iceoryx stays registered with RouDi for its
 * whole life (iceoryx 2.0 has no way to leave), and once RouDi is gone its
 * keep-alive thread reports every 300 ms on stderr — so this process must end
 * before RouDi does. Not discovered by `deno test tests/` (no `.test.ts`).
 *
 *   deno test --allow-all tests/support/ipc_iceoryx_suite.ts   # needs a running RouDi
 */
import { createLogger, type LogLevel } from "../../shared/log/logger.ts";
import { createIceoryxTransport } from "../../shared/ipc/iceoryx.ts";
import { roudiReachable } from "../../shared/ipc/iceoryx/roudi.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import { ipcConformance } from "./ipc_conformance.ts";
import { ServerFixture } from "./ipc_fixtures.ts";
import { iceoryxRawConnector } from "./ipc_iceoryx_raw.ts";
import { test } from "./test.ts";

const logLevel = (Deno.env.get("MITOSIS_TEST_LOG_LEVEL") ?? "off") as LogLevel;
assertTrue(await roudiReachable(), "a RouDi daemon runs (tests/ipc_iceoryx.test.ts starts one)");
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

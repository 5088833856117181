/**
 * The `unix` IPC transport: the conformance suite, plus what is particular
 * to socket files (mode 0600, stale sockets replaced, live sockets and other
 * files refused, the file removed on close) and the oversize-frame log line.
 */
import { createLogger, type LogLevel } from "../shared/log/logger.ts";
import { createUnixTransport } from "../shared/ipc/unix.ts";
import { MAX_IN_FLIGHT_PER_CONNECTION } from "../shared/ipc/unix_server.ts";
import { MAX_IPC_MESSAGE_BYTES } from "../shared/wire/ipc.ts";
import { assertEquals, assertIncludes, assertRejects, assertTrue } from "./support/assert.ts";
import { ipcConformance } from "./support/ipc_conformance.ts";
import { eventually, ServerFixture, within } from "./support/ipc_fixtures.ts";
import { unixRawConnector } from "./support/ipc_unix_raw.ts";
import { test } from "./support/test.ts";

const logLevel = (Deno.env.get("MITOSIS_TEST_LOG_LEVEL") ?? "off") as LogLevel;
const transport = createUnixTransport({ log: createLogger("ipc-unix", logLevel) });

const dir = await Deno.makeTempDir({ prefix: "mitosis-ipc-unix-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
let sockets = 0;
/** A fresh socket path in this file's temp dir. */
const socketPath = (): string => `${dir}/s${++sockets}.sock`;

ipcConformance("unix", transport, () => Promise.resolve(socketPath()), { raw: unixRawConnector });

test("unix: the socket file has mode 0600 and close() removes it", async () => {
  const path = socketPath();
  const fx = await ServerFixture.start(transport, path);
  const info = await Deno.lstat(path);
  assertTrue(info.isSocket, "a socket file");
  assertEquals((info.mode! & 0o777).toString(8), "600");
  await fx[Symbol.asyncDispose]();
  await assertRejects(() => Deno.lstat(path), "the socket file is gone");
});

test("unix: a stale socket file is replaced", async () => {
  const path = socketPath();
  // A socket file nobody listens on: a hard link outlives the listener's own unlink.
  const listener = Deno.listen({ transport: "unix", path: `${path}.orig` });
  await Deno.link(`${path}.orig`, path);
  listener.close();
  assertTrue((await Deno.lstat(path)).isSocket);
  const refused = await assertRejects(() => Deno.connect({ transport: "unix", path }));
  assertTrue(refused instanceof Deno.errors.ConnectionRefused, `stale: ${refused}`);
  await using fx = await ServerFixture.start(transport, path);
  assertEquals((await Deno.lstat(path)).mode! & 0o777, 0o600);
  const { client } = await fx.connect();
  assertEquals((await client.request({ type: "Heartbeat", request_id: 1, worker_local_id: 1 })).type, "HeartbeatReply");
});

test("unix: a socket in use by a live server is not taken over", async () => {
  const path = socketPath();
  await using fx = await ServerFixture.start(transport, path);
  const error = await assertRejects(() => transport.serve(path, { onRequest: () => Promise.reject() }));
  assertTrue(error instanceof Deno.errors.AddrInUse, `AddrInUse, got ${error}`);
  assertIncludes(error.message, path);
  const { client } = await fx.connect();
  assertEquals((await client.request({ type: "Heartbeat", request_id: 1, worker_local_id: 1 })).type, "HeartbeatReply");
});

test("unix: a path holding another kind of file is refused and left alone", async () => {
  const path = socketPath();
  await Deno.writeTextFile(path, "precious");
  const error = await assertRejects(() => transport.serve(path, { onRequest: () => Promise.reject() }));
  assertIncludes(error.message, "not a socket");
  assertEquals(await Deno.readTextFile(path), "precious");
});

test("unix: connecting to a missing socket fails with an error naming the path", async () => {
  const path = socketPath();
  const error = await assertRejects(() => transport.connect(path, () => {}));
  assertIncludes(error.message, path);
});

test("unix: an oversize frame is logged as an error naming its size", async () => {
  const lines: Record<string, unknown>[] = [];
  const logged = createUnixTransport({
    log: createLogger("ipc-unix", "debug", {}, (line) => lines.push(JSON.parse(line))),
  });
  await using fx = await ServerFixture.start(logged, socketPath());
  const conn = await unixRawConnector.connect(fx.server.address);
  try {
    await conn.sendOversize(MAX_IPC_MESSAGE_BYTES + 10);
    assertEquals(await within(conn.receive(), "the connection to close"), null);
  } finally {
    await conn.close();
  }
  await eventually(() => lines.some((l) => l.level === "error"), "the error line");
  const line = lines.find((l) => l.level === "error")!;
  assertIncludes(String(line.msg), "size limit");
  assertEquals(line.bytes, MAX_IPC_MESSAGE_BYTES + 10);
  assertEquals(line.limit, MAX_IPC_MESSAGE_BYTES);
});

test("unix: requests beyond the in-flight limit of a connection are refused with Error", async () => {
  const held: (() => void)[] = [];
  await using fx = await ServerFixture.start(transport, socketPath(), async (request) => {
    if (request.type === "FetchTask") await new Promise<void>((resolve) => held.push(resolve));
    return { type: "HeartbeatReply", request_id: request.request_id };
  });
  const { client } = await fx.connect();
  const extra = 3;
  const replies = Array.from(
    { length: MAX_IN_FLIGHT_PER_CONNECTION + extra },
    (_, i) => client.request({ type: "FetchTask", request_id: i, worker_local_id: 1 }),
  );
  const refused = await within(Promise.all(replies.slice(MAX_IN_FLIGHT_PER_CONNECTION)), "the refusals");
  for (const reply of refused) {
    assertEquals(reply.type, "Error");
    assertIncludes(reply.type === "Error" ? reply.msg : "", "too many requests in flight");
  }
  await eventually(() => held.length === MAX_IN_FLIGHT_PER_CONNECTION, "every admitted request to be held");
  held.forEach((release) => release());
  const answered = await within(Promise.all(replies.slice(0, MAX_IN_FLIGHT_PER_CONNECTION)), "the held replies");
  assertTrue(answered.every((r, i) => r.type === "HeartbeatReply" && r.request_id === i));
  const after = await within(
    client.request({ type: "Heartbeat", request_id: 99_999, worker_local_id: 1 }),
    "a request after the replies went out",
  );
  assertEquals(after.type, "HeartbeatReply", "admitted again");
});

test("unix: serving in a missing directory fails with an error naming the path", async () => {
  const path = `${dir}/missing/s.sock`;
  const error = await assertRejects(() => transport.serve(path, { onRequest: () => Promise.reject() }));
  assertIncludes(error.message, path);
});

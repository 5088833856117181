/**
 * The `/ws/managers` protocol itself: authentication of the upgrade,
 * `Error` replies to unusable frames without closing the connection,
 * requests in flight answered by id, WebSocket-level pings.
 */
import { assertEquals, assertIncludes, assertRejects, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { registerManager, startScriptedManager, WsManager } from "./support/ws_manager.ts";
import { MAX_MANAGER_FRAME_BYTES } from "../shared/wire/manager_ws.ts";

async function setup(overrides = {}) {
  const coord = await startTestCoordinator(overrides);
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  return { coord, admin, alice };
}

/** A raw WebSocket handshake over TCP, to see exactly what the server answers. */
async function rawUpgrade(
  baseUrl: string,
  token?: string,
): Promise<{ conn: Deno.TcpConn; head: string; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const auth = token === undefined ? "" : `Authorization: Bearer ${token}\r\n`;
  const request = `GET /ws/managers HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${btoa("0123456789abcdef")}\r\nSec-WebSocket-Version: 13\r\n${auth}\r\n`;
  await conn.write(new TextEncoder().encode(request));
  const buf = new Uint8Array(8192);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  const [head, body = ""] = text.split("\r\n\r\n");
  return { conn, head, body };
}

/** Reads raw WebSocket frames until one with `opcode` arrives (or `timeoutMs` passes); returns when it came. */
async function awaitFrame(conn: Deno.TcpConn, opcode: number, timeoutMs: number): Promise<number | null> {
  const started = performance.now();
  const buf = new Uint8Array(4096);
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return null;
      if ((buf[0] & 0x0f) === opcode) return performance.now() - started;
    }
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

test("the WebSocket upgrade needs a current manager token: 401 {msg} without upgrading otherwise", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const creds = await registerManager(coord.url, alice, { tags: ["gpu"], groups: ["alice"] });
  // Tokens may be refreshed once less than 24 h remain.
  const shortLived = await registerManager(coord.url, alice, { groups: ["alice"], lifetime: "1h" });

  for (const token of [undefined, "garbage", alice]) {
    const { conn, head, body } = await rawUpgrade(coord.url, token);
    conn.close();
    assertTrue(head.startsWith("HTTP/1.1 401"), `${token ?? "no token"}: ${head}`);
    assertTrue(typeof JSON.parse(body.slice(body.indexOf("{"))).msg === "string", body);
  }
  // A browser-style WebSocket without the header fails to connect.
  await assertRejects(() => WsManager.connect(coord.url, { ...creds, token: "garbage" }));

  // A refreshed token replaces the old one, which is then refused.
  const refreshed = await call(coord.url, "POST", `/managers/${shortLived.uuid}/refresh-token`, {
    token: shortLived.token,
  });
  assertEquals(refreshed.status, 200, refreshed.text);
  const replaced = await rawUpgrade(coord.url, shortLived.token);
  replaced.conn.close();
  assertTrue(replaced.head.startsWith("HTTP/1.1 401"), replaced.head);
  assertIncludes(replaced.body, "replaced");
  const fresh = await WsManager.connect(coord.url, {
    ...shortLived,
    token: (refreshed.body as { token: string }).token,
  });
  assertEquals((await fresh.heartbeat("Idle")).assigned_suite_uuid, null);
  await fresh.close();

  // Without an Upgrade header the endpoint answers 400 after authentication.
  const plain = await call(coord.url, "GET", "/ws/managers", { token: creds.token });
  assertEquals(plain.status, 400);
  assertIncludes((plain.body as { msg: string }).msg, "WebSocket");

  const manager = await WsManager.connect(coord.url, creds);
  const ack = await manager.heartbeat("Idle");
  assertEquals(ack.type, "HeartbeatAck");
  await manager.close();
});

test("unusable frames get Error (with the request id when readable) and the connection keeps answering", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  await using manager = await startScriptedManager(coord.url, alice, { groups: ["alice"] });

  const cases: { frame: string | Uint8Array<ArrayBuffer>; requestId: number | null; msg: string }[] = [
    { frame: "{not json", requestId: null, msg: "malformed JSON" },
    { frame: '{"type": "Heartbeat", "request_id": 5, "state": ', requestId: 5, msg: "malformed JSON" },
    { frame: "[1, 2, 3]", requestId: null, msg: "JSON object" },
    { frame: '{"request_id": 6}', requestId: 6, msg: "type" },
    { frame: '{"type": "Dance", "request_id": 7}', requestId: 7, msg: 'unknown message type "Dance"' },
    { frame: '{"type": "FetchTask", "request_id": 8, "max_count": "ten"}', requestId: 8, msg: "max_count" },
    { frame: '{"type": "FetchTask", "request_id": 9, "max_count": 0}', requestId: 9, msg: "max_count" },
    { frame: '{"type": "Heartbeat", "request_id": 10, "state": "Sleeping"}', requestId: 10, msg: "state" },
    { frame: '{"type": "ReportTask", "request_id": 11, "task_id": 1, "op": "Explode"}', requestId: 11, msg: "op" },
    { frame: '{"type": "AbortTask", "request_id": -1, "task_uuid": "x", "reason": ""}', requestId: null, msg: "" },
    { frame: '{"type": "ReportTasks", "request_id": 13, "reports": []}', requestId: 13, msg: "reports" },
    {
      frame: '{"type": "ReportTasks", "request_id": 14, "reports": [{"task_id": 1, "op": {"Complete": {}}}]}',
      requestId: 14,
      msg: "reports.0.op",
    },
    {
      frame: JSON.stringify({
        type: "ReportTasks",
        request_id: 15,
        reports: Array.from({ length: 1001 }, () => ({ task_id: 1, op: "Finish" })),
      }),
      requestId: 15,
      msg: "reports",
    },
    {
      frame: `{"type": "Heartbeat", "request_id": 12, "state": "Idle", "pad": "${"x".repeat(2 * 1024 * 1024)}"}`,
      requestId: 12,
      msg: `limit ${MAX_MANAGER_FRAME_BYTES}`,
    },
    { frame: new Uint8Array([1, 2, 3, 4]), requestId: null, msg: "binary frames are not supported" },
  ];
  for (const c of cases) {
    manager.sendRaw(c.frame);
    const error = await manager.nextPush("Error");
    assertEquals(error.request_id ?? null, c.requestId, `${String(c.frame).slice(0, 60)} → ${error.msg}`);
    assertIncludes(error.msg, c.msg);
    // Still usable after each one.
    assertEquals((await manager.heartbeat("Idle")).type, "HeartbeatAck");
  }
  assertTrue(manager.open);
});

test("many requests in flight are each answered once, by request id", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  await using manager = await startScriptedManager(coord.url, alice, { groups: ["alice"] });
  const replies = await Promise.all(
    Array.from(
      { length: 300 },
      (_, i) =>
        i % 3 === 0
          ? manager.request({ type: "Heartbeat", state: "Idle" })
          : i % 3 === 1
          ? manager.request({ type: "FetchTask", max_count: 4 })
          : manager.request({ type: "ReturnTasks", task_uuids: [crypto.randomUUID()] }),
    ),
  );
  replies.forEach((reply, i) => {
    assertEquals(reply.type, ["HeartbeatAck", "TaskAvailable", "Ack"][i % 3]);
    if ("request_id" in reply) assertEquals(reply.request_id, i + 2, "ids are numbered from 2 (1 was the heartbeat)");
  });
  // ReturnTasks of a task it does not hold: not successful, with the reason.
  const notHeld = replies[2];
  assertTrue(notHeld.type === "Ack" && !notHeld.success && (notHeld.error ?? "").includes("not held"));
  assertEquals(manager.queued("Error"), []);
});

test("the coordinator pings an idle manager every ws_ping_interval (WebSocket ping frames)", async () => {
  const { coord, alice } = await setup({ ws_ping_interval: 300 });
  await using _ = coord;
  const creds = await registerManager(coord.url, alice, { groups: ["alice"] });
  const { conn, head } = await rawUpgrade(coord.url, creds.token);
  assertTrue(head.startsWith("HTTP/1.1 101"), head);
  const after = await awaitFrame(conn, 0x9, 3_000);
  conn.close();
  assertTrue(after !== null, "no ping frame within 3 s");
  // A client that answers pings (any standard WebSocket) stays connected well past the interval.
  const manager = await WsManager.connect(coord.url, creds);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assertTrue(manager.open);
  assertEquals((await manager.heartbeat("Idle")).type, "HeartbeatAck");
  await manager.close();
});

test("a newer connection of the same manager replaces the older one (closed with 4000)", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  const creds = await registerManager(coord.url, alice, { groups: ["alice"] });
  const older = await WsManager.connect(coord.url, creds);
  await older.heartbeat("Idle");
  const newer = await WsManager.connect(coord.url, creds);
  assertEquals((await older.closed).code, 4000);
  assertEquals((await newer.heartbeat("Idle")).type, "HeartbeatAck");
  await older.close();
  await newer.close();
});

/**
 * The IPC conformance suite (SPEC §7): the behaviour every `IpcTransport`
 * backend must show. `ipcConformance()` registers the tests for one backend:
 * round trips, ordering (sequential and pipelined), 64 concurrent clients,
 * 1 MiB messages both ways, control routing, peer death in both directions
 * (real processes, SIGKILL), bad input (schema violations, handler failures,
 * oversize messages) and, through a backend-specific raw connector,
 * malformed and oversize frames on the wire.
 */
import type { IpcClient, IpcTransport } from "../../shared/ipc/transport.ts";
import { MAX_IPC_MESSAGE_BYTES, type WorkerControl, type WorkerRequest } from "../../shared/wire/ipc.ts";
import { assertEquals, assertIncludes, assertRejects, assertTrue } from "./assert.ts";
import { bigString, eventually, managedTask, PeerProcess, ServerFixture, within } from "./ipc_fixtures.ts";
import { test } from "./test.ts";

/** A connection that writes raw message bodies on a backend's wire. */
export interface RawIpcConnection {
  /** Sends one message whose body is `body` verbatim (any bytes, not checked). */
  sendBody(body: Uint8Array): Promise<void>;
  /** Sends one JSON message (not checked against any schema). */
  sendJson(message: unknown): Promise<void>;
  /** Starts a message announcing `bytes` bytes (over the limit), sending only its beginning. */
  sendOversize(bytes: number): Promise<void>;
  /** The next message from the server, parsed; null once the server closed the connection. */
  receive(): Promise<unknown | null>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/** Opens raw connections to a backend's server. */
export interface RawIpcConnector {
  connect(address: string): Promise<RawIpcConnection>;
}

/** Options of `ipcConformance`. */
export interface IpcConformanceOptions {
  /** Raw wire access; without it the malformed/oversize frame tests are registered as ignored. */
  raw?: RawIpcConnector;
}

const MiB = 1 << 20;
const encoder = new TextEncoder();

/** `FetchTask` request `id` from worker `wid`. */
function fetchTask(id: number, wid = 1): WorkerRequest {
  return { type: "FetchTask", request_id: id, worker_local_id: wid };
}

/** Fetches one task and checks the echo handler's answer. */
async function fetchChecked(client: IpcClient, id: number, wid: number): Promise<void> {
  const reply = await client.request(fetchTask(id, wid));
  assertEquals(reply.type, "FetchTaskReply");
  if (reply.type !== "FetchTaskReply") return;
  assertEquals(reply.request_id, id);
  assertEquals(reply.task?.spec.args, ["echo", String(wid), String(id)]);
}

/**
 * Registers the conformance tests of `transport` under `name`. `address()`
 * yields a fresh, unused address for each server.
 */
export function ipcConformance(
  name: string,
  transport: IpcTransport,
  address: () => Promise<string>,
  options: IpcConformanceOptions = {},
): void {
  const start = async (respond?: Parameters<typeof ServerFixture.start>[2]) =>
    ServerFixture.start(transport, await address(), respond);

  test(`${name}: request/reply round trip for every request type`, async () => {
    await using fx = await start();
    const { client } = await fx.connect();
    assertEquals(await client.request({ type: "Heartbeat", request_id: 1, worker_local_id: 3 }), {
      type: "HeartbeatReply",
      request_id: 1,
    });
    await fetchChecked(client, 2, 3);
    const report = await client.request({
      type: "ReportTask",
      request_id: 3,
      worker_local_id: 3,
      task_id: 77,
      op: "Finish",
    });
    assertEquals(report, { type: "ReportTaskReply", request_id: 3, success: true, url: null });
    assertEquals(fx.requests.map((r) => r.request.type), ["Heartbeat", "FetchTask", "ReportTask"]);
    assertEquals(fx.requests[2].request, {
      type: "ReportTask",
      request_id: 3,
      worker_local_id: 3,
      task_id: 77,
      op: "Finish",
    });
    assertEquals(fx.connected.length, 1);
    assertTrue(fx.requests.every((r) => r.peer === fx.connected[0].id), "all requests come from one peer");
  });

  test(`${name}: 1,000 sequential requests from one client are answered in order`, async () => {
    await using fx = await start();
    const { client } = await fx.connect();
    for (let i = 0; i < 1000; i++) await fetchChecked(client, i, 5);
    assertEquals(fx.requests.map((r) => r.request.request_id), Array.from({ length: 1000 }, (_, i) => i));
  });

  test(`${name}: pipelined requests are received in order and answered with their own request_ids`, async () => {
    const count = 500;
    // The server holds every reply until all requests are in, then answers in reverse order.
    const held: (() => void)[] = [];
    await using fx = await start(async (request) => {
      await new Promise<void>((resolve) => {
        held.push(resolve);
        // Released from a timer, once every handler is parked on its await.
        if (held.length === count) setTimeout(() => held.reverse().forEach((release) => release()), 0);
      });
      return {
        type: "FetchTaskReply",
        request_id: request.request_id,
        task: managedTask(request.request_id, ["pipelined", String(request.request_id)]),
      };
    });
    const { client } = await fx.connect();
    const base = 2 ** 40; // ids far from 0..count prove matching by id, not by position
    const completed: number[] = [];
    const replies = await within(
      Promise.all(Array.from({ length: count }, async (_, i) => {
        const reply = await client.request(fetchTask(base + i, 9));
        completed.push(base + i);
        return reply;
      })),
      "pipelined replies",
    );
    for (const [i, reply] of replies.entries()) {
      assertEquals(reply.request_id, base + i);
      assertEquals(reply.type === "FetchTaskReply" ? reply.task?.spec.args : null, ["pipelined", String(base + i)]);
    }
    const sent = Array.from({ length: count }, (_, i) => base + i);
    assertEquals(fx.requests.map((r) => r.request.request_id), sent, "requests arrive in the order sent");
    assertEquals(completed, [...sent].reverse(), "replies arrive in the order the server sent them");
  });

  test(`${name}: 64 concurrent clients × 100 requests each are all answered correctly`, async () => {
    await using fx = await start();
    const clients = await Promise.all(Array.from({ length: 64 }, () => fx.connect()));
    await within(
      Promise.all(clients.map(async ({ client }, wid) => {
        // Half sequential, half pipelined in bursts of 10.
        for (let i = 0; i < 50; i++) await fetchChecked(client, i, wid);
        for (let i = 50; i < 100; i += 10) {
          await Promise.all(Array.from({ length: 10 }, (_, k) => fetchChecked(client, i + k, wid)));
        }
      })),
      "6,400 replies",
      120_000,
    );
    assertEquals(fx.requests.length, 6400);
    assertEquals(new Set(fx.connected.map((p) => p.id)).size, 64, "64 distinct peers");
    for (let wid = 0; wid < 64; wid++) {
      const peers = new Set(fx.requests.filter((r) => r.request.worker_local_id === wid).map((r) => r.peer));
      assertEquals(peers.size, 1, `worker ${wid} talks through one connection`);
    }
  });

  test(`${name}: 1 MiB messages travel in both directions`, async () => {
    const cache = new Map<number, string>();
    const big = (seed: number): string => {
      if (!cache.has(seed)) cache.set(seed, bigString(MiB, seed));
      return cache.get(seed)!;
    };
    await using fx = await start((request) => {
      if (request.type === "ReportTask") {
        const op = request.op;
        const value = typeof op === "object" && "Submit" in op ? op.Submit.task_spec.envs.BIG : undefined;
        const expected = big(request.task_id);
        return {
          type: "ReportTaskReply",
          request_id: request.request_id,
          success: value === expected,
          error: value === expected ? null : `BIG env differs (${value?.length ?? "no"} chars)`,
        };
      }
      if (request.type === "FetchTask") {
        return {
          type: "FetchTaskReply",
          request_id: request.request_id,
          task: managedTask(request.request_id, ["run", big(request.request_id)]),
        };
      }
      return { type: "HeartbeatReply", request_id: request.request_id };
    });
    const { client } = await fx.connect();
    const submit = (id: number): WorkerRequest => ({
      type: "ReportTask",
      request_id: id,
      worker_local_id: 1,
      task_id: id,
      op: { Submit: { group_name: "g", task_spec: { args: ["x"], envs: { BIG: big(id) } } } },
    });
    const up = await client.request(submit(1));
    assertEquals(up, { type: "ReportTaskReply", request_id: 1, success: true, error: null });
    const down = await client.request(fetchTask(2));
    assertTrue(down.type === "FetchTaskReply" && down.task !== null);
    assertEquals(down.task.spec.args[1].length, MiB);
    assertTrue(down.task.spec.args[1] === big(2), "1 MiB task arg arrives intact");
    // Large and small messages pipelined together, both ways, do not interleave.
    const mixed: WorkerRequest[] = [];
    for (let id = 10; id < 22; id++) {
      mixed.push(
        id % 3 === 0 ? submit(id) : id % 3 === 1 ? fetchTask(id) : {
          type: "Heartbeat",
          request_id: id,
          worker_local_id: 1,
        },
      );
    }
    const replies = await within(Promise.all(mixed.map((r) => client.request(r))), "mixed large replies");
    for (const [i, reply] of replies.entries()) {
      const id = mixed[i].request_id;
      assertEquals(reply.request_id, id);
      if (id % 3 === 0) assertEquals(reply.type === "ReportTaskReply" && reply.success, true);
      if (id % 3 === 1) assertTrue(reply.type === "FetchTaskReply" && reply.task?.spec.args[1] === big(id));
      if (id % 3 === 2) assertEquals(reply.type, "HeartbeatReply");
    }
  });

  test(`${name}: control messages reach the right client`, async () => {
    await using fx = await start();
    const clients = await Promise.all(Array.from({ length: 4 }, () => fx.connect()));
    for (const [wid, { client }] of clients.entries()) {
      await client.request({ type: "Heartbeat", request_id: 0, worker_local_id: wid });
    }
    for (let wid = 0; wid < 4; wid++) fx.peersByWorker.get(wid)!.control({ type: "CancelTask", task_id: wid * 10 });
    fx.peersByWorker.get(2)!.control({ type: "Shutdown", graceful: true });
    // A reply sent after the control messages arrives after them on the same connection.
    for (const [wid, { client }] of clients.entries()) {
      await client.request({ type: "Heartbeat", request_id: 1, worker_local_id: wid });
    }
    await eventually(() => clients.every((c, wid) => c.controls.length === (wid === 2 ? 2 : 1)), "control messages");
    for (const [wid, { controls }] of clients.entries()) {
      const expected: WorkerControl[] = [{ type: "CancelTask", task_id: wid * 10 }];
      if (wid === 2) expected.push({ type: "Shutdown", graceful: true });
      assertEquals(controls, expected, `controls of worker ${wid}`);
    }
  });

  test(`${name}: a SIGKILLed client process is seen as disconnected`, async () => {
    await using fx = await start();
    const child = await PeerProcess.start("client", transport.name, fx.server.address, 42);
    let killed = false;
    try {
      await eventually(() => fx.peersByWorker.has(42), "the child's heartbeat");
      const peer = fx.peersByWorker.get(42)!;
      assertEquals(fx.disconnected.length, 0);
      const status = await child.kill();
      killed = true;
      assertEquals(status.signal, "SIGKILL");
      await within(peer.closed, "peer.closed of the killed client");
      assertEquals((await fx.disconnectedPeer(peer.id)).id, peer.id);
    } finally {
      if (!killed) await child.kill();
    }
    // The server keeps serving.
    const { client } = await fx.connect();
    await fetchChecked(client, 1, 1);
  });

  test(`${name}: a client that closes is seen as disconnected; control to it is dropped`, async () => {
    await using fx = await start();
    const { client } = await fx.connect();
    await client.request({ type: "Heartbeat", request_id: 0, worker_local_id: 8 });
    const peer = fx.peersByWorker.get(8)!;
    client.close();
    await within(client.closed, "client.closed");
    await within(peer.closed, "peer.closed");
    await fx.disconnectedPeer(peer.id);
    peer.control({ type: "Shutdown", graceful: false }); // must not throw
    await assertRejects(() => client.request(fetchTask(1)), "a request after close rejects");
  });

  test(`${name}: a SIGKILLed server process ends the client: closed resolves, pending requests reject`, async () => {
    const addr = await address();
    await using child = await PeerProcess.start("server", transport.name, addr);
    const client = await transport.connect(addr, () => {});
    try {
      assertEquals(
        (await client.request({ type: "Heartbeat", request_id: 1, worker_local_id: 1 })).type,
        "HeartbeatReply",
      );
      const pending = [client.request(fetchTask(2)), client.request(fetchTask(3))]; // never answered
      const outcomes = pending.map((p) => p.then(() => "resolved", (e: Error) => e.message));
      await child.kill();
      await within(client.closed, "client.closed after the server died");
      const messages = await within(Promise.all(outcomes), "pending requests to settle");
      for (const message of messages) assertTrue(message !== "resolved", "a pending request rejects");
      await assertRejects(() => client.request(fetchTask(4)), "a request after the server died rejects");
    } finally {
      client.close();
    }
  });

  test(`${name}: server close() ends every client and rejects their pending requests`, async () => {
    const fx = await start((request) =>
      request.type === "FetchTask"
        ? new Promise<never>(() => {/* never answered */})
        : { type: "HeartbeatReply", request_id: request.request_id }
    );
    const a = await fx.connect();
    const b = await fx.connect();
    await a.client.request({ type: "Heartbeat", request_id: 0, worker_local_id: 0 });
    const pending = a.client.request(fetchTask(1)).then(() => "resolved", (e: Error) => e.message);
    await eventually(() => fx.requests.length === 2, "the FetchTask to reach the server");
    await within(fx.server.close(), "server.close()");
    await within(a.client.closed, "client a closed");
    await within(b.client.closed, "client b closed");
    assertTrue((await within(pending, "the pending request")) !== "resolved", "the pending request rejects");
    assertEquals(fx.disconnected.length, 2);
    await fx[Symbol.asyncDispose]();
  });

  test(`${name}: schema violations get an Error reply and the connection keeps working`, async () => {
    await using fx = await start();
    const { client } = await fx.connect();
    const bad = (message: unknown) => client.request(message as WorkerRequest);
    const negative = await bad({ type: "FetchTask", request_id: 5, worker_local_id: -1 });
    assertEquals(negative.type, "Error");
    assertEquals(negative.request_id, 5);
    assertIncludes(negative.type === "Error" ? negative.msg : "", "worker_local_id");
    const unknown = await bad({ type: "Launch", request_id: 6, worker_local_id: 1 });
    assertEquals(unknown.type === "Error" && unknown.request_id, 6);
    assertIncludes(unknown.type === "Error" ? unknown.msg : "", "Launch");
    const badOp = await bad({ type: "ReportTask", request_id: 7, worker_local_id: 1, task_id: 1, op: "Explode" });
    assertEquals(badOp.type === "Error" && badOp.request_id, 7);
    await fetchChecked(client, 8, 1);
    assertEquals(fx.requests.length, 1, "only the valid request reaches the handler");
  });

  test(`${name}: a failing handler is answered with Error and the connection keeps working`, async () => {
    await using fx = await start((request) => {
      if (request.request_id === 13) throw new Error("handler bug");
      return { type: "HeartbeatReply", request_id: request.request_id };
    });
    const { client } = await fx.connect();
    const failed = await client.request({ type: "Heartbeat", request_id: 13, worker_local_id: 1 });
    assertEquals(failed.type, "Error");
    assertEquals(failed.request_id, 13);
    assertEquals(
      (await client.request({ type: "Heartbeat", request_id: 14, worker_local_id: 1 })).type,
      "HeartbeatReply",
    );
  });

  test(`${name}: messages over the limit are refused without breaking the connection`, async () => {
    const huge = "x".repeat(MAX_IPC_MESSAGE_BYTES + 1);
    await using fx = await start((request) =>
      request.type === "FetchTask"
        ? { type: "FetchTaskReply", request_id: request.request_id, task: managedTask(1, ["run", huge]) }
        : { type: "HeartbeatReply", request_id: request.request_id }
    );
    const { client } = await fx.connect();
    const tooLarge: WorkerRequest = {
      type: "ReportTask",
      request_id: 1,
      worker_local_id: 1,
      task_id: 1,
      op: { Submit: { group_name: "g", task_spec: { args: ["x"], envs: { HUGE: huge } } } },
    };
    const refused = await assertRejects(() => client.request(tooLarge), "an oversize request is refused");
    assertIncludes(refused.message, String(MAX_IPC_MESSAGE_BYTES));
    const reply = await client.request(fetchTask(2));
    assertEquals(reply.type, "Error", "an oversize reply becomes an Error");
    assertEquals(reply.request_id, 2);
    assertEquals(
      (await client.request({ type: "Heartbeat", request_id: 3, worker_local_id: 1 })).type,
      "HeartbeatReply",
    );
    assertEquals(fx.disconnected.length, 0);
  });

  const raw = options.raw;
  const rawTest = (title: string, fn: (raw: RawIpcConnector) => Promise<void>) => {
    if (raw) test(`${name}: ${title}`, () => fn(raw));
    else Deno.test({ name: `${name}: ${title} (no raw connector)`, ignore: true, fn: () => {} });
  };

  rawTest("malformed frames get an Error reply and the connection keeps working", async (raw) => {
    await using fx = await start();
    const conn = await raw.connect(fx.server.address);
    try {
      const cases: [Uint8Array, number | null, string][] = [
        [encoder.encode('{"type": "FetchTask", "request_id": 41, "worker_local_id": '), 41, "malformed JSON"],
        [encoder.encode("not json at all"), null, "malformed JSON"],
        [new Uint8Array(0), null, "malformed JSON"],
        [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), null, "UTF-8"],
        [encoder.encode("[1, 2, 3]"), null, "JSON object"],
        [encoder.encode('{"request_id": 42}'), 42, "type"],
        [
          encoder.encode('{"type": "Teleport", "request_id": 44, "worker_local_id": 2}'),
          44,
          'unknown request type "Teleport"',
        ],
        [
          encoder.encode('{"type": "TaskState", "request_id": 45, "worker_local_id": 2, "task_uuid": "nope"}'),
          45,
          "invalid TaskState: task_uuid",
        ],
      ];
      for (const [body, requestId, text] of cases) {
        await conn.sendBody(body);
        const reply = await within(conn.receive(), "an Error reply") as Record<string, unknown>;
        assertEquals(reply.type, "Error");
        assertEquals(reply.request_id ?? null, requestId);
        assertIncludes(String(reply.msg), text);
      }
      await conn.sendJson(fetchTask(43, 2));
      const reply = await within(conn.receive(), "the reply to a valid request") as Record<string, unknown>;
      assertEquals([reply.type, reply.request_id], ["FetchTaskReply", 43]);
      assertEquals(fx.disconnected.length, 0);
    } finally {
      await conn.close();
    }
  });

  rawTest("an oversize frame closes that connection only", async (raw) => {
    await using fx = await start();
    const { client: bystander } = await fx.connect();
    await fetchChecked(bystander, 1, 1);
    const conn = await raw.connect(fx.server.address);
    try {
      await conn.sendOversize(MAX_IPC_MESSAGE_BYTES + 1);
      assertEquals(await within(conn.receive(), "the server to close the connection"), null);
    } finally {
      await conn.close();
    }
    await eventually(() => fx.disconnected.length === 1, "onDisconnect of the offender");
    await fetchChecked(bystander, 2, 1);
    const { client: newcomer } = await fx.connect();
    await fetchChecked(newcomer, 1, 2);
  });
}

/**
 * The manager's WebSocket link against a scripted coordinator: requests made
 * while disconnected wait and go out in order after the heartbeat, a request
 * cut off by a lost connection is sent again, pushes reach the handler in
 * order, `Error` replies reject, heartbeats are never queued, a rejected
 * token leads to a new registration, and the backoff doubles with jitter up
 * to its cap.
 */
import { assertEquals, assertRejects, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import {
  CoordinatorConnection,
  CoordinatorRequestError,
  NotConnectedError,
} from "../manager/connection/coordinator_connection.ts";
import { Backoff } from "../manager/connection/backoff.ts";
import { ManagerApi } from "../manager/manager_api.ts";
import { createLogger } from "../shared/log/logger.ts";
import type { CoordinatorMessage, CoordinatorPush } from "../shared/wire/manager_ws.ts";

type Frame = Record<string, unknown> & { type: string; request_id?: number };

/** A scripted `/ws/managers` endpoint that can be stopped and started again on one port. */
class FakeCoordinator {
  readonly port: number;
  readonly frames: Frame[] = [];
  /** Tokens accepted on upgrade. */
  tokens = new Set(["good"]);
  /** Answer to a frame: a message to send, "close" to drop the connection, or null for none. */
  reply: (frame: Frame, socket: WebSocket) => CoordinatorMessage | "close" | null = (frame) => defaultReply(frame);
  #server: Deno.HttpServer | null = null;
  readonly #sockets = new Set<WebSocket>();

  constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(): void {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: this.port, onListen() {} }, (req) => {
      const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
      if (!this.tokens.has(token)) return Response.json({ msg: "invalid or expired token" }, { status: 401 });
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return Response.json({ msg: "expects a WebSocket upgrade" }, { status: 400 });
      }
      const { socket, response } = Deno.upgradeWebSocket(req);
      this.#sockets.add(socket);
      socket.addEventListener("close", () => this.#sockets.delete(socket));
      socket.addEventListener("message", (event) => {
        const frame = JSON.parse(event.data as string) as Frame;
        this.frames.push(frame);
        const answer = this.reply(frame, socket);
        if (answer === "close") socket.close(1011, "scripted drop");
        else if (answer !== null) socket.send(JSON.stringify(answer));
      });
      return response;
    });
  }

  /** Sends a push on every open connection. */
  push(message: CoordinatorPush): void {
    for (const socket of this.#sockets) socket.send(JSON.stringify(message));
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.close(1001, "going away");
    await this.#server?.shutdown();
    this.#server = null;
  }
}

function defaultReply(frame: Frame): CoordinatorMessage | null {
  const id = frame.request_id ?? 0;
  switch (frame.type) {
    case "Heartbeat":
      return { type: "HeartbeatAck", request_id: id, assigned_suite_uuid: null };
    case "ReportTask":
      return { type: "TaskReportAck", request_id: id, success: true };
    default:
      return { type: "Ack", request_id: id, success: true };
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const TASK = "0b6f2a52-4a3c-4e4f-9f53-2d1b3c1e7a11";
const SUITE = "6c0bcbdd-03aa-442f-8238-bf0a6e2a3549";

/** A connection to `fake` with fast backoff; log lines are captured. */
function connect(fake: FakeCoordinator, token = { value: "good" }) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("test", "debug", {}, (line) => lines.push(JSON.parse(line)));
  const pushes: CoordinatorPush[] = [];
  const api = new ManagerApi(fake.url, () => token.value);
  let registrations = 0;
  const connection: CoordinatorConnection = new CoordinatorConnection({
    baseUrl: fake.url,
    token: () => token.value,
    log,
    onPush: (push) => pushes.push(push),
    onOpen: () => {
      connection.request({ type: "Heartbeat", state: "Idle" }, { resend: false }).catch(() => {});
    },
    checkToken: () => api.checkToken(),
    onTokenRejected: () => {
      registrations++;
      token.value = "good";
      return Promise.resolve();
    },
    backoff: { initialMs: 50, maxMs: 200 },
  });
  const logged = (msg: string) => lines.some((l) => l.msg === msg);
  return { connection, lines, pushes, logged, registrations: () => registrations };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("requests made while disconnected are sent in order after reconnection, after the heartbeat", async () => {
  const fake = new FakeCoordinator(freePort());
  const { connection, logged } = connect(fake);
  try {
    connection.start();
    const returned = connection.request({ type: "ReturnTasks", task_uuids: [TASK] });
    const aborted = connection.request({ type: "AbortTask", task_uuid: TASK, reason: "crashed twice" });
    await until("a failed attempt", () => logged("WebSocket connection failed"));
    assertEquals(connection.pendingRequests, 2);
    fake.start();
    assertEquals((await returned).type, "Ack");
    assertEquals((await aborted).type, "Ack");
    assertEquals(fake.frames.map((f) => f.type), ["Heartbeat", "ReturnTasks", "AbortTask"]);
    assertTrue(logged("WebSocket connected"));
  } finally {
    await connection.close();
    await fake.stop();
  }
});

test("a request cut off by a lost connection is sent again after reconnection", async () => {
  const fake = new FakeCoordinator(freePort());
  let drops = 0;
  fake.reply = (frame) => {
    if (frame.type === "ReportTask" && drops === 0) {
      drops++;
      return "close";
    }
    return defaultReply(frame);
  };
  fake.start();
  const { connection, logged } = connect(fake);
  try {
    connection.start();
    await until("the connection", () => connection.connected);
    const reply = await connection.request({
      type: "ReportTask",
      task_id: 7,
      attempt: 1,
      op: { Commit: { exit_status: 0, msg: null } },
    });
    assertEquals(reply.type, "TaskReportAck");
    const reports = fake.frames.filter((f) => f.type === "ReportTask");
    assertEquals(reports.length, 2);
    assertEquals(reports[0], reports[1]);
    assertTrue(logged("WebSocket connection lost"));
    assertTrue(logged("WebSocket reconnected"));
    assertEquals(connection.pendingRequests, 0);
  } finally {
    await connection.close();
    await fake.stop();
  }
});

test("pushes reach the handler in order; an Error reply rejects its request; heartbeats are never queued", async () => {
  const fake = new FakeCoordinator(freePort());
  fake.reply = (frame) =>
    frame.type === "FetchTask"
      ? { type: "Error", request_id: frame.request_id ?? null, msg: "max_count: too big" }
      : defaultReply(frame);
  fake.start();
  const { connection, pushes } = connect(fake);
  try {
    connection.start();
    await until("the connection", () => connection.connected);
    fake.push({ type: "CancelTask", task_uuid: TASK, reason: "by alice" });
    fake.push({ type: "SuiteReclaimed", suite_uuid: SUITE });
    fake.push({ type: "Shutdown", graceful: true });
    await until("three pushes", () => pushes.length === 3);
    assertEquals(pushes.map((p) => p.type), ["CancelTask", "SuiteReclaimed", "Shutdown"]);
    const error = await assertRejects(() => connection.request({ type: "FetchTask", max_count: 5000 }));
    assertTrue(error instanceof CoordinatorRequestError, String(error));
    assertTrue(error.message.includes("max_count: too big"));

    await fake.stop();
    await until("the disconnection", () => !connection.connected);
    const heartbeat = await assertRejects(() =>
      connection.request({ type: "Heartbeat", state: "Executing" }, { resend: false })
    );
    assertTrue(heartbeat instanceof NotConnectedError);
  } finally {
    await connection.close();
    await fake.stop();
  }
});

test("a token the coordinator rejects leads to a new registration, then the connection", async () => {
  const fake = new FakeCoordinator(freePort());
  fake.start();
  const token = { value: "revoked" };
  const { connection, registrations, logged } = connect(fake, token);
  try {
    connection.start();
    await until("the connection", () => connection.connected);
    assertEquals(registrations(), 1);
    assertTrue(logged("WebSocket connection failed"));
    assertEquals(token.value, "good");
  } finally {
    await connection.close();
    await fake.stop();
  }
});

test("the reconnect backoff doubles from 1 s up to 60 s with jitter and starts over after a reset", () => {
  const low = new Backoff({ random: () => 0 });
  const high = new Backoff({ random: () => 0.999999 });
  const lows = Array.from({ length: 9 }, () => low.next());
  const highs = Array.from({ length: 9 }, () => high.next());
  assertEquals(lows, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assertEquals(highs, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assertEquals(low.attempts, 9);
  low.reset();
  assertEquals(low.next(), 500);
});

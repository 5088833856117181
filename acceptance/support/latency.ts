/**
 * Timing of single operations against a coordinator: `timeEach` runs an
 * operation `count` times with `concurrency` callers (as `ab -n … -c …`
 * does) and returns each call's duration; `pingRoundTrips` times WebSocket
 * ping → pong on a manager connection of its own (the npm `ws` client the
 * managers use; the coordinator's server answers pings itself).
 *
 * @example
 * ```ts
 * const durations = await timeEach(1_000, 10, signal, async () => {
 *   const res = await call(url, "POST", "/suites", { token, body });
 *   if (res.status !== 201) throw new Error(res.text);
 * });
 * ```
 */
import { openWebSocket } from "../../manager/connection/websocket.ts";
import { type ManagerCredentials, managerWsUrl } from "../../tests/support/ws_manager.ts";

/**
 * Calls `operation(i)` for i = 0 … count−1, at most `concurrency` at once,
 * and returns the duration of each call in ms (in completion order); the
 * first failure rejects. Stops early on abort.
 */
export async function timeEach(
  count: number,
  concurrency: number,
  signal: AbortSignal,
  operation: (i: number) => Promise<void>,
): Promise<number[]> {
  const durations: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      signal.throwIfAborted();
      const i = next++;
      const started = performance.now();
      await operation(i);
      durations.push(performance.now() - started);
    }
  }));
  return durations;
}

/** The part of npm `ws`'s client that pings (not in `ws_client.d.ts`, which the managers need). */
interface PingingSocket {
  ping(data?: Uint8Array): void;
  on(event: "pong", listener: (data: Uint8Array) => void): void;
}

/**
 * Opens a WebSocket to the coordinator's manager endpoint as `creds`, sends
 * `count` pings one after the other (each carrying its sequence number) and
 * returns each ping → pong round trip in ms; closes the socket.
 */
export async function pingRoundTrips(
  baseUrl: string,
  creds: ManagerCredentials,
  count: number,
  signal: AbortSignal,
): Promise<number[]> {
  const socket = openWebSocket(managerWsUrl(baseUrl), { Authorization: `Bearer ${creds.token}` });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", (e) => reject(new Error(`WebSocket connection failed: ${e.message}`)), {
      once: true,
    });
  });
  const pinging = socket as unknown as PingingSocket;
  let waiting: { seq: number; resolve: () => void } | null = null;
  pinging.on("pong", (data) => {
    const seq = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
    if (waiting !== null && seq === waiting.seq) waiting.resolve();
  });
  const durations: number[] = [];
  try {
    for (let seq = 0; seq < count; seq++) {
      signal.throwIfAborted();
      const payload = new Uint8Array(4);
      new DataView(payload.buffer).setUint32(0, seq);
      const started = performance.now();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no pong to ping ${seq} within 10 s`)), 10_000);
        waiting = {
          seq,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        pinging.ping(payload);
      });
      durations.push(performance.now() - started);
    }
  } finally {
    const closed = new Promise((resolve) => socket.addEventListener("close", resolve, { once: true }));
    socket.close(1000, "latency probe done");
    await closed;
  }
  return durations;
}

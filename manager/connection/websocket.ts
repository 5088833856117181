/**
 * The WebSocket client of node managers (and of the scripted managers of the
 * tests and benchmarks): npm `ws`, which turns Nagle's algorithm off on its
 * socket. Deno's built-in client leaves it on and writes a frame's header
 * and payload separately, so every frame over about 1 KiB waited for the
 * coordinator's delayed ACK: 44 ms per `ReportTasks` of a few dozen reports
 * on loopback, against 0.1 ms with `ws` (measured with an echo server).
 */
// @ts-types="./ws_client.d.ts"
import WebSocket from "ws";
import type { WsCloseEvent, WsErrorEvent, WsMessageEvent } from "./ws_client.d.ts";

export { WebSocket };
export type { WsCloseEvent, WsErrorEvent, WsMessageEvent };

/** Opens a client connection to `url` with extra request headers (e.g. `Authorization`). */
export function openWebSocket(url: string, headers: Record<string, string>): WebSocket {
  return new WebSocket(url, { headers });
}

/**
 * The part of npm `ws` the manager's WebSocket client uses (its
 * browser-style interface), typed here: `@types/ws` would bring npm
 * `@types/node` into the type check, which clashes with Deno's built-in Node
 * types. At run time the real package is loaded.
 */

/** An event of the socket. */
export interface WsEvent {
  readonly type: string;
}

/** A received message: text frames arrive as strings. */
export interface WsMessageEvent extends WsEvent {
  readonly data: unknown;
}

/** The socket closed. */
export interface WsCloseEvent extends WsEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** The socket failed (connection refused, a non-101 answer such as 401, a protocol error). */
export interface WsErrorEvent extends WsEvent {
  readonly message: string;
}

interface WsEventMap {
  open: WsEvent;
  message: WsMessageEvent;
  close: WsCloseEvent;
  error: WsErrorEvent;
}

/** Connection options. */
export interface WsClientOptions {
  headers?: Record<string, string>;
  /** Largest message accepted (bytes). */
  maxPayload?: number;
}

/** A WebSocket client connection (`ws`'s `WebSocket`). */
export default class WebSocket {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  constructor(url: string, options?: WsClientOptions);
  readonly readyState: 0 | 1 | 2 | 3;
  /** Sends a text (string) or binary frame. */
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener<K extends keyof WsEventMap>(
    type: K,
    listener: (event: WsEventMap[K]) => void,
    options?: { once?: boolean },
  ): void;
  removeEventListener<K extends keyof WsEventMap>(type: K, listener: (event: WsEventMap[K]) => void): void;
}

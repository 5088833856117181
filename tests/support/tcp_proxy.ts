/**
 * A loopback TCP proxy standing between a manager and its coordinator, to
 * simulate the network failing: `cut()` drops every open connection and
 * refuses new ones (accepted, then closed at once) until `restore()`.
 */

/** A running proxy. */
export interface TcpProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /** Drops every connection and refuses new ones. */
  cut(): void;
  /** Forwards new connections again. */
  restore(): void;
  /** Connections accepted and forwarded so far. */
  forwarded(): number;
}

/** Starts a proxy forwarding to `target` (`host:port`). */
export function startTcpProxy(target: { hostname: string; port: number }): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let isCut = false;
  let count = 0;
  const closeQuietly = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // already closed by the other side
    }
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable, { preventClose: true });
    } catch {
      // either side went away; both are closed below
    }
    closeQuietly(from);
    closeQuietly(to);
  };
  const forward = async (client: Deno.Conn) => {
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect(target);
    } catch {
      closeQuietly(client);
      return;
    }
    if (isCut) {
      closeQuietly(client);
      closeQuietly(upstream);
      return;
    }
    count++;
    open.add(client);
    open.add(upstream);
    await Promise.all([pipe(client, upstream), pipe(upstream, client)]);
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        if (isCut) closeQuietly(conn);
        else forward(conn);
      }
    } catch {
      // listener closed
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      isCut = true;
      for (const conn of [...open]) closeQuietly(conn);
    },
    restore() {
      isCut = false;
    },
    forwarded: () => count,
    async [Symbol.asyncDispose]() {
      isCut = true;
      listener.close();
      for (const conn of [...open]) closeQuietly(conn);
      await accepting;
    },
  };
}

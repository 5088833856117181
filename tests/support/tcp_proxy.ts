/**
 * A loopback TCP proxy standing between two processes (a manager and its
 * coordinator, a coordinator and PostgreSQL), to simulate the network
 * failing without root-only tools:
 *
 * - `cut()` drops every open connection and refuses new ones until
 *   `restore()`: accepted, then closed at once, or with `cut("refuse")` not
 *   accepted at all (the port stops listening: connection refused, as
 *   `iptables -j REJECT --reject-with tcp-reset` answers).
 * - `stall()` forwards nothing any more, in either direction, while the
 *   connections stay open and new ones are accepted, until `restore()`
 *   delivers what was held back (what `iptables -j DROP` does to TCP for
 *   less than its retransmission timeout): the peers see no error, only
 *   silence.
 */

/** A running proxy. */
export interface TcpProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Drops every connection and refuses new ones: accepts and closes them (`close`), or stops listening (`refuse`). */
  cut(how?: "close" | "refuse"): void;
  /** Holds back every byte (open connections stay open, new ones are accepted). */
  stall(): void;
  /** Forwards again (new connections, and what a stall held back). */
  restore(): void;
  /** Connections accepted and forwarded so far. */
  forwarded(): number;
}

/** Starts a proxy forwarding to `target` (`host:port`). */
export function startTcpProxy(target: { hostname: string; port: number }): TcpProxy {
  let listener: Deno.Listener | null = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.Conn>();
  let isCut = false;
  let stalled: { resume: () => void; resumed: Promise<void> } | null = null;
  let count = 0;
  const closeQuietly = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // already closed by the other side
    }
  };
  /** Resolves once no stall holds traffic back. */
  const flowing = async () => {
    while (stalled !== null) await stalled.resumed;
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        await flowing();
        const n = await from.read(buffer);
        if (n === null) break;
        await flowing();
        for (let written = 0; written < n;) written += await to.write(buffer.subarray(written, n));
      }
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
  const accept = async (from: Deno.Listener) => {
    try {
      for await (const conn of from) {
        if (isCut) closeQuietly(conn);
        else forward(conn);
      }
    } catch {
      // listener closed
    }
  };
  const accepting = [accept(listener)];
  const stopListening = () => {
    try {
      listener?.close();
    } catch {
      // already closed
    }
    listener = null;
  };
  const resume = () => {
    const held = stalled;
    stalled = null;
    held?.resume();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    cut(how = "close") {
      isCut = true;
      if (how === "refuse") stopListening();
      for (const conn of [...open]) closeQuietly(conn);
      resume(); // held pipes fail on their closed connections and end
    },
    stall() {
      if (stalled !== null) return;
      let release = () => {};
      const resumed = new Promise<void>((resolve) => (release = resolve));
      stalled = { resume: release, resumed };
    },
    restore() {
      isCut = false;
      if (listener === null) {
        listener = Deno.listen({ hostname: "127.0.0.1", port });
        accepting.push(accept(listener));
      }
      resume();
    },
    forwarded: () => count,
    async [Symbol.asyncDispose]() {
      isCut = true;
      stopListening();
      for (const conn of [...open]) closeQuietly(conn);
      resume();
      await Promise.all(accepting);
    },
  };
}

/**
 * A local TCP balancer in front of several coordinators, as a deployment
 * puts nginx or HAProxy in front of them: it listens on one loopback port
 * and forwards each new connection to a live backend, taking the backends in
 * turn (round-robin). A backend that refuses the connection (its process is
 * dead) is skipped for that connection, so while one coordinator is down
 * every new connection goes to the others; once it listens again it gets its
 * turn again. A connection stays with its backend until either side closes:
 * when a backend dies, the connections it held are dropped, as a real
 * balancer drops them.
 *
 * @example
 * ```ts
 * await using balancer = startBalancer([{ hostname: "127.0.0.1", port: 5001 }, { hostname: "127.0.0.1", port: 5002 }]);
 * await fetch(`${balancer.url}/health`);
 * ```
 */

/** A backend address. */
export interface Backend {
  hostname: string;
  port: number;
}

/** Per-backend counters. */
export interface BackendStats {
  backend: string;
  /** Connections forwarded to it so far. */
  forwarded: number;
  /** Connections to it open now. */
  open: number;
  /** Connection attempts it refused (or that timed out). */
  refused: number;
}

/** A running balancer. */
export interface Balancer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Counters per backend, in the order given. */
  stats(): BackendStats[];
  /** Client connections refused because no backend answered. */
  unserved(): number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/** Options of `startBalancer`. */
export interface BalancerOptions {
  /** Port to listen on (default: a free one). */
  port?: number;
  /** How long a connection attempt to one backend may take before the next is tried (default 2 s). */
  connectTimeoutMs?: number;
}

/** Connects to `backend`, or rejects after `timeoutMs`. */
async function connectWithin(backend: Backend, timeoutMs: number): Promise<Deno.Conn> {
  const attempt = Deno.connect(backend);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`connection to ${backend.hostname}:${backend.port} timed out`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([attempt, timeout]);
  } catch (error) {
    // A connection that completes after the timeout is closed at once.
    attempt.then((conn) => conn.close(), () => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a round-robin balancer over `backends` on loopback. */
export function startBalancer(backends: Backend[], options: BalancerOptions = {}): Balancer {
  if (backends.length === 0) throw new Error("a balancer needs at least one backend");
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: options.port ?? 0 });
  const stats: BackendStats[] = backends.map((b) => ({
    backend: `${b.hostname}:${b.port}`,
    forwarded: 0,
    open: 0,
    refused: 0,
  }));
  const open = new Set<Deno.Conn>();
  let next = 0;
  let unserved = 0;
  let closed = false;

  const closeQuietly = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // already closed
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
    open.add(client);
    const first = next;
    next = (next + 1) % backends.length;
    for (let i = 0; i < backends.length; i++) {
      const index = (first + i) % backends.length;
      let upstream: Deno.Conn;
      try {
        upstream = await connectWithin(backends[index], connectTimeoutMs);
      } catch {
        stats[index].refused++;
        continue;
      }
      if (closed || !open.has(client)) {
        closeQuietly(upstream);
        closeQuietly(client);
        return;
      }
      open.add(upstream);
      stats[index].forwarded++;
      stats[index].open++;
      await Promise.all([pipe(client, upstream), pipe(upstream, client)]);
      stats[index].open--;
      return;
    }
    unserved++;
    closeQuietly(client);
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        if (closed) closeQuietly(conn);
        else void forward(conn);
      }
    } catch {
      // listener closed
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  const close = async () => {
    if (!closed) {
      closed = true;
      listener.close();
    }
    for (const conn of [...open]) closeQuietly(conn);
    await accepting;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats: () => stats.map((s) => ({ ...s })),
    unserved: () => unserved,
    close,
    [Symbol.asyncDispose]: close,
  };
}

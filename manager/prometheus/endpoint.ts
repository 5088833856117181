/**
 * The manager's metrics listener (`metrics_bind`): a tiny HTTP server that
 * answers `GET /metrics` (and `HEAD`) with the registry in the Prometheus
 * text format, 404 for any other path and 405 for other methods. It has no
 * authentication (docs/security.md "Metrics"): a bare port binds loopback
 * only. Port 0 picks a free port; the bound address is logged
 * (`metrics endpoint listening {url}`).
 */
import type { Registry } from "prom-client";
import type { Logger } from "../../shared/log/logger.ts";

/** Where the listener binds. */
export interface MetricsBind {
  hostname: string;
  port: number;
}

/**
 * Parses `metrics_bind`: `PORT` (loopback: `127.0.0.1:PORT`), `HOST:PORT` or
 * `[V6]:PORT`; null when it is none of these.
 */
export function parseMetricsBind(value: string): MetricsBind | null {
  const match = /^(\d+)$/.exec(value) ?? /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]]+):(\d+)$/.exec(value);
  if (match === null) return null;
  const [hostname, port] = match.length === 2 ? ["127.0.0.1", Number(match[1])] : [match[1], Number(match[2])];
  return port <= 65_535 ? { hostname, port } : null;
}

/** A running listener. */
export interface MetricsEndpoint {
  /** e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** Stops listening. */
  close(): Promise<void>;
}

/** Starts serving `registry` on `bind`; rejects when the address cannot be bound. */
export async function serveMetrics(bind: MetricsBind, registry: Registry, log: Logger): Promise<MetricsEndpoint> {
  let listening: (port: number) => void = () => {};
  const bound = new Promise<number>((resolve) => listening = resolve);
  const server = Deno.serve(
    { hostname: bind.hostname, port: bind.port, onListen: (addr) => listening(addr.port) },
    async (req) => {
      if (new URL(req.url).pathname !== "/metrics") return new Response("not found\n", { status: 404 });
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response("method not allowed\n", { status: 405, headers: { Allow: "GET, HEAD" } });
      }
      const text = await registry.metrics();
      return new Response(req.method === "HEAD" ? null : text, {
        headers: { "Content-Type": registry.contentType, "Cache-Control": "no-store" },
      });
    },
  );
  const port = await bound;
  const host = bind.hostname.includes(":") ? `[${bind.hostname}]` : bind.hostname;
  const url = `http://${host}:${port}/metrics`;
  log.info("metrics endpoint listening", { url });
  return { url, close: () => server.shutdown() };
}

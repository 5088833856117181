/**
 * TCP traffic of given processes to one port, from the kernel's per-socket
 * counters (`ss -tinp`): bytes and data-carrying segments each way, summed
 * over their established connections to that port (for managers and their
 * coordinator: the WebSocket's bandwidth, plus their few HTTP calls).
 * Counters live as long as the connection: read them before the processes
 * disconnect.
 */

/** Traffic of some connections, from the client processes' side. */
export interface TcpTraffic {
  connections: number;
  bytesSent: number;
  bytesReceived: number;
  /** Segments carrying data, sent and received. */
  segmentsSent: number;
  segmentsReceived: number;
}

const counter = (info: string, name: string): number => Number(new RegExp(`\\b${name}:(\\d+)`).exec(info)?.[1] ?? 0);

/** Sums the counters of the established connections of `pids` to local port `port`. */
export async function tcpTrafficTo(port: number, pids: readonly number[]): Promise<TcpTraffic> {
  const out = await new Deno.Command("ss", {
    args: ["-tinpH", "state", "established", "dport", "=", `:${port}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ss failed: ${new TextDecoder().decode(out.stderr)}`);
  const wanted = new Set(pids);
  const traffic: TcpTraffic = { connections: 0, bytesSent: 0, bytesReceived: 0, segmentsSent: 0, segmentsReceived: 0 };
  // Each socket: a line with the addresses and `users:((…,pid=N,…))`, then an indented line of counters.
  const lines = new TextDecoder().decode(out.stdout).split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (/^\s/.test(lines[i]) || lines[i] === "") continue;
    const pid = Number(/pid=(\d+)/.exec(lines[i])?.[1] ?? -1);
    const info = lines[i + 1] !== undefined && /^\s/.test(lines[i + 1]) ? lines[i + 1] : "";
    if (!wanted.has(pid)) continue;
    traffic.connections++;
    traffic.bytesSent += counter(info, "bytes_sent");
    traffic.bytesReceived += counter(info, "bytes_received");
    traffic.segmentsSent += counter(info, "data_segs_out");
    traffic.segmentsReceived += counter(info, "data_segs_in");
  }
  return traffic;
}

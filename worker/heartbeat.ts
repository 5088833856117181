/**
 * The worker's heartbeat: `POST /workers/heartbeat` every `heartbeat_interval`
 * until the worker stops. A 401 means the coordinator removed the worker;
 * other failures (coordinator unreachable, errors) are logged and the next
 * beat is tried on schedule, as in the existing worker.
 */
import { ClientError } from "../shared/client/client.ts";
import type { WorkerClient } from "../shared/client/worker_client.ts";
import type { Logger } from "../shared/log/logger.ts";
import { pause } from "./pause.ts";

/** Options of `runHeartbeat`. */
export interface HeartbeatOptions {
  client: WorkerClient;
  intervalMs: number;
  log: Logger;
  /** Ends the loop. */
  signal: AbortSignal;
  /** Called once when the coordinator answers 401. */
  onRemoved: () => void;
}

/** Beats until `signal` aborts or the worker is removed. */
export async function runHeartbeat(o: HeartbeatOptions): Promise<void> {
  for (;;) {
    await pause(o.intervalMs, o.signal);
    if (o.signal.aborted) return;
    try {
      await o.client.heartbeat(o.signal);
      o.log.debug("heartbeat sent");
    } catch (error) {
      if (o.signal.aborted) return;
      if (error instanceof ClientError && error.status === 401) {
        o.log.warn("heartbeat rejected: worker removed by coordinator", { error: error.msg });
        o.onRemoved();
        return;
      }
      o.log.warn("heartbeat failed", { error: error instanceof ClientError ? error.msg : error });
    }
  }
}

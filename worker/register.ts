/**
 * Worker registration: `POST /workers` with the user token, carrying the
 * configured tags, labels, groups (`g` or `g:role`) and token lifetime.
 */
import { registerWorker } from "../shared/client/worker_client.ts";
import { formatDuration } from "../shared/config/duration.ts";
import type { RegisterWorkerReq, RegisterWorkerResp } from "../shared/wire/workers.ts";
import type { WorkerConfig } from "./login.ts";

/** The registration request described by the `[worker]` configuration. */
export function registrationRequest(config: WorkerConfig): RegisterWorkerReq {
  return {
    tags: config.tags,
    labels: config.labels,
    groups: config.groups,
    ...(config.lifetime === undefined ? {} : { lifetime: formatDuration(config.lifetime) }),
  };
}

/** Registers this worker; resolves with its id and worker token. */
export async function register(config: WorkerConfig, userToken: string): Promise<RegisterWorkerResp> {
  return await registerWorker(config.coordinator_addr, userToken, registrationRequest(config));
}

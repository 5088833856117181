/**
 * A managed worker that times its IPC requests (see `ipc_timings.ts`): it
 * wraps the `unix` IPC client's `request` (the worker's only way to its
 * manager), then runs managed mode exactly as `worker/main.ts` does, and
 * writes what it measured when managed mode returns.
 *
 * Run by a manager: `--worker-binary <script of writeTimedWorkerScript>`.
 */
import { UnixClient } from "../../shared/ipc/unix_client.ts";
import type { ManagerReply, WorkerRequest } from "../../shared/wire/ipc.ts";
import { cacheRoot } from "../../worker/cache_root.ts";
import { managedMain } from "../../worker/managed.ts";
import { managedConfig } from "../../worker/managed_config.ts";
import { IPC_TIMINGS_ENV, type IpcTimings } from "./ipc_timings.ts";

const timings: IpcTimings = { pid: Deno.pid, workerLocalId: -1, fetched: [], emptyFetches: [], reports: {} };

/** Records the round trip of `request`, answered by `reply`, that took `ms`. */
function record(request: WorkerRequest, reply: ManagerReply, ms: number): void {
  if (request.type === "FetchTask") {
    if (reply.type === "FetchTaskReply" && reply.task !== null) timings.fetched.push(ms);
    else timings.emptyFetches.push(ms);
  } else if (request.type === "ReportTask") {
    const op = typeof request.op === "string" ? request.op : Object.keys(request.op)[0];
    (timings.reports[op] ??= []).push(ms);
  }
}

const request = UnixClient.prototype.request;
UnixClient.prototype.request = function (this: UnixClient, message: WorkerRequest): Promise<ManagerReply> {
  const started = performance.now();
  return request.call(this, message).then((reply) => {
    record(message, reply, performance.now() - started);
    return reply;
  });
};

async function main(): Promise<number> {
  const env = Deno.env.toObject();
  const managed = await managedConfig(Deno.args, env);
  if (managed === null) {
    console.error(`timed_worker: arguments or environment managed mode does not take: ${Deno.args.join(" ")}`);
    return 2;
  }
  timings.workerLocalId = Number(managed.extra["worker-local-id"]);
  const code = await managedMain(managed.config, managed.extra, cacheRoot(managed.config, env));
  const dir = env[IPC_TIMINGS_ENV];
  if (dir !== undefined) {
    await Deno.writeTextFile(`${dir}/ipc-${timings.workerLocalId}-${Deno.pid}.json`, JSON.stringify(timings));
  }
  return code;
}

if (import.meta.main) Deno.exit(await main());

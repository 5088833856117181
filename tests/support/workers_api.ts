/**
 * Raw worker-API helpers for coordinator tests that play the worker side
 * over HTTP (register, fetch, report) without spawning worker processes.
 */
import { call } from "./http.ts";
import type { WorkerTaskResp } from "../../shared/wire/workers.ts";

/** A worker registered through `POST /workers`. */
export interface RawWorker {
  uuid: string;
  token: string;
  /** `GET /workers/tasks`: the claimed task or null. */
  fetch(): Promise<WorkerTaskResp | null>;
  /** `POST /workers/tasks`; returns status and body. */
  report(id: number, op: unknown): Promise<{ status: number; body: unknown }>;
  /** Finish + Commit with an exit status. */
  complete(task: WorkerTaskResp, exitStatus?: number): Promise<void>;
}

/** Registers a worker as the user holding `userToken`. */
export async function registerWorker(
  baseUrl: string,
  userToken: string,
  body: { tags?: string[]; labels?: string[]; groups?: string[]; lifetime?: string } = {},
): Promise<RawWorker> {
  const res = await call(baseUrl, "POST", "/workers", {
    token: userToken,
    body: { tags: body.tags ?? [], labels: body.labels ?? [], groups: body.groups ?? [], lifetime: body.lifetime },
  });
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${res.text}`);
  const { worker_id: uuid, token } = res.body as { worker_id: string; token: string };
  const report = async (id: number, op: unknown) => {
    const r = await call(baseUrl, "POST", "/workers/tasks", { token, body: { id, op } });
    return { status: r.status, body: r.body };
  };
  return {
    uuid,
    token,
    fetch: async () => {
      const r = await call(baseUrl, "GET", "/workers/tasks", { token });
      if (r.status !== 200) throw new Error(`fetch failed: ${r.status} ${r.text}`);
      return r.body as WorkerTaskResp | null;
    },
    report,
    complete: async (task, exitStatus = 0) => {
      const finish = await report(task.id, "Finish");
      if (finish.status !== 200) throw new Error(`finish failed: ${finish.status}`);
      const commit = await report(task.id, { Commit: { exit_status: exitStatus, msg: null } });
      if (commit.status !== 200) throw new Error(`commit failed: ${commit.status}`);
    },
  };
}

/** A minimal valid task submission for `group`. */
export function noopTask(group: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { group_name: group, task_spec: { args: ["true"] }, ...extra };
}

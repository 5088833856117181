/**
 * `client.workers`: what users and admins do with independent workers:
 * list and inspect them, change their tags, labels and group roles, and
 * shut them down. (Workers themselves talk to the coordinator with their
 * own worker token, not through this API.)
 */
import type { z } from "zod";
import type { GroupWorkerRole } from "../wire/common.ts";
import {
  WORKER_SHUTDOWN_OPS,
  type WorkerQueryResp,
  WorkerQueryRespSchema,
  type WorkersQueryReq,
  type WorkersQueryResp,
  WorkersQueryRespSchema,
  WorkersShutdownByFilterReqSchema,
  WorkersShutdownByFilterRespSchema,
  WorkersShutdownByUuidsRespSchema,
} from "../wire/workers.ts";
import { type ApiTransport, segment } from "./transport.ts";

/** How to stop a worker: `Graceful` lets it finish its task, `Force` stops it now. */
export type WorkerShutdownOp = typeof WORKER_SHUTDOWN_OPS[number];
/** Filters of `POST /workers/shutdown`, plus the operation. */
export type WorkersShutdownByFilterReq = z.input<typeof WorkersShutdownByFilterReqSchema>;
/** `POST /workers/shutdown` answer. */
export type WorkersShutdownByFilterResp = z.infer<typeof WorkersShutdownByFilterRespSchema>;
/** `POST /workers/shutdown/list` answer. */
export type WorkersShutdownByUuidsResp = z.infer<typeof WorkersShutdownByUuidsRespSchema>;

/** The `?op=` query of the single-worker shutdown endpoints (lower case, as in the OpenAPI). */
const opQuery = (op: WorkerShutdownOp) => `?op=${op.toLowerCase()}`;

/** Worker endpoints for users and admins; reach them as `client.workers`. */
export class WorkersApi {
  readonly #t: ApiTransport;

  constructor(transport: ApiTransport) {
    this.#t = transport;
  }

  /** `POST /workers/query`: workers matching the filters. */
  async query(req: WorkersQueryReq = {}): Promise<WorkersQueryResp> {
    return await this.#t.json("POST", "/workers/query", WorkersQueryRespSchema, req);
  }

  /** `GET /workers/{uuid}`: one worker with its groups' roles. */
  async get(uuid: string): Promise<WorkerQueryResp> {
    return await this.#t.json("GET", `/workers/${segment(uuid)}`, WorkerQueryRespSchema);
  }

  /** `DELETE /workers/{uuid}?op=`: asks one worker to stop. */
  async shutdown(uuid: string, op: WorkerShutdownOp = "Graceful"): Promise<void> {
    await this.#t.send("DELETE", `/workers/${segment(uuid)}${opQuery(op)}`);
  }

  /** `POST /workers/shutdown`: asks the matching workers to stop. */
  async shutdownByFilter(req: WorkersShutdownByFilterReq = {}): Promise<WorkersShutdownByFilterResp> {
    return await this.#t.json("POST", "/workers/shutdown", WorkersShutdownByFilterRespSchema, req);
  }

  /** `POST /workers/shutdown/list`: asks the given workers to stop; refusals are listed. */
  async shutdownByUuids(
    uuids: readonly string[],
    op: WorkerShutdownOp = "Graceful",
  ): Promise<WorkersShutdownByUuidsResp> {
    return await this.#t.json("POST", "/workers/shutdown/list", WorkersShutdownByUuidsRespSchema, { uuids, op });
  }

  /** `PUT /workers/{uuid}/tags`: replaces a worker's tags (which tasks it may take). */
  async replaceTags(uuid: string, tags: readonly string[]): Promise<void> {
    await this.#t.send("PUT", `/workers/${segment(uuid)}/tags`, { tags });
  }

  /** `PUT /workers/{uuid}/labels`: replaces a worker's labels. */
  async replaceLabels(uuid: string, labels: readonly string[]): Promise<void> {
    await this.#t.send("PUT", `/workers/${segment(uuid)}/labels`, { labels });
  }

  /** `PUT /workers/{uuid}/groups`: grants groups roles on a worker (`{team: "Write"}`). */
  async updateGroups(uuid: string, relations: Readonly<Record<string, GroupWorkerRole>>): Promise<void> {
    await this.#t.send("PUT", `/workers/${segment(uuid)}/groups`, { relations });
  }

  /** `DELETE /workers/{uuid}/groups?groups=a&groups=b`: removes groups' roles on a worker. */
  async removeGroups(uuid: string, groups: readonly string[]): Promise<void> {
    const query = groups.map((g) => `groups=${encodeURIComponent(g)}`).join("&");
    await this.#t.send("DELETE", `/workers/${segment(uuid)}/groups?${query}`);
  }

  /** `DELETE /admin/workers/{uuid}?op=`: admin users stop any worker. */
  async adminShutdown(uuid: string, op: WorkerShutdownOp = "Graceful"): Promise<void> {
    await this.#t.send("DELETE", `/admin/workers/${segment(uuid)}${opQuery(op)}`);
  }
}

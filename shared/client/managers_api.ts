/**
 * `client.managers`: what users do with node managers: register one (the
 * answer carries the manager's own token), list and inspect them, change
 * their tags, labels and group roles, and shut them down. (Managers
 * themselves talk to the coordinator with their manager token.)
 */
import type { z } from "zod";
import type { GroupWorkerRole } from "../wire/common.ts";
import {
  type ManagerInfo,
  ManagerInfoSchema,
  type ManagerShutdownReqSchema,
  type ManagersQueryReq,
  ManagersQueryRespSchema,
  type RegisterManagerReq,
  type RegisterManagerResp,
  RegisterManagerRespSchema,
} from "../wire/managers.ts";
import { type ApiTransport, segment } from "./transport.ts";

/** How to stop a manager: `Graceful` finishes running tasks, `Force` stops now and requeues them. */
export type ManagerShutdownOp = z.output<typeof ManagerShutdownReqSchema>["op"];
/** `POST /managers/query` answer. */
export type ManagersQueryResp = z.infer<typeof ManagersQueryRespSchema>;

/** Node-manager endpoints for users; reach them as `client.managers`. */
export class ManagersApi {
  readonly #t: ApiTransport;

  constructor(transport: ApiTransport) {
    this.#t = transport;
  }

  /** `POST /managers`: registers a manager; returns its uuid and manager token. */
  async register(req: RegisterManagerReq = {}): Promise<RegisterManagerResp> {
    return await this.#t.json("POST", "/managers", RegisterManagerRespSchema, req);
  }

  /** `POST /managers/query`: managers a group (default: the caller's own) holds a role on, filtered. */
  async query(req: ManagersQueryReq = {}): Promise<ManagersQueryResp> {
    return await this.#t.json("POST", "/managers/query", ManagersQueryRespSchema, req);
  }

  /** `GET /managers/{uuid}`: one manager with its groups' roles. */
  async get(uuid: string): Promise<ManagerInfo> {
    return await this.#t.json("GET", `/managers/${segment(uuid)}`, ManagerInfoSchema);
  }

  /** `POST /managers/{uuid}/shutdown`: asks a manager to stop. */
  async shutdown(uuid: string, op: ManagerShutdownOp = "Graceful"): Promise<void> {
    await this.#t.send("POST", `/managers/${segment(uuid)}/shutdown`, { op });
  }

  /** `PUT /managers/{uuid}/tags`: replaces a manager's tags (which suites it matches). */
  async replaceTags(uuid: string, tags: readonly string[]): Promise<void> {
    await this.#t.send("PUT", `/managers/${segment(uuid)}/tags`, { tags });
  }

  /** `PUT /managers/{uuid}/labels`: replaces a manager's labels. */
  async replaceLabels(uuid: string, labels: readonly string[]): Promise<void> {
    await this.#t.send("PUT", `/managers/${segment(uuid)}/labels`, { labels });
  }

  /** `PUT /managers/{uuid}/groups`: grants groups roles on a manager (`{team: "Write"}`). */
  async updateGroups(uuid: string, relations: Readonly<Record<string, GroupWorkerRole>>): Promise<void> {
    await this.#t.send("PUT", `/managers/${segment(uuid)}/groups`, { relations });
  }

  /** `DELETE /managers/{uuid}/groups?groups=a,b`: removes groups' roles on a manager. */
  async removeGroups(uuid: string, groups: readonly string[]): Promise<void> {
    const query = groups.map(encodeURIComponent).join(",");
    await this.#t.send("DELETE", `/managers/${segment(uuid)}/groups?groups=${query}`);
  }
}

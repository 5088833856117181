/**
 * `client.suites`: create, inspect, list, cancel and close task suites, and
 * choose the node managers that may run them (`/suites…` endpoints).
 */
import type { z } from "zod";
import {
  AddSuiteManagersRespSchema,
  type CancelSuiteReqSchema,
  CancelSuiteRespSchema,
  type CreateSuiteReq,
  CreateSuiteRespSchema,
  RefreshSuiteManagersRespSchema,
  RemoveSuiteManagersRespSchema,
  type SuiteInfo,
  SuiteInfoSchema,
  type SuitesQueryReq,
  SuitesQueryRespSchema,
} from "../wire/suites.ts";
import { type ApiTransport, segment } from "./transport.ts";

/** `POST /suites/{uuid}/cancel` request (as sent). */
export type CancelSuiteReq = z.input<typeof CancelSuiteReqSchema>;
/** `POST /suites/{uuid}/cancel` answer. */
export type CancelSuiteResp = z.infer<typeof CancelSuiteRespSchema>;
/** Suite query answer. */
export type SuitesQueryResp = z.infer<typeof SuitesQueryRespSchema>;
/** `POST /suites/{uuid}/managers` answer. */
export type AddSuiteManagersResp = z.infer<typeof AddSuiteManagersRespSchema>;

/** Suite endpoints; reach them as `client.suites`. */
export class SuitesApi {
  readonly #t: ApiTransport;

  constructor(transport: ApiTransport) {
    this.#t = transport;
  }

  /** `POST /suites`: creates an Open suite (Write on its group needed); resolves with its uuid. */
  async create(req: CreateSuiteReq): Promise<string> {
    return (await this.#t.json("POST", "/suites", CreateSuiteRespSchema, req)).uuid;
  }

  /** `GET /suites/{uuid}`: the suite with its counters and managers. */
  async get(uuid: string): Promise<SuiteInfo> {
    return await this.#t.json("GET", `/suites/${segment(uuid)}`, SuiteInfoSchema);
  }

  /** `POST /suites/query`: suites of a group (default: your own), oldest first. */
  async query(req: SuitesQueryReq = {}): Promise<SuitesQueryResp> {
    return await this.#t.json("POST", "/suites/query", SuitesQueryRespSchema, req);
  }

  /**
   * `POST /suites/{uuid}/cancel`: cancels the suite (its waiting tasks are
   * cancelled; with `cancel_running_tasks` its running ones are stopped too).
   */
  async cancel(uuid: string, req: CancelSuiteReq = {}): Promise<CancelSuiteResp> {
    return await this.#t.json("POST", `/suites/${segment(uuid)}/cancel`, CancelSuiteRespSchema, req);
  }

  /** `POST /suites/{uuid}/close`: closes an Open suite; resolves with the suite. */
  async close(uuid: string): Promise<SuiteInfo> {
    return await this.#t.json("POST", `/suites/${segment(uuid)}/close`, SuiteInfoSchema);
  }

  /** `POST /suites/{uuid}/managers/refresh`: re-matches managers by tags; resolves with their uuids. */
  async refreshManagers(uuid: string): Promise<string[]> {
    const path = `/suites/${segment(uuid)}/managers/refresh`;
    return (await this.#t.json("POST", path, RefreshSuiteManagersRespSchema)).matched;
  }

  /** `POST /suites/{uuid}/managers`: adds UserSpecified managers; refused ones come with a reason. */
  async addManagers(uuid: string, managerUuids: readonly string[]): Promise<AddSuiteManagersResp> {
    const path = `/suites/${segment(uuid)}/managers`;
    return await this.#t.json("POST", path, AddSuiteManagersRespSchema, { manager_uuids: managerUuids });
  }

  /** `DELETE /suites/{uuid}/managers`: unlinks managers; resolves with those removed. */
  async removeManagers(uuid: string, managerUuids: readonly string[]): Promise<string[]> {
    const path = `/suites/${segment(uuid)}/managers`;
    return (await this.#t.json("DELETE", path, RemoveSuiteManagersRespSchema, { manager_uuids: managerUuids }))
      .removed;
  }
}

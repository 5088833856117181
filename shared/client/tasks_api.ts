/**
 * `client.tasks`: submit, query, inspect, change and cancel tasks
 * (`/tasks…` endpoints of the existing Mitosis API).
 */
import { z } from "zod";
import {
  type ChangeTaskReq,
  type SubmitTaskReq,
  type SubmitTaskResp,
  SubmitTaskRespSchema,
  TaskFilterSchema,
  type TaskQueryResp,
  TaskQueryRespSchema,
  TasksCancelByFilterRespSchema,
  TasksCancelByUuidsRespSchema,
  type TasksQueryReq,
  type TasksQueryResp,
  TasksQueryRespSchema,
  TasksSubmitRespSchema,
  type TaskSubmitResult,
} from "../wire/tasks.ts";
import { type ApiTransport, segment } from "./transport.ts";

/** Task filters as sent (comparisons as `"op N"` strings). */
export type TaskFilterInput = z.input<typeof TaskFilterSchema>;
/** `POST /tasks/cancel` answer. */
export type TasksCancelByFilterResp = z.infer<typeof TasksCancelByFilterRespSchema>;
/** `POST /tasks/cancel/list` answer. */
export type TasksCancelByUuidsResp = z.infer<typeof TasksCancelByUuidsRespSchema>;

/** Task endpoints; reach them as `client.tasks`. */
export class TasksApi {
  readonly #t: ApiTransport;

  constructor(transport: ApiTransport) {
    this.#t = transport;
  }

  /** `POST /tasks`: submits one task (Write on its group needed). */
  async submit(req: SubmitTaskReq): Promise<SubmitTaskResp> {
    return await this.#t.json("POST", "/tasks", SubmitTaskRespSchema, req);
  }

  /**
   * `POST /tasks/submit`: submits a batch; the coordinator validates each
   * item on its own and answers one `{Ok}` or `{Err}` per item, in order.
   */
  async submitMany(tasks: readonly SubmitTaskReq[]): Promise<TaskSubmitResult[]> {
    return (await this.#t.json("POST", "/tasks/submit", TasksSubmitRespSchema, { tasks })).results;
  }

  /** `POST /tasks/query`: tasks matching the filters (active and archived). */
  async query(req: TasksQueryReq = {}): Promise<TasksQueryResp> {
    return await this.#t.json("POST", "/tasks/query", TasksQueryRespSchema, req);
  }

  /** `GET /tasks/{uuid}`: one task with its artifacts. */
  async get(uuid: string): Promise<TaskQueryResp> {
    return await this.#t.json("GET", `/tasks/${segment(uuid)}`, TaskQueryRespSchema);
  }

  /** `PUT /tasks/{uuid}`: changes tags, timeout, priority or spec of a Ready task. */
  async change(uuid: string, req: ChangeTaskReq): Promise<void> {
    await this.#t.send("PUT", `/tasks/${segment(uuid)}`, req);
  }

  /** `PUT /tasks/{uuid}/labels`: replaces a task's labels. */
  async updateLabels(uuid: string, labels: readonly string[]): Promise<void> {
    await this.#t.send("PUT", `/tasks/${segment(uuid)}/labels`, { labels });
  }

  /** `DELETE /tasks/{uuid}`: cancels a Ready task. */
  async cancel(uuid: string): Promise<void> {
    await this.#t.send("DELETE", `/tasks/${segment(uuid)}`);
  }

  /** `POST /tasks/cancel`: cancels the Ready tasks matching the filters. */
  async cancelByFilter(filter: TaskFilterInput = {}): Promise<TasksCancelByFilterResp> {
    return await this.#t.json("POST", "/tasks/cancel", TasksCancelByFilterRespSchema, filter);
  }

  /** `POST /tasks/cancel/list`: cancels tasks by uuid; those that could not be cancelled are listed. */
  async cancelByUuids(uuids: readonly string[]): Promise<TasksCancelByUuidsResp> {
    return await this.#t.json("POST", "/tasks/cancel/list", TasksCancelByUuidsRespSchema, { uuids });
  }
}

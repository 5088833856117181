/**
 * Typed SDK for the coordinator's REST API: one method per endpoint, requests
 * built from and responses validated with the shared wire schemas, failures
 * reported as `ClientError` carrying the server's `{"msg"}`.
 */
import { ClientError } from "./errors.ts";
import { sendRequest } from "./request.ts";
import type { z } from "zod";
import { md5Array } from "./md5.ts";
import type { UserState } from "../wire/common.ts";
import {
  HealthRespSchema,
  type RedisConnectionInfo,
  RedisConnectionInfoSchema,
  TokenRespSchema,
  type UserChangePasswordReq,
  type UserLoginReq,
} from "../wire/auth.ts";
import {
  type CreateGroupReq,
  type GroupQueryInfo,
  GroupQueryInfoSchema,
  type GroupsQueryResp,
  GroupsQueryRespSchema,
  type RemoveUserGroupRoleReq,
  type UpdateUserGroupRoleReq,
} from "../wire/groups.ts";
import {
  type AdminChangePasswordReq,
  type ChangeGroupStorageQuotaReq,
  type ChangeUserGroupQuota,
  type ChangeUserStateReq,
  type CreateUserReq,
  GroupStorageQuotaRespSchema,
  type ShutdownReq,
  UserGroupQuotaRespSchema,
  UserStateRespSchema,
} from "../wire/admin.ts";
import type { ApiTransport, HttpMethod } from "./transport.ts";
import { TasksApi } from "./tasks_api.ts";
import { ArtifactsApi } from "./artifacts_api.ts";
import { AttachmentsApi } from "./attachments_api.ts";
import { WorkersApi } from "./workers_api.ts";
import { SuitesApi } from "./suites_api.ts";
import { ManagersApi } from "./managers_api.ts";

/** Options of `MitosisClient`. */
export interface MitosisClientOptions {
  /** Coordinator base URL, e.g. `http://127.0.0.1:5000`. */
  baseUrl: string;
  /** User token sent as `Authorization: Bearer`; set by `login` when absent. */
  token?: string;
}

/** Health check answer. */
export type HealthResp = z.infer<typeof HealthRespSchema>;

/** Path segment encoding for user and group names. */
const seg = encodeURIComponent;

/** A client of one coordinator, optionally authenticated with a user token. */
export class MitosisClient {
  /** Coordinator base URL without a trailing slash. */
  readonly baseUrl: string;
  /** The user token in use; `login` and `changePassword` replace it. */
  token: string | undefined;
  /** Tasks: submit, query, get, change, labels, cancel. */
  readonly tasks: TasksApi;
  /** Task artifacts: upload/download URLs, deletion. */
  readonly artifacts: ArtifactsApi;
  /** Group attachments: upload/download URLs, metadata, queries, deletion. */
  readonly attachments: AttachmentsApi;
  /** Workers: query, get, tags, labels, group roles, shutdown. */
  readonly workers: WorkersApi;
  /** Task suites: create, get, query, cancel, close, managers. */
  readonly suites: SuitesApi;
  /** Node managers: register, query, get, tags, labels, group roles, shutdown. */
  readonly managers: ManagersApi;

  constructor(options: MitosisClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    const transport: ApiTransport = {
      json: (method, path, schema, body) => this.#json(method, path, schema, body),
      send: async (method, path, body) => void await this.#send(method, path, body),
      resolve: (url) => new URL(url, `${this.baseUrl}/`).href,
    };
    this.tasks = new TasksApi(transport);
    this.artifacts = new ArtifactsApi(transport);
    this.attachments = new AttachmentsApi(transport);
    this.workers = new WorkersApi(transport);
    this.suites = new SuitesApi(transport);
    this.managers = new ManagersApi(transport);
  }

  // ---- session -------------------------------------------------------------

  /** `GET /health`. */
  async health(): Promise<HealthResp> {
    return await this.#json("GET", "/health", HealthRespSchema, undefined, false);
  }

  /**
   * `POST /login`: sends the MD5 digest of `password`, stores the returned
   * token on this client and returns it. `retain` keeps older tokens valid.
   */
  async login(username: string, password: string, retain = false): Promise<string> {
    const body: UserLoginReq = { username, md5_password: md5Array(password), retain };
    const { token } = await this.#json("POST", "/login", TokenRespSchema, body, false);
    this.token = token;
    return token;
  }

  /** `GET /auth`: the username the current token belongs to. */
  async auth(): Promise<string> {
    return (await this.#send("GET", "/auth")).text;
  }

  /** `GET /redis`: always `{url: null}` on Mitosis (no Redis). */
  async redis(): Promise<RedisConnectionInfo> {
    return await this.#json("GET", "/redis", RedisConnectionInfoSchema);
  }

  // ---- users ---------------------------------------------------------------

  /**
   * `POST /users/{username}/password`: changes the caller's own password.
   * The server rotates the token; the new one is stored and returned.
   */
  async changePassword(username: string, oldPassword: string, newPassword: string): Promise<string> {
    const body: UserChangePasswordReq = {
      old_md5_password: md5Array(oldPassword),
      new_md5_password: md5Array(newPassword),
    };
    const { token } = await this.#json("POST", `/users/${seg(username)}/password`, TokenRespSchema, body);
    this.token = token;
    return token;
  }

  /** `GET /users/groups`: the caller's groups and roles. */
  async userGroups(): Promise<GroupsQueryResp> {
    return await this.#json("GET", "/users/groups", GroupsQueryRespSchema);
  }

  // ---- groups --------------------------------------------------------------

  /** `POST /groups`: creates a group with the caller as Admin. */
  async createGroup(groupName: string): Promise<void> {
    const body: CreateGroupReq = { group_name: groupName };
    await this.#send("POST", "/groups", body);
  }

  /** `GET /groups/{group_name}`: group details (members only for group Admins). */
  async getGroup(groupName: string): Promise<GroupQueryInfo> {
    return await this.#json("GET", `/groups/${seg(groupName)}`, GroupQueryInfoSchema);
  }

  /** `PUT /groups/{group_name}/users`: sets users' roles (`{alice: "Write"}`). */
  async updateUserGroup(groupName: string, relations: UpdateUserGroupRoleReq["relations"]): Promise<void> {
    const body: UpdateUserGroupRoleReq = { relations };
    await this.#send("PUT", `/groups/${seg(groupName)}/users`, body);
  }

  /** `POST /groups/{group_name}/users/remove`: removes users from a group. */
  async removeUserGroup(groupName: string, users: string[]): Promise<void> {
    const body: RemoveUserGroupRoleReq = { users };
    await this.#send("POST", `/groups/${seg(groupName)}/users/remove`, body);
  }

  // ---- admin ---------------------------------------------------------------

  /** `POST /admin/users`: creates a user (and its own group). */
  async adminCreateUser(username: string, password: string, admin = false): Promise<void> {
    const body: CreateUserReq = { username, md5_password: md5Array(password), admin };
    await this.#send("POST", "/admin/users", body);
  }

  /** `DELETE /admin/users/{username}`: soft-deletes a user; returns its new state. */
  async adminDeleteUser(username: string): Promise<UserState> {
    return (await this.#json("DELETE", `/admin/users/${seg(username)}`, UserStateRespSchema)).state;
  }

  /** `POST /admin/users/{username}/password`: resets a user's password. */
  async adminChangePassword(username: string, newPassword: string): Promise<void> {
    const body: AdminChangePasswordReq = { new_md5_password: md5Array(newPassword) };
    await this.#send("POST", `/admin/users/${seg(username)}/password`, body);
  }

  /** `POST /admin/users/{username}/group-quota` with `+N`, `-N`, `=N` or `N`; returns the new quota. */
  async adminGroupQuota(username: string, change: string): Promise<number> {
    const body: ChangeUserGroupQuota = { group_quota: change };
    const path = `/admin/users/${seg(username)}/group-quota`;
    return (await this.#json("POST", path, UserGroupQuotaRespSchema, body)).group_quota;
  }

  /** `POST /admin/users/{username}/state`; returns the new state. */
  async adminUserState(username: string, state: ChangeUserStateReq["state"]): Promise<UserState> {
    const body: ChangeUserStateReq = { state };
    return (await this.#json("POST", `/admin/users/${seg(username)}/state`, UserStateRespSchema, body)).state;
  }

  /** `POST /admin/groups/{group_name}/storage-quota` with `+10GB`, `-N`, `=N`, `N`; returns bytes. */
  async adminStorageQuota(groupName: string, change: string): Promise<number> {
    const body: ChangeGroupStorageQuotaReq = { storage_quota: change };
    const path = `/admin/groups/${seg(groupName)}/storage-quota`;
    return (await this.#json("POST", path, GroupStorageQuotaRespSchema, body)).storage_quota;
  }

  /** `POST /admin/shutdown`: stops the coordinator when `secret` matches its shutdown secret. */
  async adminShutdown(secret: string): Promise<void> {
    const body: ShutdownReq = { secret };
    await this.#send("POST", "/admin/shutdown", body);
  }

  // ---- transport -----------------------------------------------------------

  /** Sends a request whose success body is JSON matching `schema`. */
  async #json<S extends z.ZodType>(
    method: HttpMethod,
    path: string,
    schema: S,
    body?: unknown,
    auth = true,
  ): Promise<z.infer<S>> {
    const res = await this.#send(method, path, body, auth);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch (error) {
      throw new ClientError(res.status, `${method} ${path}: the coordinator answered a body that is not JSON`, {
        cause: error,
      });
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      const issues = result.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
      throw new ClientError(res.status, `${method} ${path}: unexpected response from the coordinator (${issues})`);
    }
    return result.data;
  }

  /** Sends a request; resolves with status and body text on 2xx, throws `ClientError` otherwise. */
  #send(method: HttpMethod, path: string, body?: unknown, auth = true): Promise<{ status: number; text: string }> {
    return sendRequest({ baseUrl: this.baseUrl, method, path, body, token: auth ? this.token : undefined });
  }
}

export { ClientError };

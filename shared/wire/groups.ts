/** Wire schemas of group endpoints. */
import { z } from "zod";
import { GROUP_STATES, NameSchema, USER_GROUP_ROLES, UserGroupRoleSchema } from "./common.ts";

/** `POST /groups` request. */
export const CreateGroupReqSchema = z.object({ group_name: NameSchema });
/** Group creation. */
export type CreateGroupReq = z.infer<typeof CreateGroupReqSchema>;

/** `GET /groups/{group_name}` response. */
export const GroupQueryInfoSchema = z.object({
  group_name: z.string(),
  creator_username: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  state: z.enum(GROUP_STATES),
  task_count: z.number().int(),
  storage_quota: z.number().int(),
  storage_used: z.number().int(),
  worker_count: z.number().int(),
  users_in_group: z.record(z.string(), z.enum(USER_GROUP_ROLES)).nullable(),
});
/** Group details. */
export type GroupQueryInfo = z.infer<typeof GroupQueryInfoSchema>;

/** `GET /users/groups` response: the caller's groups and roles. */
export const GroupsQueryRespSchema = z.object({ groups: z.record(z.string(), z.enum(USER_GROUP_ROLES)) });
/** The caller's groups. */
export type GroupsQueryResp = z.infer<typeof GroupsQueryRespSchema>;

/** `PUT /groups/{group_name}/users` request: username → role. */
export const UpdateUserGroupRoleReqSchema = z.object({
  relations: z.record(NameSchema, UserGroupRoleSchema).refine((r) => Object.keys(r).length > 0, {
    message: "must name at least one user",
  }),
});
/** Role updates (input shape: roles in any letter case). */
export type UpdateUserGroupRoleReq = z.input<typeof UpdateUserGroupRoleReqSchema>;

/** `POST /groups/{group_name}/users/remove` request. */
export const RemoveUserGroupRoleReqSchema = z.object({ users: z.array(NameSchema).min(1) });
/** Users to remove from a group. */
export type RemoveUserGroupRoleReq = z.infer<typeof RemoveUserGroupRoleReqSchema>;

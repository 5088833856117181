/** Wire schemas of the admin endpoints. */
import { z } from "zod";
import { Md5PasswordSchema, NameSchema, USER_STATES, UserStateSchema } from "./common.ts";

/** `POST /admin/users` request. */
export const CreateUserReqSchema = z.object({
  username: NameSchema,
  md5_password: Md5PasswordSchema,
  admin: z.boolean(),
});
/** User creation. */
export type CreateUserReq = z.infer<typeof CreateUserReqSchema>;

/** `POST /admin/users/{username}/password` request. */
export const AdminChangePasswordReqSchema = z.object({ new_md5_password: Md5PasswordSchema });
/** Admin password reset. */
export type AdminChangePasswordReq = z.infer<typeof AdminChangePasswordReqSchema>;

/** `POST /admin/users/{username}/state` request. */
export const ChangeUserStateReqSchema = z.object({ state: UserStateSchema });
/** User state change (input shape). */
export type ChangeUserStateReq = z.input<typeof ChangeUserStateReqSchema>;

/** Response carrying a user's state. */
export const UserStateRespSchema = z.object({ state: z.enum(USER_STATES) });
/** A user's state. */
export type UserStateResp = z.infer<typeof UserStateRespSchema>;

/** `POST /admin/users/{username}/group-quota` request: `+N`, `-N`, `=N` or `N`. */
export const ChangeUserGroupQuotaSchema = z.object({ group_quota: z.string().min(1) });
/** Group quota change. */
export type ChangeUserGroupQuota = z.infer<typeof ChangeUserGroupQuotaSchema>;

/** Response carrying a user's group quota. */
export const UserGroupQuotaRespSchema = z.object({ group_quota: z.number().int() });
/** A user's group quota. */
export type UserGroupQuotaResp = z.infer<typeof UserGroupQuotaRespSchema>;

/** `POST /admin/groups/{group_name}/storage-quota` request: `+10GB`, `-N`, `=N`, `N`. */
export const ChangeGroupStorageQuotaReqSchema = z.object({ storage_quota: z.string().min(1) });
/** Storage quota change. */
export type ChangeGroupStorageQuotaReq = z.infer<typeof ChangeGroupStorageQuotaReqSchema>;

/** Response carrying a group's storage quota in bytes. */
export const GroupStorageQuotaRespSchema = z.object({ storage_quota: z.number().int() });
/** A group's storage quota. */
export type GroupStorageQuotaResp = z.infer<typeof GroupStorageQuotaRespSchema>;

/** `POST /admin/shutdown` request. */
export const ShutdownReqSchema = z.object({ secret: z.string() });
/** Coordinator shutdown. */
export type ShutdownReq = z.infer<typeof ShutdownReqSchema>;

/** Path parameter naming a user or group. */
export const NameParamSchema = NameSchema;

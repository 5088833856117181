/** Wire schemas of login, token and password endpoints. */
import { z } from "zod";
import { Md5PasswordSchema } from "./common.ts";

/** `POST /login` request. */
export const UserLoginReqSchema = z.object({
  username: z.string().min(1).max(255),
  md5_password: Md5PasswordSchema,
  retain: z.boolean().optional().default(false),
});
/** `POST /login` request (input shape). */
export type UserLoginReq = z.input<typeof UserLoginReqSchema>;

/** `POST /login` response, and the response of a user's own password change. */
export const TokenRespSchema = z.object({ token: z.string() });
/** A response carrying a token. */
export type TokenResp = z.infer<typeof TokenRespSchema>;

/** `POST /users/{username}/password` request. */
export const UserChangePasswordReqSchema = z.object({
  old_md5_password: Md5PasswordSchema,
  new_md5_password: Md5PasswordSchema,
});
/** A user's own password change. */
export type UserChangePasswordReq = z.infer<typeof UserChangePasswordReqSchema>;

/** `GET /redis` response: Mitosis does not use Redis, so `url` is always null. */
export const RedisConnectionInfoSchema = z.object({ url: z.string().nullable() });
/** Redis connection info. */
export type RedisConnectionInfo = z.infer<typeof RedisConnectionInfoSchema>;

/** `GET /health` response. */
export const HealthRespSchema = z.object({ status: z.string() });

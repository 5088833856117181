/**
 * Building blocks of the wire schemas: names, roles, states, MD5 passwords.
 * Both the coordinator (validating requests) and the SDK client (building
 * them) use these, so the two sides of the boundary cannot drift apart.
 */
import { z } from "zod";

/** User and group names share one namespace: 1–255 chars of `[A-Za-z0-9_-]`. */
export const NameSchema = z.string().regex(
  /^[A-Za-z0-9_-]{1,255}$/,
  "must be 1-255 characters of letters, digits, '_' or '-'",
);

/** An MD5 digest as the JSON array of its 16 bytes. */
export const Md5PasswordSchema = z.array(z.number().int().min(0).max(255)).length(16);

/** Case-insensitive enum: accepts `read`, `Read`, `READ`, yields `Read`. */
function caseInsensitiveEnum<const T extends readonly [string, ...string[]]>(values: T) {
  const lookup = new Map(values.map((v) => [v.toLowerCase(), v]));
  return z.string().transform((value, ctx): T[number] => {
    const found = lookup.get(value.toLowerCase());
    if (found === undefined) {
      ctx.addIssue({ code: "custom", message: `expected one of ${values.join(", ")}` });
      return z.NEVER;
    }
    return found;
  });
}

/** A user's role in a group, with its database code. */
export const USER_GROUP_ROLES = ["Read", "Write", "Admin"] as const;
/** User→group role name. */
export type UserGroupRole = typeof USER_GROUP_ROLES[number];
/** User→group role, case-insensitive on input. */
export const UserGroupRoleSchema = caseInsensitiveEnum(USER_GROUP_ROLES);

/** A group's role on a worker or manager. */
export const GROUP_WORKER_ROLES = ["Read", "Write", "Admin"] as const;
/** Group→worker role name. */
export type GroupWorkerRole = typeof GROUP_WORKER_ROLES[number];
/** Group→worker role, case-insensitive on input. */
export const GroupWorkerRoleSchema = caseInsensitiveEnum(GROUP_WORKER_ROLES);

/** User account state, with database codes Active=0, Locked=1, Deleted=2. */
export const USER_STATES = ["Active", "Locked", "Deleted"] as const;
/** User state name. */
export type UserState = typeof USER_STATES[number];
/** User state, case-insensitive on input. */
export const UserStateSchema = caseInsensitiveEnum(USER_STATES);

/** Group state, with database codes Active=0, Locked=1, Deleted=2. */
export const GROUP_STATES = ["Active", "Locked", "Deleted"] as const;
/** Group state name. */
export type GroupState = typeof GROUP_STATES[number];

/** Database code of an enum value (its index). */
export const codeOf = <T extends string>(values: readonly T[], value: T): number => values.indexOf(value);
/** Enum value of a database code. */
export const valueOf = <T extends string>(values: readonly T[], code: number): T => values[code] ?? values[0];

/** `{"msg": "..."}`, the body of every error response. */
export const ErrorMsgSchema = z.object({ msg: z.string() });
/** Error response body. */
export type ErrorMsg = z.infer<typeof ErrorMsgSchema>;

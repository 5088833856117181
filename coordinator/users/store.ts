/**
 * Data access for users: creation (with the user's own group), lookups,
 * sign-in bookkeeping, password and signature rotation, state and quota.
 */
import type { Db, Sql } from "../db/connect.ts";
import { isUniqueViolation } from "../db/errors.ts";
import { ApiError, badRequest, conflict, notFound } from "../../shared/errors.ts";
import { codeOf, USER_GROUP_ROLES, USER_STATES, type UserState, valueOf } from "../../shared/wire/common.ts";
import { applyQuotaChange, type QuotaChange } from "../../shared/config/size.ts";

/** A row of `users`. */
export interface UserRow {
  id: number;
  username: string;
  encrypted_password: string;
  auth_signature: number;
  admin: boolean;
  state: number;
  group_quota: number;
  group_count: number;
}

/** The named user, or null. */
export async function findUserByName(db: Db, username: string): Promise<UserRow | null> {
  const [row] = await db<UserRow[]>`
    SELECT id, username, encrypted_password, auth_signature, admin, state, group_quota, group_count
    FROM users WHERE username = ${username}`;
  return row ?? null;
}

/** The named user; 404 when absent. */
export async function getUserByName(db: Db, username: string): Promise<UserRow> {
  const user = await findUserByName(db, username);
  if (user === null) throw notFound(`user ${username} not found`);
  return user;
}

/** Fields of a new user. */
export interface NewUser {
  username: string;
  passwordHash: string;
  admin: boolean;
  signature: number;
}

/**
 * Creates a user together with the group of the same name, in which the user
 * is Admin. Users and groups share one namespace: a taken name is a 409.
 */
export async function createUserWithGroup(sql: Sql, user: NewUser): Promise<UserRow> {
  try {
    return await sql.begin(async (tx) => {
      const [taken] = await tx`SELECT 1 FROM groups WHERE group_name = ${user.username}`;
      if (taken) throw conflict(`name ${user.username} is already taken by a group`);
      const [row] = await tx<UserRow[]>`
        INSERT INTO users (username, encrypted_password, auth_signature, admin)
        VALUES (${user.username}, ${user.passwordHash}, ${user.signature}, ${user.admin})
        RETURNING id, username, encrypted_password, auth_signature, admin, state, group_quota, group_count`;
      const [group] = await tx<{ id: number }[]>`
        INSERT INTO groups (group_name, creator_id) VALUES (${user.username}, ${row.id}) RETURNING id`;
      await tx`INSERT INTO user_group (user_id, group_id, role)
        VALUES (${row.id}, ${group.id}, ${codeOf(USER_GROUP_ROLES, "Admin")})`;
      return row;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`user ${user.username} already exists`);
    throw error;
  }
}

/** Records a successful sign-in and sets the token signature. */
export async function recordSignIn(db: Db, userId: number, signature: number, ip: string | null): Promise<void> {
  await db`
    UPDATE users SET
      auth_signature = ${signature},
      last_sign_in_at = current_sign_in_at,
      last_sign_in_ip = current_sign_in_ip,
      current_sign_in_at = now(),
      current_sign_in_ip = ${ip},
      updated_at = now()
    WHERE id = ${userId}`;
}

/** Replaces the password hash and rotates the signature (revoking old tokens). */
export async function setPassword(db: Db, userId: number, passwordHash: string, signature: number): Promise<void> {
  await db`UPDATE users SET encrypted_password = ${passwordHash}, auth_signature = ${signature}, updated_at = now()
    WHERE id = ${userId}`;
}

/** Sets a user's state; 404 when the user does not exist. */
export async function setUserState(db: Db, username: string, state: UserState): Promise<UserState> {
  const [row] = await db<{ state: number }[]>`
    UPDATE users SET state = ${codeOf(USER_STATES, state)}, updated_at = now()
    WHERE username = ${username} RETURNING state`;
  if (!row) throw notFound(`user ${username} not found`);
  return valueOf(USER_STATES, row.state);
}

/** Applies a group quota change under a row lock; returns the new quota. */
export async function changeGroupQuota(sql: Sql, username: string, change: QuotaChange): Promise<number> {
  return await sql.begin(async (tx) => {
    const [row] = await tx<{ id: number; group_quota: number }[]>`
      SELECT id, group_quota FROM users WHERE username = ${username} FOR UPDATE`;
    if (!row) throw notFound(`user ${username} not found`);
    const next = applyQuotaChange(row.group_quota, change);
    if (next === null || next > 2 ** 31 - 1) throw badRequest("group quota would be out of range");
    await tx`UPDATE users SET group_quota = ${next}, updated_at = now() WHERE id = ${row.id}`;
    return next;
  });
}

/** Creates the configured admin user if no user of that name exists. */
export async function ensureAdmin(sql: Sql, user: NewUser): Promise<boolean> {
  if (await findUserByName(sql, user.username)) return false;
  try {
    await createUserWithGroup(sql, user);
    return true;
  } catch (error) {
    // Another coordinator created it at the same moment.
    if (error instanceof ApiError && error.kind === "Conflict") return false;
    throw error;
  }
}

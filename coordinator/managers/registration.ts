/**
 * Manager registration (`POST /managers`, user token): the manager row with
 * its group roles and its automatic suite matches are written in one
 * transaction, then a manager token is issued and suite assignment kicked.
 */
import type { z } from "zod";
import type { AppDeps, AuthUser } from "../http/context.ts";
import { newSignature } from "../auth/tokens.ts";
import { parseDuration } from "../../shared/config/duration.ts";
import type { RegisterManagerReqSchema, RegisterManagerResp } from "../../shared/wire/managers.ts";
import { registrationGroupRoles } from "../groups/resource_access.ts";
import { matchSuitesForManager } from "../suites/matching.ts";
import { insertManager } from "./store.ts";

/** `max_workers` of a manager that registers without one. */
export const DEFAULT_MAX_WORKERS = 1;

/**
 * Registers a manager for `user`: requested groups need Write from the user
 * (403; unknown group 404) and get the requested role, the user's own group
 * gets Admin. The token lives `lifetime`, else `access_token_expires_in`.
 */
export async function registerManager(
  deps: AppDeps,
  user: AuthUser,
  req: z.output<typeof RegisterManagerReqSchema>,
): Promise<RegisterManagerResp> {
  const groupRoles = await registrationGroupRoles(deps.sql, user, req.groups);
  const lifetime = req.lifetime ? parseDuration(req.lifetime)! : deps.config.access_token_expires_in;
  const uuid = crypto.randomUUID();
  const tokenSignature = newSignature();
  const tokenExpiresAt = new Date(Date.now() + lifetime);
  const token = await deps.keys.issue(uuid, tokenSignature, lifetime, "manager");
  const matched = await deps.sql.begin(async (tx) => {
    const row = await insertManager(tx, {
      uuid,
      creatorId: user.id,
      tags: req.tags,
      labels: req.labels,
      hostname: req.hostname ?? null,
      maxWorkers: req.max_workers ?? DEFAULT_MAX_WORKERS,
      tokenSignature,
      tokenExpiresAt,
      groupRoles,
    });
    return await matchSuitesForManager(tx, row.id);
  });
  deps.assigner.kick();
  deps.log.info("manager registered", {
    manager: uuid,
    user: user.username,
    tags: req.tags,
    groups: req.groups.map((g) => `${g.group}:${g.role}`),
    matched_suites: matched,
  });
  return { manager_uuid: uuid, token };
}

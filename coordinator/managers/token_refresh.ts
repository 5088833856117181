/**
 * `POST /managers/{uuid}/refresh-token`: a manager swaps its token for a new
 * one once less than a day of it remains. The new token signature revokes
 * the old token at once.
 */
import type { AppDeps, AuthManager } from "../http/context.ts";
import { newSignature } from "../auth/tokens.ts";
import { badRequest, unauthorized } from "../../shared/errors.ts";
import { formatDuration } from "../../shared/config/duration.ts";
import { getManagerById, rotateManagerToken } from "./store.ts";

/** A token may be refreshed when less than this remains of it. */
export const REFRESH_WINDOW_MS = 24 * 3_600_000;

/**
 * Issues a new token (lifetime `access_token_expires_in`) for the calling
 * manager; 400 naming the time left while more than a day remains.
 */
export async function refreshManagerToken(deps: AppDeps, manager: AuthManager): Promise<string> {
  const row = await getManagerById(deps.sql, manager.id);
  const remaining = row.token_expires_at.getTime() - Date.now();
  if (remaining >= REFRESH_WINDOW_MS) {
    throw badRequest(
      `token still valid for ${formatDuration(Math.floor(remaining / 1000) * 1000)}; ` +
        `it can be refreshed when less than ${formatDuration(REFRESH_WINDOW_MS)} remain`,
    );
  }
  const lifetime = deps.config.access_token_expires_in;
  const signature = newSignature();
  const token = await deps.keys.issue(manager.uuid, signature, lifetime, "manager");
  const expiresAt = new Date(Date.now() + lifetime);
  if (!await rotateManagerToken(deps.sql, manager.id, row.token_signature, signature, expiresAt)) {
    throw unauthorized("manager token has been replaced");
  }
  deps.log.info("manager token refreshed", { manager: manager.uuid, expires_at: expiresAt.toISOString() });
  return token;
}

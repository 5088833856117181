/**
 * Keeps the manager token fresh: checks its expiry every hour and, once less
 * than 24 h remain (the coordinator refuses earlier refreshes), asks for a
 * new one and stores it in the identity file before using it.
 */
import { ClientError } from "../../shared/client/errors.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { ManagerApi } from "../manager_api.ts";
import type { ManagerIdentity } from "./identity.ts";
import { tokenExpiryMs } from "./token_expiry.ts";

/** Refresh once less than this remains of the token. */
export const REFRESH_BEFORE_MS = 24 * 3600_000;
/** How often the expiry is checked. */
export const REFRESH_CHECK_MS = 3600_000;

/** A running refresher. */
export interface TokenRefresher {
  /** Checks now and refreshes when due; resolves true when a new token was stored. */
  checkNow(): Promise<boolean>;
  stop(): void;
}

/** Starts the periodic check (the first one runs at once). */
export function startTokenRefresher(identity: ManagerIdentity, api: ManagerApi, log: Logger): TokenRefresher {
  let running: Promise<boolean> | undefined;
  const check = async (): Promise<boolean> => {
    const expiry = tokenExpiryMs(identity.token);
    if (expiry === null) {
      log.warn("cannot read the manager token's expiry; not refreshing it");
      return false;
    }
    const left = expiry - Date.now();
    if (left >= REFRESH_BEFORE_MS) return false;
    try {
      const token = await api.refreshToken(identity.uuid);
      await identity.replaceToken(token);
      log.info("manager token refreshed", { expired_in_ms: left, expires_at: tokenExpiryIso(token) });
      return true;
    } catch (error) {
      log.warn("manager token refresh failed; will retry", {
        error: error instanceof ClientError ? error.msg : error,
        status: error instanceof ClientError ? error.status : null,
        expires_in_ms: left,
      });
      return false;
    }
  };
  const checkNow = () => {
    running ??= check().finally(() => running = undefined);
    return running;
  };
  const timer = setInterval(() => void checkNow(), REFRESH_CHECK_MS);
  void checkNow();
  return { checkNow, stop: () => clearInterval(timer) };
}

function tokenExpiryIso(token: string): string | null {
  const ms = tokenExpiryMs(token);
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * Reads the expiry of a Mitosis token without verifying it: tokens are the
 * standard base64 of a JWT whose payload carries `exp` (unix seconds).
 */

/** The expiry of `token` in epoch milliseconds, or null when it cannot be read. */
export function tokenExpiryMs(token: string): number | null {
  try {
    const jwt = atob(token);
    const payload = jwt.split(".")[1];
    if (payload === undefined) return null;
    const base64 = payload.replaceAll("-", "+").replaceAll("_", "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const claims: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))));
    if (typeof claims !== "object" || claims === null || !("exp" in claims)) return null;
    const exp = claims.exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null; // not a base64 JWT: the caller treats the expiry as unknown
  }
}

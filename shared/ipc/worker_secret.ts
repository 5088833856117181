/**
 * The per-worker secret that authenticates a managed worker to its manager's
 * IPC endpoint. The manager draws a fresh one (32 random bytes, hex) for
 * every worker it spawns and hands it over in `MITOSIS_WORKER_SECRET`; the
 * worker's first request is `Hello {worker_local_id, secret}`. Tasks never
 * see the variable (`shared/exec/env.ts` withholds it).
 */

/** The environment variable carrying a managed worker's secret. */
export const WORKER_SECRET_ENV = "MITOSIS_WORKER_SECRET";

/** A fresh secret: 32 random bytes as 64 hex digits. */
export function newWorkerSecret(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two secrets in time that depends only on their lengths, not on where they differ. */
export function secretsEqual(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i];
  return difference === 0;
}

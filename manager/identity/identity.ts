/**
 * The manager's current identity (uuid + manager token) in memory, backed by
 * the identity file. Replacing it (token refresh, re-registration) writes
 * the file first, so a restart always finds the newest token.
 */
import { type StoredIdentity, writeIdentity } from "./store.ts";

/** The live identity of this manager. */
export class ManagerIdentity {
  readonly #stateDir: string;
  #current: StoredIdentity;

  constructor(stateDir: string, current: StoredIdentity) {
    this.#stateDir = stateDir;
    this.#current = current;
  }

  /** The manager's uuid. */
  get uuid(): string {
    return this.#current.manager_uuid;
  }

  /** The manager token sent as `Authorization: Bearer`. */
  get token(): string {
    return this.#current.token;
  }

  /** A copy of the stored identity. */
  get stored(): StoredIdentity {
    return { ...this.#current };
  }

  /** Stores a new token for the same manager (after a refresh). */
  async replaceToken(token: string): Promise<void> {
    await this.replace({ ...this.#current, token });
  }

  /** Stores a whole new identity (after a re-registration). */
  async replace(next: StoredIdentity): Promise<void> {
    await writeIdentity(this.#stateDir, next);
    this.#current = { ...next };
  }
}

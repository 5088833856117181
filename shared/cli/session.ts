/**
 * Credential resolution for CLI commands: use the cached token of the chosen
 * user (or of the first cached user), check it with `/auth`, and when there
 * is none or the coordinator rejects it, log in with the given or prompted
 * username and password and cache the new token (daemons, which keep only
 * their own token, do not cache it).
 */
import { ClientError, type MitosisClient } from "../client/client.ts";
import { findCredential, saveCredential } from "../client/credentials.ts";
import { CliError } from "./errors.ts";
import type { Prompter } from "./prompt.ts";

/** What a session needs: the client, the cache, the configured identity and a way to ask. */
export interface SessionOptions {
  client: MitosisClient;
  /** Path of the credential cache. */
  credentialPath: string;
  /** `--user` / `MITOSIS_USER` / `[client] user`. */
  user?: string;
  /** `--password` / `MITOSIS_PASSWORD` / `[client] password`. */
  password?: string;
  /** Log in with `retain` (keep older tokens valid). */
  retain: boolean;
  /**
   * Write the token of a fresh login to the cache (default true). Daemons
   * pass false: they keep only their own token, never the user's.
   */
  cacheLogins?: boolean;
  prompter: Prompter;
  /** Writes a notice for the person at the terminal (stderr). */
  notice: (text: string) => void;
}

/** The logged-in identity of one CLI invocation. */
export class Session {
  readonly #o: SessionOptions;

  constructor(options: SessionOptions) {
    this.#o = options;
  }

  /** The client, authenticated as the user a command runs as. */
  get client(): MitosisClient {
    return this.#o.client;
  }

  /**
   * Makes the client carry a valid token: the cached one when `/auth`
   * accepts it, else a fresh login (which is cached). Returns the username.
   */
  async authenticate(): Promise<string> {
    const { client, credentialPath, user } = this.#o;
    const cached = await findCredential(credentialPath, user);
    if (cached !== undefined) {
      client.token = cached.token;
      try {
        return await client.auth();
      } catch (error) {
        if (!(error instanceof ClientError) || error.status !== 401) throw error;
        this.#o.notice(`the cached token of ${cached.username} was rejected (${error.msg}); logging in again\n`);
      }
    }
    return await this.login(cached?.username);
  }

  /**
   * Logs in and caches the token. The username is `username`, else the
   * configured user, else prompted; the password likewise.
   */
  async login(username?: string, password?: string): Promise<string> {
    const name = username ?? this.#o.user ?? (await this.#o.prompter.line("Username: ")).trim();
    if (name === "") throw new CliError("no username given");
    const secret = password ?? this.#o.password ?? await this.#o.prompter.secret(`Password for ${name}: `);
    const token = await this.#o.client.login(name, secret, this.#o.retain);
    if (this.#o.cacheLogins ?? true) await this.remember(name, token);
    return name;
  }

  /** Caches `token` as the credential of `username`. */
  async remember(username: string, token: string): Promise<void> {
    await saveCredential(this.#o.credentialPath, username, token);
  }
}

/**
 * Registration of the manager with user credentials (`POST /managers`),
 * done once: the identity file is reused on every later start, and the
 * manager registers again only when the coordinator rejects its token.
 */
import { ClientError, MitosisClient } from "../../shared/client/client.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { userToken } from "../../worker/login.ts";
import type { ManagerConfig } from "../config.ts";
import { Backoff, sleep } from "../connection/backoff.ts";
import { readIdentity, type StoredIdentity, writeIdentity } from "./store.ts";

/**
 * Logs in as the configured user (cached token, else `--user`/`--password`)
 * and registers a new manager with this machine's tags, labels, groups,
 * `max_workers` and hostname. One attempt; failures throw (`ClientError`
 * with status 0 when the coordinator is unreachable).
 */
export async function registerManager(config: ManagerConfig, env: Record<string, string>): Promise<StoredIdentity> {
  const user = await userToken(config, env, "manager");
  const client = new MitosisClient({ baseUrl: config.coordinator_addr, token: user.token });
  const registered = await client.managers.register({
    tags: config.tags,
    labels: config.labels,
    groups: config.groups,
    max_workers: config.max_workers,
    hostname: config.hostname,
  });
  return {
    manager_uuid: registered.manager_uuid,
    token: registered.token,
    coordinator_addr: config.coordinator_addr,
    registered_at: new Date().toISOString(),
  };
}

/**
 * The stored identity, or a new registration written to the state dir. While
 * the coordinator is unreachable the registration is retried with backoff
 * (until `signal` aborts, which throws); any other failure (no credentials,
 * wrong password, unknown group) throws at once.
 */
export async function loadOrRegister(
  config: ManagerConfig,
  env: Record<string, string>,
  log: Logger,
  signal: AbortSignal,
): Promise<{ identity: StoredIdentity; registered: boolean }> {
  const stored = await readIdentity(config.state_dir);
  if (stored !== null) return { identity: stored, registered: false };
  const backoff = new Backoff();
  for (;;) {
    try {
      const identity = await registerManager(config, env);
      await writeIdentity(config.state_dir, identity);
      log.info("manager registered", { manager_uuid: identity.manager_uuid, coordinator: config.coordinator_addr });
      return { identity, registered: true };
    } catch (error) {
      if (!(error instanceof ClientError) || error.status !== 0) throw error;
      const delay = backoff.next();
      log.warn("cannot reach the coordinator to register; retrying", { error: error.msg, retry_in_ms: delay });
      await sleep(delay, signal);
      signal.throwIfAborted();
    }
  }
}

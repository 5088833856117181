/**
 * The node manager's configuration: the `[manager]` section with its
 * defaults resolved (state dir, worker count, hostname).
 */
import type { ConfigOf } from "../shared/config/fields.ts";
import type { managerFields } from "../shared/config/sections.ts";

/** The validated `[manager]` section as loaded. */
export type ManagerSection = ConfigOf<typeof managerFields>;

/** The `[manager]` configuration with every default resolved. */
export type ManagerConfig = Omit<ManagerSection, "state_dir" | "max_workers" | "hostname"> & {
  /** State directory: lock, identity (token), suites' work dirs. */
  state_dir: string;
  /** Most managed workers at once. */
  max_workers: number;
  /** Hostname reported at registration. */
  hostname: string;
};

/** `$XDG_STATE_HOME` (or `~/.local/state`). */
export function stateHome(env: Record<string, string>): string {
  return env.XDG_STATE_HOME || `${env.HOME ?? "."}/.local/state`;
}

/**
 * Fills the defaults that depend on the machine: `state_dir` =
 * `$XDG_STATE_HOME/mitosis/manager`, `max_workers` = the number of CPUs,
 * `hostname` = the machine's.
 */
export function resolveManagerConfig(section: ManagerSection, env: Record<string, string>): ManagerConfig {
  return {
    ...section,
    state_dir: section.state_dir ?? `${stateHome(env)}/mitosis/manager`,
    max_workers: section.max_workers ?? Math.max(1, navigator.hardwareConcurrency || 1),
    hostname: section.hostname ?? Deno.hostname(),
  };
}

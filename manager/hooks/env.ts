/**
 * Environments of a suite's hooks and workers: the `MITOSIS_*` context
 * variables naming the suite and the manager, on top of the hook's `envs`.
 */
import { inheritableEnvironment } from "../../shared/exec/env.ts";
import type { HookSpec, SuiteInfo } from "../../shared/wire/suites.ts";

/** What the context variables describe. */
export interface SuiteContext {
  suite: Pick<SuiteInfo, "uuid" | "name" | "group_name">;
  /** This manager's uuid. */
  managerUuid: string;
  /** Workers this manager runs for the suite: min(worker_count, max_workers). */
  workerCount: number;
}

/**
 * `MITOSIS_TASK_SUITE_UUID`, `MITOSIS_TASK_SUITE_NAME` (empty when the suite
 * has no name), `MITOSIS_GROUP_NAME`, `MITOSIS_WORKER_COUNT` and
 * `MITOSIS_NODE_MANAGER_ID`.
 */
export function suiteContextEnv(context: SuiteContext): Record<string, string> {
  return {
    MITOSIS_TASK_SUITE_UUID: context.suite.uuid,
    MITOSIS_TASK_SUITE_NAME: context.suite.name ?? "",
    MITOSIS_GROUP_NAME: context.suite.group_name,
    MITOSIS_WORKER_COUNT: String(context.workerCount),
    MITOSIS_NODE_MANAGER_ID: context.managerUuid,
  };
}

/**
 * A hook's complete environment: the manager's own (minus secrets such as
 * `MITOSIS_PASSWORD`), then the hook's `envs`, then the context variables,
 * which win.
 */
export function hookEnvironment(
  hook: Pick<HookSpec, "envs">,
  context: Record<string, string>,
  base: Record<string, string> = inheritableEnvironment(),
): Record<string, string> {
  return { ...base, ...hook.envs, ...context };
}

/**
 * The suite-specific environment of its workers: the preparation hook's
 * `envs` (what the suite's setup configures) and the context variables.
 */
export function workerEnvironment(suite: Pick<SuiteInfo, "env_preparation">, context: Record<string, string>) {
  return { ...(suite.env_preparation?.envs ?? {}), ...context };
}

/** Pushes to the managers of a suite after a committed change (cancel, reclaim). */
import type { Logger } from "../../shared/log/logger.ts";
import type { ManagerPushes } from "../ws/push.ts";
import type { CoordinatorPush } from "../../shared/wire/manager_ws.ts";

/**
 * Sends each `[managerId, push]`, logging every one that fails with the
 * suite and manager: the change is committed by then, and a manager that
 * misses a push learns the suite's state from its next fetch or heartbeat.
 */
export async function pushAll(
  deps: { pushes: ManagerPushes; log: Logger },
  suiteUuid: string,
  pushes: readonly [number, CoordinatorPush][],
): Promise<void> {
  await Promise.all(pushes.map(async ([managerId, push]) => {
    try {
      await deps.pushes.send(managerId, push);
    } catch (error) {
      deps.log.error("push to manager failed", { suite: suiteUuid, manager_id: managerId, push: push.type, error });
    }
  }));
}

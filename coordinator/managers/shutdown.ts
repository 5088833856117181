/**
 * `POST /managers/{uuid}/shutdown`: records the request, and for Force
 * returns the manager's tasks to Ready and releases its suite, in one
 * transaction; then pushes `Shutdown {graceful}` to the manager.
 */
import type { AppDeps } from "../http/context.ts";
import type { ManagerShutdownReqSchema } from "../../shared/wire/managers.ts";
import type { z } from "zod";
import { type ManagerRow, markShutdownRequested, releaseManagerWork } from "./store.ts";

/** How to stop a manager: finish running work first, or stop now. */
export type ManagerShutdownOp = z.output<typeof ManagerShutdownReqSchema>["op"];

/** Asks a manager to stop; returns how many of its tasks went back to Ready (Force only). */
export async function shutdownManager(
  deps: AppDeps,
  manager: ManagerRow,
  op: ManagerShutdownOp,
  by: string,
): Promise<number> {
  const force = op === "Force";
  const requeued = await deps.sql.begin(async (tx) => {
    await markShutdownRequested(tx, manager.id);
    return force ? await releaseManagerWork(tx, manager.id) : 0;
  });
  await deps.pushes.send(manager.id, { type: "Shutdown", graceful: !force });
  // Its suite (and tasks) are free for other managers now.
  if (force) deps.assigner.kick();
  deps.log.info("manager shutdown requested", { manager: manager.uuid, op, by, requeued_tasks: requeued });
  return requeued;
}

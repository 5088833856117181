/**
 * A manager's shutdown request, from `POST /managers/{uuid}/shutdown` to the
 * manager's exit.
 *
 * The request is recorded as pending (`shutdown_requested`, with
 * `shutdown_force` for Force; Force also returns the manager's tasks to
 * Ready and releases its suite, in the same transaction) and pushed as
 * `Shutdown {graceful}`. While it is pending the assigner gives the manager
 * no suite, so a manager that reconnects while draining is not handed work.
 * Every new WebSocket session of the manager is sent the pending request
 * once the manager's first frame arrived (a request made while the manager
 * was disconnected is delivered when it connects, on whichever
 * coordinator). The request ends when a session that
 * was sent `Shutdown` is closed by the manager with
 * `MANAGER_EXIT_CLOSE_CODE` (it exited as asked): the same manager started
 * again then serves suites. A connection lost otherwise (network, replaced,
 * coordinator stopping) leaves the request pending.
 */
import type { AppDeps } from "../http/context.ts";
import type { ManagerShutdownReqSchema } from "../../shared/wire/managers.ts";
import { type CoordinatorMessage, MANAGER_EXIT_CLOSE_CODE } from "../../shared/wire/manager_ws.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { z } from "zod";
import {
  clearShutdownRequest,
  type ManagerRow,
  markShutdownRequested,
  pendingShutdown,
  releaseManagerWork,
} from "./store.ts";

/** How to stop a manager: finish running work first, or stop now. */
export type ManagerShutdownOp = z.output<typeof ManagerShutdownReqSchema>["op"];

/** What the shutdown flow needs from a manager's WebSocket session. */
export interface ShutdownSession {
  readonly managerId: number;
  /** True once a `Shutdown` was written to this session. */
  readonly shutdownSent: boolean;
  send(message: CoordinatorMessage): boolean;
}

/** Asks a manager to stop; returns how many of its tasks went back to Ready (Force only). */
export async function shutdownManager(
  deps: AppDeps,
  manager: ManagerRow,
  op: ManagerShutdownOp,
  by: string,
): Promise<number> {
  const force = op === "Force";
  const requeued = await deps.sql.begin(async (tx) => {
    await markShutdownRequested(tx, manager.id, force);
    return force ? await releaseManagerWork(tx, manager.id) : 0;
  });
  // A manager connected nowhere gets it when it connects (deliverPendingShutdown).
  await deps.pushes.send(manager.id, { type: "Shutdown", graceful: !force });
  // Its suite (and tasks) are free for other managers now.
  if (force) deps.assigner.kick();
  deps.log.info("manager shutdown requested", { manager: manager.uuid, op, by, requeued_tasks: requeued });
  return requeued;
}

/**
 * Sends the manager's pending shutdown, if any, to its new session. Call it
 * once the session is registered (a request recorded after the read below
 * is then pushed to the session by its requester) and the manager has sent
 * a frame (it listens by then).
 */
export async function deliverPendingShutdown(deps: AppDeps, session: ShutdownSession, log: Logger): Promise<void> {
  const pending = await pendingShutdown(deps.sql, session.managerId);
  if (pending === null) return;
  const graceful = !pending.force;
  const sent = session.send({ type: "Shutdown", graceful });
  log.info("pending shutdown sent to the connecting manager", { graceful, sent });
}

/**
 * A session closed with `code`: if it was sent `Shutdown` and the manager
 * closed it on exit, the shutdown is done and the mark is cleared.
 */
export async function sessionClosed(deps: AppDeps, session: ShutdownSession, code: number, log: Logger): Promise<void> {
  if (!session.shutdownSent || code !== MANAGER_EXIT_CLOSE_CODE) return;
  if (await clearShutdownRequest(deps.sql, session.managerId)) {
    log.info("manager stopped as asked; its shutdown request is done");
  }
}

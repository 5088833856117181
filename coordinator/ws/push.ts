/**
 * Pushes to node managers (SuiteAssigned, CancelTask, CancelSuite,
 * SuiteReclaimed, ConfigUpdate, Shutdown). A manager's WebSocket lives on
 * one coordinator; a push raised on another one travels over PostgreSQL
 * LISTEN/NOTIFY. Callers only name the manager.
 */
import type { CoordinatorPush } from "../../shared/wire/manager_ws.ts";

/** Delivers pushes to managers wherever they are connected. */
export interface ManagerPushes {
  /**
   * Sends `push` to the manager with database id `managerId`. Resolves once
   * the push was written to a local socket or published for other
   * coordinators; a manager connected nowhere simply misses it (its state is
   * reconciled on its next heartbeat).
   */
  send(managerId: number, push: CoordinatorPush): Promise<void>;
}

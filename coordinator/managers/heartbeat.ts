/**
 * A node manager's heartbeat (WebSocket `Heartbeat` and `POST
 * /managers/heartbeat`): records liveness, state and lease, then reconciles
 * the manager's view of its suite with the database's.
 *
 * - The manager names a suite that is not its current assignment (the
 *   assignment was released by the heartbeat reaper, a suite-managers change
 *   or a cancel, and perhaps the suite went to someone else): it gets
 *   `SuiteReclaimed {suite_uuid}` and must drop that work and go Idle.
 * - The manager is Idle and names no suite but holds an assignment: when
 *   the suite still has work, the `SuiteAssigned` push was lost (e.g. sent
 *   while it was reconnecting) and is pushed again — managers treat a
 *   `SuiteAssigned` for the suite they already run as a no-op, and should
 *   await the Ack of `SuiteCompleted` before their next Idle heartbeat;
 *   when the suite is finished, the stale assignment is released.
 * - The manager no longer serves its assigned suite's group (the group's
 *   role on it was removed, or its registering user left the group or was
 *   locked): the assignment is released, its tasks go back to Ready, and the
 *   manager gets `SuiteReclaimed`.
 * - The manager is Idle without an assignment: the assigner is kicked.
 */
import type { Db } from "../db/connect.ts";
import type { AppDeps, AuthManager } from "../http/context.ts";
import type { z } from "zod";
import {
  type ManagerHeartbeatReqSchema,
  NODE_MANAGER_STATES,
  NodeManagerStateCode,
} from "../../shared/wire/managers.ts";
import { RUNNABLE_SUITE_STATES } from "../suites/states.ts";
import { getSuiteByUuid } from "../suites/store.ts";
import { suiteInfo } from "../suites/present.ts";
import { managerServesSuite, releaseManagerSuite } from "./suite_progress.ts";

/** A heartbeat as validated from the wire. */
export type ManagerHeartbeat = z.output<typeof ManagerHeartbeatReqSchema>;

/** What the heartbeat answers. */
export interface HeartbeatReply {
  /** The suite the coordinator has assigned to this manager, if any. */
  assigned_suite_uuid: string | null;
}

/** What a heartbeat needs from the coordinator. */
export type HeartbeatDeps = Pick<AppDeps, "sql" | "config" | "log" | "pushes" | "assigner" | "metrics">;

interface Recorded {
  assigned_suite_uuid: string | null;
  previous_state: number;
}

/**
 * Stores the heartbeat in one statement: `last_heartbeat`, `state`, and a
 * lease of `leaseMs` on the current assignment. Returns the assigned suite
 * (null when the manager row is gone, which token checks make unlikely).
 */
export async function storeManagerHeartbeat(
  db: Db,
  managerId: number,
  state: number,
  leaseMs: number,
): Promise<Recorded | null> {
  const [row] = await db<Recorded[]>`
    WITH before AS (SELECT id, state FROM node_managers WHERE id = ${managerId} FOR UPDATE)
    UPDATE node_managers m SET last_heartbeat = now(), state = ${state},
      lease_expires_at = CASE WHEN m.assigned_task_suite_id IS NULL THEN NULL
        ELSE now() + ${leaseMs} * interval '1 millisecond' END,
      updated_at = now()
    FROM before
    WHERE m.id = before.id
    RETURNING (SELECT s.uuid FROM task_suites s WHERE s.id = m.assigned_task_suite_id) AS assigned_suite_uuid,
      before.state AS previous_state`;
  return row ?? null;
}

/**
 * Records a heartbeat of `manager` and reconciles its suite (see the module
 * comment). The lease lasts `manager_heartbeat_timeout`.
 */
export async function recordManagerHeartbeat(
  deps: HeartbeatDeps,
  manager: AuthManager,
  req: ManagerHeartbeat,
): Promise<HeartbeatReply> {
  const state = NodeManagerStateCode[req.state];
  const row = await deps.metrics.timeQuery(
    "manager_heartbeat",
    () => storeManagerHeartbeat(deps.sql, manager.id, state, deps.config.manager_heartbeat_timeout),
  );
  let assigned = row?.assigned_suite_uuid ?? null;
  if (assigned !== null && !await managerServesSuite(deps.sql, manager.id, assigned)) {
    const release = await releaseManagerSuite(deps.sql, manager.id, assigned, null);
    deps.log.warn("manager no longer serves its suite's group; reclaiming the suite", {
      manager: manager.uuid,
      suite: assigned,
      returned_tasks: release.returnedTasks.length,
    });
    deps.assigner.kick();
    assigned = null;
  }
  if (req.metrics) deps.log.debug("manager heartbeat", { manager: manager.uuid, state: req.state, ...req.metrics });
  if (row !== null && row.previous_state !== state) {
    deps.log.info("manager state changed", {
      manager: manager.uuid,
      from: NODE_MANAGER_STATES[row.previous_state] ?? row.previous_state,
      to: req.state,
      suite: assigned,
    });
  }
  const reported = req.assigned_suite_uuid ?? null;
  if (reported !== null && reported !== assigned) {
    deps.log.warn("manager reports a suite it no longer holds; reclaiming", {
      manager: manager.uuid,
      suite: reported,
      assigned_suite: assigned,
    });
    await deps.pushes.send(manager.id, { type: "SuiteReclaimed", suite_uuid: reported });
  } else if (reported === null && assigned !== null && req.state === "Idle") {
    return { assigned_suite_uuid: await reconcileUnknownAssignment(deps, manager, assigned) };
  }
  if (assigned === null && req.state === "Idle") deps.assigner.kick();
  return { assigned_suite_uuid: assigned };
}

/**
 * An Idle manager naming no suite while the database assigns it one: if the
 * suite still has work, `SuiteAssigned` is sent again (the push was lost);
 * otherwise (Complete or Cancelled meanwhile) the stale assignment is
 * released and the assigner kicked. Returns the assignment that stands.
 */
async function reconcileUnknownAssignment(
  deps: HeartbeatDeps,
  manager: AuthManager,
  suiteUuid: string,
): Promise<string | null> {
  const suite = await getSuiteByUuid(deps.sql, suiteUuid);
  const runnable = RUNNABLE_SUITE_STATES.includes(suite.state) &&
    suite.pending_tasks > 0;
  if (!runnable) {
    await releaseManagerSuite(deps.sql, manager.id, suiteUuid, null);
    deps.log.info("released a finished suite from an idle manager", { manager: manager.uuid, suite: suiteUuid });
    deps.assigner.kick();
    return null;
  }
  deps.log.info("idle manager holds an assignment it does not know; re-sending SuiteAssigned", {
    manager: manager.uuid,
    suite: suiteUuid,
  });
  await deps.pushes.send(manager.id, {
    type: "SuiteAssigned",
    suite_uuid: suiteUuid,
    suite_spec: await suiteInfo(deps.sql, suite),
  });
  return suiteUuid;
}

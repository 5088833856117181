/**
 * The suite assigner (SPEC §5.2 "Order"): hands runnable suites to the idle
 * node managers connected to this coordinator.
 *
 * A pass picks, in one statement for all of them, for each manager that is
 * connected here, Idle, without an assignment and not shutting down, the
 * highest-priority (then oldest) suite that is Open or Closed, has pending
 * tasks and Ready tasks the manager has not aborted, and that the manager is
 * eligible for (view `suite_eligible_managers`: linked, preparation not
 * failed, UserSpecified links exclusive, group still Write/Admin). It sets the
 * assignment and its lease guarded by `assigned_task_suite_id IS NULL`, so two
 * coordinators can never both assign one manager, then pushes
 * `SuiteAssigned {suite_uuid, suite_spec}`. Several managers may hold one
 * suite.
 *
 * Passes run after `kick()` (debounced: a burst of kicks makes one pass) and
 * every few seconds as a safety net. A kick is also published on the
 * `mitosis_assign_kick` channel so that every coordinator sharing the
 * database runs a pass for the managers connected to it.
 */
import type { Sql } from "../db/connect.ts";
import type { DatabaseAvailability } from "../db/availability.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { SuiteAssigner } from "./assigner.ts";
import type { ManagerPushes } from "../ws/push.ts";
import type { SessionRegistry } from "../ws/registry.ts";
import { NodeManagerStateCode } from "../../shared/wire/managers.ts";
import { runnableSuiteState } from "../suites/states.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";
import type { SuiteRow } from "../suites/store.ts";
import { suiteInfos } from "../suites/present.ts";

/** NOTIFY channel carrying assignment kicks between coordinators. */
export const ASSIGN_KICK_CHANNEL = "mitosis_assign_kick";

/** A manager given a suite by a pass. */
export interface Assignment {
  manager_id: number;
  manager_uuid: string;
  suite_id: number;
}

/**
 * Assigns a suite to each eligible idle manager among `managerIds`, in one
 * statement; the lease lasts `leaseMs`. Returns the assignments made.
 */
export async function assignSuites(sql: Sql, managerIds: number[], leaseMs: number): Promise<Assignment[]> {
  if (managerIds.length === 0) return [];
  return await sql<Assignment[]>`
    WITH pick AS (
      SELECT m.id AS manager_id, best.suite_id
      FROM node_managers m
      CROSS JOIN LATERAL (
        SELECT s.id AS suite_id FROM task_suites s
        JOIN suite_eligible_managers e ON e.task_suite_id = s.id AND e.node_manager_id = m.id
        WHERE ${runnableSuiteState(sql, "s.state")} AND s.pending_tasks > 0
          AND EXISTS (
            SELECT 1 FROM active_tasks t
            WHERE t.task_suite_id = s.id AND t.state = ${TaskStateCode.Ready}
              AND NOT EXISTS (
                SELECT 1 FROM task_execution_failures f
                WHERE f.task_uuid = t.uuid AND f.node_manager_id = m.id AND f.aborted_at IS NOT NULL))
        ORDER BY s.priority DESC, s.id
        LIMIT 1
      ) best
      WHERE m.id = ANY(${managerIds}::bigint[]) AND m.state = ${NodeManagerStateCode.Idle}
        AND m.assigned_task_suite_id IS NULL AND NOT m.shutdown_requested
    )
    UPDATE node_managers m SET assigned_task_suite_id = pick.suite_id,
      lease_expires_at = now() + ${leaseMs} * interval '1 millisecond', updated_at = now()
    FROM pick
    WHERE m.id = pick.manager_id AND m.assigned_task_suite_id IS NULL AND m.state = ${NodeManagerStateCode.Idle}
      AND NOT m.shutdown_requested
    RETURNING m.id AS manager_id, m.uuid AS manager_uuid, pick.suite_id`;
}

async function suiteRows(sql: Sql, ids: number[]): Promise<SuiteRow[]> {
  return await sql<SuiteRow[]>`SELECT * FROM task_suites WHERE id = ANY(${ids}::bigint[])`;
}

/** What the assigner needs. */
export interface AssignerDeps {
  sql: Sql;
  sessions: SessionRegistry;
  pushes: ManagerPushes;
  log: Logger;
  /** Lease given with an assignment (the manager heartbeat timeout). */
  leaseMs: number;
  /** Coalescing delay of kicks (default 10 ms). */
  debounceMs?: number;
  /** Safety-net pass interval (default 5 s). */
  intervalMs?: number;
  /** Told about passes failing because the database is unreachable (logged there once per outage). */
  database?: DatabaseAvailability;
}

/** A running assigner. */
export interface SuiteAssignerService extends SuiteAssigner {
  /** Service name (it stops with the maintenance services). */
  readonly name: string;
  /** Runs a pass now (after any pass in progress); resolves when done. Tests use it instead of sleeping. */
  runNow(): Promise<void>;
  /** Stops timers and listening; waits for a pass in progress. */
  stop(): Promise<void>;
}

/** Starts the assigner: listens for kicks from other coordinators and runs passes. */
export async function startSuiteAssigner(deps: AssignerDeps): Promise<SuiteAssignerService> {
  const { sql, sessions, pushes, log } = deps;
  const debounceMs = deps.debounceMs ?? 10;
  const intervalMs = deps.intervalMs ?? 5_000;
  const instance = crypto.randomUUID();
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let kickTimer: ReturnType<typeof setTimeout> | undefined;
  let publish = false;

  const pass = async () => {
    const assigned = await assignSuites(sql, sessions.managerIds(), deps.leaseMs);
    if (assigned.length === 0) return;
    const rows = await suiteRows(sql, [...new Set(assigned.map((a) => a.suite_id))]);
    const infos = await suiteInfos(sql, rows);
    const specs = new Map(rows.map((row, i) => [row.id, infos[i]]));
    await Promise.all(assigned.map(async (a) => {
      const spec = specs.get(a.suite_id);
      if (spec === undefined) return; // the suite row vanished meanwhile; the manager's heartbeat reconciles
      log.info("suite assigned", { manager: a.manager_uuid, suite: spec.uuid, priority: spec.priority });
      try {
        await pushes.send(a.manager_id, { type: "SuiteAssigned", suite_uuid: spec.uuid, suite_spec: spec });
      } catch (error) {
        // The assignment stands: an Idle heartbeat naming no suite gets SuiteAssigned again.
        log.error("SuiteAssigned push failed", { manager: a.manager_uuid, suite: spec.uuid, error });
      }
    }));
  };

  const publishKick = async () => {
    try {
      await sql.notify(ASSIGN_KICK_CHANNEL, instance);
    } catch (error) {
      if (deps.database?.failed(error, { service: "suite-assigner" })) return;
      log.error("publishing an assignment kick failed; other coordinators run their safety-net pass", { error });
    }
  };

  const runPass = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          if (publish) {
            publish = false;
            await publishKick();
          }
          await pass();
        } while (again && !stopped);
      } catch (error) {
        if (!deps.database?.failed(error, { service: "suite-assigner" })) {
          log.error("suite assignment pass failed", { error });
        }
      } finally {
        running = null;
      }
    })();
    return running;
  };

  const schedule = (notifyOthers: boolean) => {
    if (stopped) return;
    if (notifyOthers) publish = true;
    if (kickTimer !== undefined) return;
    kickTimer = setTimeout(() => {
      kickTimer = undefined;
      void runPass();
    }, debounceMs);
  };

  const listener = await sql.listen(ASSIGN_KICK_CHANNEL, (payload) => {
    if (payload !== instance) schedule(false);
  });
  const ticker = setInterval(() => {
    if (sessions.managerIds().length > 0) void runPass();
  }, intervalMs);

  // The safety net must not keep a stopping process alive.
  Deno.unrefTimer(ticker);

  return {
    name: "suite-assigner",
    kick: () => schedule(true),
    runNow: () => runPass(),
    stop: async () => {
      stopped = true;
      clearInterval(ticker);
      if (kickTimer !== undefined) clearTimeout(kickTimer);
      await listener.unlisten();
      await running;
    },
  };
}

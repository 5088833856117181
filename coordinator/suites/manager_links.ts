/**
 * Which managers may run a suite (SPEC §5.2 "Assignment"): refresh the
 * TagMatched set, add UserSpecified managers (refusing, with a reason, those
 * the suite's group may not use) and remove links — a removed manager that
 * is working on the suite is released and told `SuiteReclaimed`.
 */
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { ManagerPushes } from "../ws/push.ts";
import { refreshTagMatches } from "./matching.ts";
import { pushAll } from "./notify.ts";
import { addUserSpecifiedManagers, canServe, managerCandidates, removeSuiteManagers, type SuiteRow } from "./store.ts";

/** What changing a suite's managers needs. */
export interface ManagerLinkDeps {
  sql: Sql;
  pushes: ManagerPushes;
  log: Logger;
}

/** A manager refused for a suite. */
export interface RejectedManager {
  manager_uuid: string;
  reason: string;
}

const unique = (uuids: readonly string[]) => [...new Set(uuids.map((u) => u.toLowerCase()))];

/** Replaces the suite's TagMatched managers with those matching now; returns their uuids. */
export async function refreshSuiteManagers(deps: ManagerLinkDeps, suite: SuiteRow, by: string): Promise<string[]> {
  const matched = await deps.sql.begin((tx) => refreshTagMatches(tx, suite.id));
  deps.log.info("suite managers refreshed", { suite: suite.uuid, by, matched: matched.length });
  return matched;
}

/**
 * Adds managers as UserSpecified. Unknown managers and managers on which
 * the suite's group (`groupName`) has no Write or Admin role are rejected.
 */
export async function addSuiteManagers(
  deps: ManagerLinkDeps,
  suite: SuiteRow,
  groupName: string,
  uuids: readonly string[],
  user: { id: number; username: string },
): Promise<{ added: string[]; rejected: RejectedManager[] }> {
  const wanted = unique(uuids);
  const found = new Map((await managerCandidates(deps.sql, wanted, suite.group_id)).map((m) => [m.uuid, m]));
  const added: { id: number; uuid: string }[] = [];
  const rejected: RejectedManager[] = [];
  for (const uuid of wanted) {
    const manager = found.get(uuid);
    if (manager === undefined) rejected.push({ manager_uuid: uuid, reason: "unknown manager" });
    else if (!canServe(manager.group_role)) {
      rejected.push({ manager_uuid: uuid, reason: `group ${groupName} has no Write or Admin role on this manager` });
    } else added.push(manager);
  }
  await addUserSpecifiedManagers(deps.sql, suite.id, added.map((m) => m.id), user.id);
  deps.log.info("suite managers added", {
    suite: suite.uuid,
    by: user.username,
    added: added.map((m) => m.uuid),
    rejected: rejected.length,
  });
  return { added: added.map((m) => m.uuid), rejected };
}

/** Unlinks managers from the suite; those working on it are released and get `SuiteReclaimed`. */
export async function removeSuiteManagerLinks(
  deps: ManagerLinkDeps,
  suite: SuiteRow,
  uuids: readonly string[],
  by: string,
): Promise<string[]> {
  const removed = await deps.sql.begin((tx) => removeSuiteManagers(tx, suite.id, unique(uuids)));
  const released = removed.filter((m) => m.released);
  for (const m of released) deps.log.info("manager released from suite", { suite: suite.uuid, manager: m.uuid, by });
  await pushAll(deps, suite.uuid, released.map((m) => [m.id, { type: "SuiteReclaimed", suite_uuid: suite.uuid }]));
  deps.log.info("suite managers removed", { suite: suite.uuid, by, removed: removed.map((m) => m.uuid) });
  return removed.map((m) => m.uuid);
}

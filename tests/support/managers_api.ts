/**
 * Node-manager REST helpers for coordinator tests: registration (the one
 * implementation lives with the scripted WebSocket manager) and suite rows
 * written directly in SQL, for tests that only need a suite to exist (e.g.
 * to watch managers' tag matches change) without the suite API.
 */
import type { Sql } from "../../coordinator/db/connect.ts";

export { type ManagerCredentials, type ManagerRegistration, registerManager } from "./ws_manager.ts";

/** Inserts an Open suite of `groupName` with `tags` (created by the group's creator); returns its id and uuid. */
export async function insertSuite(sql: Sql, groupName: string, tags: string[]): Promise<{ id: number; uuid: string }> {
  const [row] = await sql<{ id: number; uuid: string }[]>`
    INSERT INTO task_suites (uuid, group_id, creator_id, tags, worker_schedule)
    SELECT ${crypto.randomUUID()}, g.id, g.creator_id, ${tags}, ${sql.json({ worker_count: 1 })}
    FROM groups g WHERE g.group_name = ${groupName}
    RETURNING id, uuid`;
  return row;
}

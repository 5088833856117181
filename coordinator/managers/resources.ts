/**
 * Download URLs for managers: resources of suite hooks and of suite tasks
 * (relayed to managed workers, which hold no credentials). The manager must
 * be linked to the suite, and a resource resolves only when the suite's
 * creator may read it (active, with a role in the attachment's or the
 * artifact's group), so a manager shared by several groups cannot be used to
 * reach one group's data from another group's suite.
 */
import type { AppDeps } from "../http/context.ts";
import { forbidden } from "../../shared/errors.ts";
import type { RemoteResource } from "../../shared/wire/tasks.ts";
import type { RemoteResourceDownloadResp } from "../../shared/wire/storage.ts";
import { getSuiteByUuid, type SuiteRow } from "../suites/store.ts";
import { getGroupById } from "../groups/store.ts";
import { attachmentStorageKey, getAttachment } from "../attachments/store.ts";
import { artifactKey, getArtifact } from "../artifacts/store.ts";
import { getTask } from "../tasks/store.ts";
import { downloadUrlTtlSec } from "../storage/blob_store.ts";
import type { Db } from "../db/connect.ts";

/** Whether the suite's creator is active and may read the group (a site admin, or any role in it). */
async function creatorMayRead(db: Db, suite: SuiteRow, groupId: number): Promise<boolean> {
  const [row] = await db<{ ok: boolean }[]>`
    SELECT u.state = 0 AND (u.admin OR EXISTS (
      SELECT 1 FROM user_group ug WHERE ug.user_id = u.id AND ug.group_id = ${groupId})) AS ok
    FROM users u WHERE u.id = ${suite.creator_id}`;
  return row?.ok === true;
}

/** Resolves a resource of `suiteUuid` for the manager `managerId` into a presigned GET URL. */
export async function managerResourceUrl(
  deps: AppDeps,
  managerId: number,
  suiteUuid: string,
  remote: RemoteResource,
): Promise<RemoteResourceDownloadResp> {
  const suite = await getSuiteByUuid(deps.sql, suiteUuid);
  const [link] = await deps.sql`
    SELECT 1 FROM task_suite_managers WHERE task_suite_id = ${suite.id} AND node_manager_id = ${managerId}`;
  if (!link) throw forbidden(`this manager does not serve suite ${suiteUuid}`);
  if ("Attachment" in remote) {
    const group = await getGroupById(deps.sql, suite.group_id);
    if (!await creatorMayRead(deps.sql, suite, group.id)) {
      throw forbidden(`the creator of suite ${suiteUuid} may not read attachments of group ${group.group_name}`);
    }
    const row = await getAttachment(deps.sql, group.id, remote.Attachment.key);
    const url = await deps.blobs.presignGet(
      "attachments",
      attachmentStorageKey(group.group_name, remote.Attachment.key),
      downloadUrlTtlSec(row.size),
    );
    return { url, size: row.size };
  }
  const { uuid, content_type } = remote.Artifact;
  const task = await getTask(deps.sql, uuid);
  if (!await creatorMayRead(deps.sql, suite, task.group_id)) {
    throw forbidden(`the creator of suite ${suiteUuid} may not read the artifacts of task ${uuid}`);
  }
  const row = await getArtifact(deps.sql, uuid, content_type);
  const url = await deps.blobs.presignGet("artifacts", artifactKey(uuid, content_type), downloadUrlTtlSec(row.size));
  return { url, size: row.size };
}

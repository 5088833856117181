/**
 * Download URLs for managers: resources of suite hooks and of suite tasks
 * (relayed to managed workers, which hold no credentials). The manager must
 * be linked to the suite; attachments are the suite group's, artifacts must
 * belong to a task of a group that has a role on the manager.
 */
import type { AppDeps } from "../http/context.ts";
import { forbidden } from "../../shared/errors.ts";
import type { RemoteResource } from "../../shared/wire/tasks.ts";
import type { RemoteResourceDownloadResp } from "../../shared/wire/storage.ts";
import { getSuiteByUuid } from "../suites/store.ts";
import { getGroupById } from "../groups/store.ts";
import { attachmentStorageKey, getAttachment } from "../attachments/store.ts";
import { artifactKey, getArtifact } from "../artifacts/store.ts";
import { getTask } from "../tasks/store.ts";
import { downloadUrlTtlSec } from "../storage/blob_store.ts";

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
  const [role] = await deps.sql`
    SELECT 1 FROM group_node_manager WHERE group_id = ${task.group_id} AND node_manager_id = ${managerId}`;
  if (!role && task.group_id !== suite.group_id) {
    throw forbidden(`task ${uuid} belongs to a group this manager does not serve`);
  }
  const row = await getArtifact(deps.sql, uuid, content_type);
  const url = await deps.blobs.presignGet("artifacts", artifactKey(uuid, content_type), downloadUrlTtlSec(row.size));
  return { url, size: row.size };
}

/**
 * Mitosis: the typed SDK (client, credential cache, wire schemas and types)
 * and, when run as the main module, the `mitosis` CLI.
 *
 * @module
 */
export { ClientError, type HealthResp, MitosisClient, type MitosisClientOptions } from "./shared/client/client.ts";
export {
  type Credential,
  credentialPath,
  findCredential,
  readCredentials,
  saveCredential,
} from "./shared/client/credentials.ts";
export { md5Array } from "./shared/client/md5.ts";
export type {
  TaskFilterInput,
  TasksApi,
  TasksCancelByFilterResp,
  TasksCancelByUuidsResp,
} from "./shared/client/tasks_api.ts";
export type {
  ArtifactDownloadItem,
  ArtifactsApi,
  ArtifactsByFilterReq,
  ArtifactsDeleteByFilterResp,
  ArtifactsDeleteByUuidsResp,
} from "./shared/client/artifacts_api.ts";
export type {
  AttachmentDownloadItem,
  AttachmentMetadata,
  AttachmentsApi,
  AttachmentsByFilterReq,
  AttachmentsDeleteByFilterResp,
  AttachmentsDeleteByKeysResp,
  AttachmentsQueryReq,
  AttachmentsQueryResp,
} from "./shared/client/attachments_api.ts";
export type {
  WorkersApi,
  WorkerShutdownOp,
  WorkersShutdownByFilterReq,
  WorkersShutdownByFilterResp,
  WorkersShutdownByUuidsResp,
} from "./shared/client/workers_api.ts";
export type { ManagersApi, ManagerShutdownOp, ManagersQueryResp } from "./shared/client/managers_api.ts";
export type {
  AddSuiteManagersResp,
  CancelSuiteReq,
  CancelSuiteResp,
  SuitesApi,
  SuitesQueryResp,
} from "./shared/client/suites_api.ts";
export { downloadFile, type TransferProgress, type TransferResult, uploadFile } from "./shared/client/transfer.ts";
export * from "./shared/wire/common.ts";
export * from "./shared/wire/auth.ts";
export * from "./shared/wire/groups.ts";
export * from "./shared/wire/admin.ts";
export * from "./shared/wire/tasks.ts";
export * from "./shared/wire/workers.ts";
export * from "./shared/wire/managers.ts";
export * from "./shared/wire/suites.ts";
export * from "./shared/wire/storage.ts";

if (import.meta.main) {
  // Loaded only when run as the CLI, so SDK users do not load commander.
  const { runCli } = await import("./shared/cli/main.ts");
  Deno.exit(await runCli(Deno.args));
}

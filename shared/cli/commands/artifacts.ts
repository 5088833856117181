/**
 * `mitosis tasks artifacts …` (upload, download, delete, one or many) and
 * `mitosis admin tasks artifacts delete`.
 */
import type { Command } from "commander";
import type { ArtifactDownloadItem } from "../../client/artifacts_api.ts";
import { listValues, parseContentType, positiveInteger } from "../args.ts";
import type { CliContext } from "../context.ts";
import { formatBytes } from "../output.ts";
import { addTaskFilterOptions, taskFilter, type TaskFilterOptions } from "../task_options.ts";
import {
  downloadAll,
  type DownloadJob,
  joinPath,
  localFileSize,
  outputPath,
  renderDownloads,
  renderUrls,
  uploadWithProgress,
} from "../transfers.ts";

const TYPE_HELP = "artifact type: result, exec-log or std-log";

interface BatchOptions {
  output?: string;
  download?: boolean;
  concurrent: number;
}

/** Registers `artifacts` under the `tasks` command group. */
export function registerArtifactCommands(tasks: Command, ctx: CliContext): void {
  const artifacts = tasks.command("artifacts").description("task artifacts: upload, download, delete");

  artifacts
    .command("upload")
    .description("upload a file as a task's artifact (replacing one of the same type)")
    .argument("<file>", "local file")
    .argument("<uuid>", "task uuid")
    .argument("<type>", TYPE_HELP)
    .action(async (file: string, uuid: string, typeArg: string) => {
      const contentType = parseContentType(typeArg);
      const size = await localFileSize(file);
      const { client } = await ctx.authenticated();
      const { exist, url } = await client.artifacts.uploadUrl(uuid, contentType, size);
      await uploadWithProgress(ctx, url, file, size);
      const replaced = exist ? " (replacing the previous one)" : "";
      ctx.output().result(
        { uuid, content_type: contentType, size, exist },
        () => `Uploaded ${file} (${formatBytes(size)}) as the ${contentType} artifact of task ${uuid}${replaced}`,
      );
    });

  artifacts
    .command("download")
    .description("download a task's artifact (default file: <type>.tar.gz)")
    .argument("<uuid>", "task uuid")
    .argument("<type>", TYPE_HELP)
    .option("-o, --output <path>", "file to write, or an existing directory to write into")
    .option("--no-download", "only print the download URL")
    .action(async (uuid: string, typeArg: string, opts: { output?: string; download?: boolean }) => {
      const contentType = parseContentType(typeArg);
      const { client } = await ctx.authenticated();
      const { url, size } = await client.artifacts.downloadUrl(uuid, contentType);
      if (opts.download === false) {
        ctx.output().result({ url, size }, () => url);
        return;
      }
      const path = await outputPath(opts.output, `${contentType}.tar.gz`);
      await downloadAll(ctx, [{ url, size, path, label: `${uuid} ${contentType}` }]);
      ctx.output().result({ url, size, path }, () => `Downloaded ${formatBytes(size)} to ${path}`);
    });

  artifacts
    .command("delete")
    .description("delete a task's artifact")
    .argument("<uuid>", "task uuid")
    .argument("<type>", TYPE_HELP)
    .action(async (uuid: string, typeArg: string) => {
      const contentType = parseContentType(typeArg);
      const { client } = await ctx.authenticated();
      await client.artifacts.delete(uuid, contentType);
      ctx.output().done(`Deleted the ${contentType} artifact of task ${uuid}`);
    });

  registerBatchCommands(artifacts, ctx);
}

function addBatchDownloadOptions(command: Command): Command {
  return command
    .option("-o, --output <dir>", "directory to write <uuid>.tar.gz files into (default: the current one)")
    .option("--no-download", "only print the download URLs")
    .option("--concurrent <n>", "downloads at a time", positiveInteger, 1);
}

function registerBatchCommands(artifacts: Command, ctx: CliContext): void {
  addBatchDownloadOptions(
    addTaskFilterOptions(
      artifacts.command("download-many").description("download one artifact type of the tasks matching the filters"),
    ).argument("<type>", TYPE_HELP),
  ).action(async (typeArg: string, opts: TaskFilterOptions & BatchOptions) => {
    const contentType = parseContentType(typeArg);
    const filter = taskFilter(opts);
    const { client } = await ctx.authenticated();
    await fetchBatch(ctx, await client.artifacts.downloadByFilter({ ...filter, content_type: contentType }), opts);
  });

  addBatchDownloadOptions(
    artifacts
      .command("download-list")
      .description("download one artifact type of the given tasks")
      .argument("<type>", TYPE_HELP)
      .argument("<uuids...>", "task uuids (also comma-separated)"),
  ).action(async (typeArg: string, uuidArgs: string[], opts: BatchOptions) => {
    const contentType = parseContentType(typeArg);
    const { client } = await ctx.authenticated();
    await fetchBatch(ctx, await client.artifacts.downloadByUuids(listValues(uuidArgs) ?? [], contentType), opts);
  });

  addTaskFilterOptions(
    artifacts.command("delete-many").description("delete one artifact type of the tasks matching the filters"),
  ).argument("<type>", TYPE_HELP)
    .action(async (typeArg: string, opts: TaskFilterOptions) => {
      const contentType = parseContentType(typeArg);
      const filter = taskFilter(opts);
      const { client } = await ctx.authenticated();
      const resp = await client.artifacts.deleteByFilter({ ...filter, content_type: contentType });
      ctx.output().result(resp, () => `Deleted ${resp.deleted_count} ${contentType} artifact(s)`);
    });

  artifacts
    .command("delete-list")
    .description("delete one artifact type of the given tasks")
    .argument("<type>", TYPE_HELP)
    .argument("<uuids...>", "task uuids (also comma-separated)")
    .action(async (typeArg: string, uuidArgs: string[]) => {
      const contentType = parseContentType(typeArg);
      const uuids = listValues(uuidArgs) ?? [];
      const { client } = await ctx.authenticated();
      const resp = await client.artifacts.deleteByUuids(uuids, contentType);
      ctx.output().result(resp, () => {
        const summary = `Deleted ${resp.deleted_count} of ${uuids.length} ${contentType} artifact(s)`;
        if (resp.failed_uuids.length === 0) return summary;
        return `${summary}\nNot deleted:\n${resp.failed_uuids.map((u) => `  ${u}`).join("\n")}`;
      });
    });
}

/** Downloads (or with `--no-download` lists) a batch as `<dir>/<uuid>.tar.gz`. */
async function fetchBatch(ctx: CliContext, items: readonly ArtifactDownloadItem[], opts: BatchOptions): Promise<void> {
  const jobs: DownloadJob[] = items.map((item) => ({
    url: item.url,
    size: item.size,
    path: joinPath(opts.output, `${item.uuid}.tar.gz`),
    label: item.uuid,
  }));
  if (opts.download === false) {
    ctx.output().result({ downloads: items }, () => renderUrls(jobs));
    return;
  }
  await downloadAll(ctx, jobs, opts.concurrent);
  const downloads = items.map((item, i) => ({ ...item, path: jobs[i].path }));
  ctx.output().result({ downloads }, () => renderDownloads(jobs));
}

/** Registers `admin tasks artifacts delete` under the `admin` command group. */
export function registerAdminArtifactCommands(admin: Command, ctx: CliContext): void {
  admin
    .command("tasks")
    .description("any user's tasks")
    .command("artifacts")
    .description("any task's artifacts")
    .command("delete")
    .description("delete any task's artifact, however recent")
    .argument("<uuid>", "task uuid")
    .argument("<type>", TYPE_HELP)
    .action(async (uuid: string, typeArg: string) => {
      const contentType = parseContentType(typeArg);
      const { client } = await ctx.authenticated();
      await client.artifacts.adminDelete(uuid, contentType);
      ctx.output().done(`Deleted the ${contentType} artifact of task ${uuid}`);
    });
}

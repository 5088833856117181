/**
 * `mitosis groups attachments …`: a group's shared files (upload, download,
 * inspect, query, delete; one or many) and
 * `mitosis admin groups attachments delete`.
 */
import type { Command } from "commander";
import type { AttachmentDownloadItem, AttachmentMetadata } from "../../client/attachments_api.ts";
import { integer, positiveInteger } from "../args.ts";
import type { CliContext } from "../context.ts";
import { formatBytes, renderFields, renderTable } from "../output.ts";
import {
  baseName,
  downloadAll,
  type DownloadJob,
  joinPath,
  localFileSize,
  outputPath,
  renderDownloads,
  renderUrls,
  uploadWithProgress,
} from "../transfers.ts";

const GROUP_FLAGS = "-g, --group <group>";
const GROUP_HELP = "the attachments' group (default: your own group)";

interface FilterOptions {
  group?: string;
  key?: string;
  limit?: number;
  offset?: number;
}

interface BatchOptions {
  output?: string;
  download?: boolean;
  concurrent: number;
}

/**
 * The key an upload gets: `key` as given, the file's name when absent, and
 * `key` + file name when `key` ends with `/`.
 */
export function uploadKey(file: string, key: string | undefined): string {
  if (key === undefined || key === "") return baseName(file);
  return key.endsWith("/") ? `${key}${baseName(file)}` : key;
}

/** Registers `attachments` under the `groups` command group. */
export function registerAttachmentCommands(groups: Command, ctx: CliContext): void {
  const attachments = groups.command("attachments").description("a group's shared files");
  registerSingle(attachments, ctx);
  registerQuery(attachments, ctx);
  registerBatch(attachments, ctx);
}

function registerSingle(attachments: Command, ctx: CliContext): void {
  attachments
    .command("upload")
    .description("upload a file (replacing the attachment of the same key)")
    .argument("<file>", "local file")
    .argument("[key]", "key (default: the file's name; a key ending in / gets the file's name appended)")
    .option(GROUP_FLAGS, GROUP_HELP)
    .action(async (file: string, keyArg: string | undefined, opts: { group?: string }) => {
      const key = uploadKey(file, keyArg);
      const size = await localFileSize(file);
      const { client, username } = await ctx.authenticated();
      const group = opts.group ?? username;
      const { exist, url } = await client.attachments.uploadUrl(group, key, size);
      await uploadWithProgress(ctx, url, file, size);
      const replaced = exist ? " (replacing the previous one)" : "";
      ctx.output().result(
        { group_name: group, key, size, exist },
        () => `Uploaded ${file} (${formatBytes(size)}) as ${key} in group ${group}${replaced}`,
      );
    });

  attachments
    .command("download")
    .description("download an attachment (default file: the key, as a relative path)")
    .argument("<key>", "attachment key")
    .option(GROUP_FLAGS, GROUP_HELP)
    .option("-o, --output <path>", "file to write, or an existing directory to write into")
    .option("--no-download", "only print the download URL")
    .action(async (key: string, opts: { group?: string; output?: string; download?: boolean }) => {
      const { client, username } = await ctx.authenticated();
      const { url, size } = await client.attachments.downloadUrl(opts.group ?? username, key);
      if (opts.download === false) {
        ctx.output().result({ url, size }, () => url);
        return;
      }
      const path = await outputPath(opts.output, key);
      await downloadAll(ctx, [{ url, size, path, label: key }]);
      ctx.output().result({ url, size, path }, () => `Downloaded ${formatBytes(size)} to ${path}`);
    });

  attachments
    .command("get")
    .description("show an attachment's metadata")
    .argument("<key>", "attachment key")
    .option(GROUP_FLAGS, GROUP_HELP)
    .action(async (key: string, opts: { group?: string }) => {
      const { client, username } = await ctx.authenticated();
      const meta = await client.attachments.get(opts.group ?? username, key);
      ctx.output().result(meta, () => renderMetadata(key, meta));
    });

  attachments
    .command("delete")
    .description("delete an attachment (refused within an hour of its upload)")
    .argument("<key>", "attachment key")
    .option(GROUP_FLAGS, GROUP_HELP)
    .action(async (key: string, opts: { group?: string }) => {
      const { client, username } = await ctx.authenticated();
      const group = opts.group ?? username;
      await client.attachments.delete(group, key);
      ctx.output().done(`Deleted ${key} from group ${group}`);
    });
}

function addFilterOptions(command: Command): Command {
  return command
    .option(GROUP_FLAGS, GROUP_HELP)
    .option("-k, --key <text>", "attachments whose key contains this text")
    .option("--limit <n>", "at most this many attachments", integer)
    .option("--offset <n>", "skip this many attachments", integer);
}

function filterOf(opts: FilterOptions) {
  return { key: opts.key, limit: opts.limit, offset: opts.offset };
}

function registerQuery(attachments: Command, ctx: CliContext): void {
  addFilterOptions(attachments.command("query").description("list attachments"))
    .option("--count", "only count the matching attachments")
    .action(async (opts: FilterOptions & { count?: boolean }) => {
      const { client, username } = await ctx.authenticated();
      const resp = await client.attachments.query(opts.group ?? username, {
        ...filterOf(opts),
        count: opts.count === true,
      });
      ctx.output().result(resp, () => {
        if (opts.count === true) return String(resp.count);
        if (resp.attachments.length === 0) return `(no attachments in group ${resp.group_name})`;
        const rows = resp.attachments.map((a) => [a.key, formatBytes(a.size), a.updated_at]);
        return `${
          renderTable(["key", "size", "updated"], rows)
        }\n${rows.length} attachment(s) in group ${resp.group_name}`;
      });
    });
}

function addBatchDownloadOptions(command: Command): Command {
  return command
    .option("-o, --output <dir>", "directory to write the files into, by their names (default: the current one)")
    .option("--no-download", "only print the download URLs")
    .option("--concurrent <n>", "downloads at a time", positiveInteger, 1);
}

function registerBatch(attachments: Command, ctx: CliContext): void {
  addBatchDownloadOptions(addFilterOptions(attachments.command("download-many").description("download attachments")))
    .action(async (opts: FilterOptions & BatchOptions) => {
      const { client, username } = await ctx.authenticated();
      await fetchBatch(ctx, await client.attachments.downloadByFilter(opts.group ?? username, filterOf(opts)), opts);
    });

  addBatchDownloadOptions(
    attachments
      .command("download-list")
      .description("download attachments by key")
      .argument("<keys...>", "attachment keys")
      .option(GROUP_FLAGS, GROUP_HELP),
  ).action(async (keys: string[], opts: { group?: string } & BatchOptions) => {
    const { client, username } = await ctx.authenticated();
    await fetchBatch(ctx, await client.attachments.downloadByKeys(opts.group ?? username, keys), opts);
  });

  addFilterOptions(attachments.command("delete-many").description("delete the matching attachments"))
    .action(async (opts: FilterOptions) => {
      const { client, username } = await ctx.authenticated();
      const resp = await client.attachments.deleteByFilter(opts.group ?? username, filterOf(opts));
      ctx.output().result(resp, () => `Deleted ${resp.deleted_count} attachment(s) from group ${resp.group_name}`);
    });

  attachments
    .command("delete-list")
    .description("delete attachments by key")
    .argument("<keys...>", "attachment keys")
    .option(GROUP_FLAGS, GROUP_HELP)
    .action(async (keys: string[], opts: { group?: string }) => {
      const { client, username } = await ctx.authenticated();
      const resp = await client.attachments.deleteByKeys(opts.group ?? username, keys);
      ctx.output().result(resp, () => {
        const summary = `Deleted ${resp.deleted_count} of ${keys.length} attachment(s) from group ${resp.group_name}`;
        if (resp.failed_keys.length === 0) return summary;
        return `${summary}\nNot deleted:\n${resp.failed_keys.map((k) => `  ${k}`).join("\n")}`;
      });
    });
}

/** Downloads (or with `--no-download` lists) a batch as `<dir>/<file name of the key>`. */
async function fetchBatch(
  ctx: CliContext,
  items: readonly AttachmentDownloadItem[],
  opts: BatchOptions,
): Promise<void> {
  const jobs: DownloadJob[] = items.map((item) => ({
    url: item.url,
    size: item.size,
    path: joinPath(opts.output, baseName(item.key)),
    label: item.key,
  }));
  if (opts.download === false) {
    ctx.output().result({ downloads: items }, () => renderUrls(jobs));
    return;
  }
  await downloadAll(ctx, jobs, opts.concurrent);
  const downloads = items.map((item, i) => ({ ...item, path: jobs[i].path }));
  ctx.output().result({ downloads }, () => renderDownloads(jobs));
}

function renderMetadata(key: string, meta: AttachmentMetadata): string {
  return renderFields([
    ["Key", key],
    ["Size", `${formatBytes(meta.size)} (${meta.size} bytes)`],
    ["Type", meta.content_type],
    ["Created", meta.created_at],
    ["Updated", meta.updated_at],
  ]);
}

/** Registers `attachments delete` under `admin groups`. */
export function registerAdminAttachmentCommands(adminGroups: Command, ctx: CliContext): void {
  adminGroups
    .command("attachments")
    .description("any group's attachments")
    .command("delete")
    .description("delete any group's attachment, however recent")
    .argument("<group>", "group")
    .argument("<key>", "attachment key")
    .action(async (group: string, key: string) => {
      const { client } = await ctx.authenticated();
      await client.attachments.adminDelete(group, key);
      ctx.output().done(`Deleted ${key} from group ${group}`);
    });
}

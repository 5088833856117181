/**
 * Upload and download steps of the artifact and attachment commands:
 * progress bars, output path rules, bounded concurrency for batches and
 * the summaries they print.
 */
import { downloadFile, uploadFile } from "../client/transfer.ts";
import type { CliContext } from "./context.ts";
import { CliError } from "./errors.ts";
import { formatBytes, renderTable } from "./output.ts";
import { progressBars, wantProgress } from "./progress.ts";

/** One file to fetch from a presigned URL. */
export interface DownloadJob {
  /** Presigned GET URL. */
  url: string;
  /** Expected size in bytes. */
  size: number;
  /** Local destination. */
  path: string;
  /** Name shown on the progress bar and in errors. */
  label: string;
}

/** Size of a local file to upload; a clear error when it is missing or not a file. */
export async function localFileSize(path: string): Promise<number> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!info.isFile) throw new CliError(`${path} is not a regular file`);
  return info.size;
}

/** PUTs `path` to `url`, with a progress bar when the terminal allows. */
export async function uploadWithProgress(ctx: CliContext, url: string, path: string, size: number): Promise<void> {
  const bars = progressBars(wantProgress(ctx.output().json));
  try {
    const bar = bars.bar(baseName(path), size);
    await uploadFile(url, path, bar.onProgress);
    bar.done();
  } finally {
    bars.stop();
  }
}

/**
 * Downloads `jobs`, at most `concurrent` at a time, with a bar each. Every
 * job is attempted; afterwards the failures (if any) are reported together.
 */
export async function downloadAll(ctx: CliContext, jobs: readonly DownloadJob[], concurrent = 1): Promise<void> {
  const bars = progressBars(wantProgress(ctx.output().json));
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const bar = bars.bar(job.label, job.size);
      try {
        await downloadFile(job.url, job.path, bar.onProgress);
        bar.done();
      } catch (error) {
        failures.push(`${job.label}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrent, jobs.length)) }, worker));
  } finally {
    bars.stop();
  }
  if (failures.length === 1 && jobs.length === 1) throw new CliError(failures[0]);
  if (failures.length > 0) {
    throw new CliError(`${failures.length} of ${jobs.length} downloads failed:\n  ${failures.join("\n  ")}`);
  }
}

/**
 * Where a single download goes: `output` when it names a file, `output/name`
 * when it is an existing directory (or ends with `/`), `name` without it.
 */
export async function outputPath(output: string | undefined, name: string): Promise<string> {
  if (output === undefined) return name;
  if (output.endsWith("/") || await isDirectory(output)) return joinPath(output, name);
  return output;
}

/** `dir/name` (`dir` defaults to the working directory). */
export function joinPath(dir: string | undefined, name: string): string {
  if (dir === undefined || dir === "" || dir === ".") return name;
  return `${dir.replace(/\/+$/, "")}/${name}`;
}

/** Last path component. */
export function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) || trimmed;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Human listing of downloaded files: name, size, path. */
export function renderDownloads(jobs: readonly DownloadJob[]): string {
  if (jobs.length === 0) return "(nothing to download)";
  return renderTable(["name", "size", "path"], jobs.map((j) => [j.label, formatBytes(j.size), j.path]));
}

/** Human listing of presigned URLs (`--no-download`). */
export function renderUrls(jobs: readonly DownloadJob[]): string {
  if (jobs.length === 0) return "(nothing to download)";
  return renderTable(["name", "size", "url"], jobs.map((j) => [j.label, formatBytes(j.size), j.url]));
}

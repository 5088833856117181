/** Human renderings of tasks, task lists and task results. */
import type { TaskQueryInfo, TaskQueryResp, TaskResultSpec, TaskSpec } from "../../wire/tasks.ts";
import { formatBytes, renderFields, renderTable } from "../output.ts";

/** `-` for empty values. */
const orDash = (text: string | null | undefined) => (text === null || text === undefined || text === "" ? "-" : text);

/** A list as `a, b`, or `-`. */
export const list = (items: readonly string[]) => orDash(items.join(", "));

/** A command line, quoting the arguments that need it. */
export function commandLine(args: readonly string[]): string {
  return args.map((a) => (a === "" || /[\s"'\\$`]/.test(a) ? JSON.stringify(a) : a)).join(" ");
}

/** Seconds as the shortest exact unit: `90s`, `10m`, `2h`. */
export function formatSeconds(seconds: number): string {
  if (seconds !== 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds !== 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * A result as people read it: the raw wait status decoded (`exit 3` for
 * 768, `signal 9` for 9) and the reason when there is one.
 */
export function describeResult(result: TaskResultSpec | null): string {
  if (result === null) return "-";
  const status = result.exit_status;
  const signal = status & 0x7f;
  const decoded = signal === 0 ? `exit ${(status >> 8) & 0xff}` : `signal ${signal}`;
  return result.msg === null ? decoded : `${decoded} (${result.msg})`;
}

function describeSpec(spec: TaskSpec): [string, string][] {
  const resources = spec.resources.map((r) => {
    const from = "Artifact" in r.remote_file
      ? `artifact ${r.remote_file.Artifact.uuid}:${r.remote_file.Artifact.content_type}`
      : `attachment ${r.remote_file.Attachment.key}`;
    return `${from} -> ${r.local_path}`;
  });
  return [
    ["Command", commandLine(spec.args)],
    ["Envs", list(Object.entries(spec.envs).map(([k, v]) => `${k}=${v}`))],
    ["Resources", list(resources)],
    ["Terminal", spec.terminal_output ? "captured" : "not captured"],
    ["Watch", spec.watch === null ? "-" : `${spec.watch[0]} reaches ${spec.watch[1]}`],
  ];
}

/** All fields of one task. */
export function renderTaskInfo(info: TaskQueryInfo): string {
  return renderFields([
    ["UUID", info.uuid],
    ["Task ID", String(info.task_id)],
    ["Group", info.group_name],
    ["Creator", info.creator_username],
    ["State", info.state],
    ["Priority", String(info.priority)],
    ["Timeout", formatSeconds(info.timeout)],
    ["Tags", list(info.tags)],
    ["Labels", list(info.labels)],
    ...describeSpec(info.spec),
    ["Result", describeResult(info.result)],
    ["Reporter", orDash(info.reporter_uuid)],
    ["Upstream", orDash(info.upstream_task_uuid)],
    ["Downstream", orDash(info.downstream_task_uuid)],
    ["Created", info.created_at],
    ["Updated", info.updated_at],
  ]);
}

/** A task with its artifacts (`tasks get`). */
export function renderTask(resp: TaskQueryResp): string {
  const info = renderTaskInfo(resp.info);
  if (resp.artifacts.length === 0) return `${info}\nArtifacts: (none)`;
  const rows = resp.artifacts.map((a) => [a.content_type, formatBytes(a.size), a.updated_at]);
  return `${info}\nArtifacts:\n${renderTable(["type", "size", "updated"], rows).replace(/^/gm, "  ")}`;
}

/** Tasks as a table, or with every field when `verbose`. */
export function renderTaskList(tasks: readonly TaskQueryInfo[], verbose: boolean): string {
  if (tasks.length === 0) return "(no tasks)";
  if (verbose) return tasks.map(renderTaskInfo).join("\n\n");
  const rows = tasks.map((t) => [
    t.uuid,
    String(t.task_id),
    t.state,
    String(t.priority),
    list(t.tags),
    describeResult(t.result),
    commandLine(t.spec.args),
  ]);
  return renderTable(["uuid", "id", "state", "priority", "tags", "result", "command"], rows);
}

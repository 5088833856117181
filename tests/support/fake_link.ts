/**
 * An in-memory `CoordinatorLink` for suite-execution tests: a list of
 * managed tasks claimed by `fetchTasks` (attempt + 1 per claim), reports
 * accepted only for held tasks at their attempt, and every call recorded
 * (fetch sizes, reports, failures, aborts, returns) for assertions. This is
 * a unit-level seam: the real coordinator path is covered by the manager's
 * end-to-end tests.
 */
import type { CoordinatorLink, ReportAck } from "../../manager/contracts.ts";
import type { ManagedTask, ManagerReportOp } from "../../shared/wire/manager_ws.ts";
import type { SuiteInfo } from "../../shared/wire/suites.ts";
import type { TaskResultSpec, TaskSpec } from "../../shared/wire/tasks.ts";

/** One relayed report. */
export interface RecordedReport {
  taskUuid: string;
  attempt: number;
  op: ManagerReportOp;
}

/** The name of a report operation. */
export function opName(op: ManagerReportOp): string {
  return typeof op === "string" ? op : Object.keys(op)[0];
}

/** The fake coordinator side of one suite. */
export class FakeLink implements CoordinatorLink {
  readonly suiteUuid = crypto.randomUUID();
  readonly tasks = new Map<string, ManagedTask>();
  /** Tasks waiting to be claimed, in claim order. */
  readonly ready: ManagedTask[] = [];
  /** Tasks claimed and neither committed, aborted nor returned. */
  readonly held = new Set<string>();
  /** Commits per task uuid (more than one would be a duplicate). */
  readonly commits = new Map<string, TaskResultSpec[]>();
  readonly reports: RecordedReport[] = [];
  /** `max_count` of every fetch. */
  readonly fetchSizes: number[] = [];
  /** Tasks claimed by every fetch (0 for an empty one). */
  readonly fetchClaims: number[] = [];
  readonly failures: { taskUuid: string; failureCount: number; errorMessage: string; workerLocalId: number }[] = [];
  readonly aborts: { taskUuid: string; reason: string }[] = [];
  readonly returns: string[][] = [];
  /** While true the suite is Open (more tasks may come); else Closed, then Complete once every task is final. */
  open = false;
  /** Set to answer `Cancelled` as the suite state. */
  cancelled = false;
  /** Base URL of the presigned upload URLs handed out (`<base>/<task uuid>-<content type>`). */
  uploadBase = "http://127.0.0.1:9/uploads";
  /** While set, reports are answered only once it resolves (a coordinator out of reach). */
  reportGate: Promise<void> | null = null;
  /** Reports sent to this link, answered or not. */
  reportsReceived = 0;
  /** How long the coordinator takes to process a failure report with this count (default at once). */
  failureDelayMs: (failureCount: number) => number = () => 0;
  #nextId = 1;

  /** Adds tasks running `args` (one per entry). */
  addTasks(argsList: string[][], spec: Partial<TaskSpec> = {}, timeout = "1m"): ManagedTask[] {
    const added = argsList.map((args) => {
      const task: ManagedTask = {
        id: this.#nextId++,
        uuid: crypto.randomUUID(),
        timeout,
        spec: { args, envs: {}, resources: [], terminal_output: false, watch: null, ...spec },
        upstream_task_uuid: null,
        attempt: 0,
        suite_uuid: this.suiteUuid,
      };
      this.tasks.set(task.uuid, task);
      this.ready.push(task);
      return task;
    });
    return added;
  }

  /** The suite state as the coordinator would report it. */
  get state(): "Open" | "Closed" | "Complete" | "Cancelled" {
    if (this.cancelled) return "Cancelled";
    if (this.open) return "Open";
    const final = [...this.tasks.keys()].every((uuid) => this.commits.has(uuid) || this.isAborted(uuid));
    return final && this.ready.length === 0 ? "Complete" : "Closed";
  }

  isAborted(uuid: string): boolean {
    return this.aborts.some((a) => a.taskUuid === uuid);
  }

  /** Report operation names of task `uuid`, in order. */
  opsOf(uuid: string): string[] {
    return this.reports.filter((r) => r.taskUuid === uuid).map((r) => opName(r.op));
  }

  /** Failure counts reported for task `uuid`, in order. */
  failuresOf(uuid: string): number[] {
    return this.failures.filter((f) => f.taskUuid === uuid).map((f) => f.failureCount);
  }

  fetchTasks(suiteUuid: string, maxCount: number): Promise<{ tasks: ManagedTask[]; suiteState: string | null }> {
    if (suiteUuid !== this.suiteUuid) return Promise.resolve({ tasks: [], suiteState: null });
    this.fetchSizes.push(maxCount);
    const claimed = this.ready.splice(0, maxCount).map((task) => {
      const next = { ...task, attempt: task.attempt + 1 };
      this.tasks.set(task.uuid, next);
      this.held.add(task.uuid);
      return next;
    });
    this.fetchClaims.push(claimed.length);
    return Promise.resolve({ tasks: claimed, suiteState: this.state });
  }

  async reportTask(taskId: number, attempt: number, op: ManagerReportOp): Promise<ReportAck> {
    this.reportsReceived++;
    await this.reportGate;
    const task = [...this.tasks.values()].find((t) => t.id === taskId);
    if (task === undefined || !this.held.has(task.uuid) || task.attempt !== attempt) {
      return Promise.resolve({ success: false, error: `task ${taskId} is not held at attempt ${attempt}` });
    }
    this.reports.push({ taskUuid: task.uuid, attempt, op });
    const result = typeof op !== "object" ? null : "Commit" in op ? op.Commit : "Complete" in op ? op.Complete : null;
    if (result !== null) {
      this.held.delete(task.uuid);
      const list = this.commits.get(task.uuid) ?? [];
      list.push({ exit_status: result.exit_status, msg: result.msg ?? null });
      this.commits.set(task.uuid, list);
    }
    const url = typeof op === "object" && "Upload" in op
      ? `${this.uploadBase}/${task.uuid}-${op.Upload.content_type}`
      : null;
    return Promise.resolve({ success: true, url, error: null });
  }

  async reportFailure(
    taskUuid: string,
    failureCount: number,
    errorMessage: string,
    workerLocalId: number,
  ): Promise<void> {
    // Recorded when "processed": after the delay, as a coordinator answering late would.
    await new Promise((resolve) => setTimeout(resolve, this.failureDelayMs(failureCount)));
    this.failures.push({ taskUuid, failureCount, errorMessage, workerLocalId });
  }

  abortTask(taskUuid: string, reason: string): Promise<void> {
    this.aborts.push({ taskUuid, reason });
    this.held.delete(taskUuid);
    return Promise.resolve();
  }

  returnTasks(taskUuids: string[]): Promise<void> {
    this.returns.push([...taskUuids]);
    for (const uuid of taskUuids) {
      if (!this.held.delete(uuid)) continue;
      this.ready.unshift(this.tasks.get(uuid)!);
    }
    return Promise.resolve();
  }

  /** A `SuiteInfo` for this suite with the given schedule. */
  suite(schedule: Partial<SuiteInfo["worker_schedule"]> & { worker_count: number }): SuiteInfo {
    return {
      uuid: this.suiteUuid,
      name: "pool-test",
      description: null,
      group_name: "g",
      creator_username: "u",
      tags: [],
      labels: [],
      priority: 0,
      state: 0,
      state_name: "Open",
      total_tasks: this.tasks.size,
      pending_tasks: this.tasks.size,
      worker_schedule: { task_prefetch_count: 16, cpu_binding: null, gpu_binding: null, ...schedule },
      env_preparation: null,
      env_cleanup: null,
      created_at: "2026-01-01 00:00:00.000 +00:00:00",
      updated_at: "2026-01-01 00:00:00.000 +00:00:00",
      completed_at: null,
      last_task_submitted_at: null,
      assigned_managers: [],
    };
  }
}

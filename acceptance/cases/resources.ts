/**
 * Case 8.4.4 of the acceptance guide: resource profiling. Two runs on real
 * processes, each on a fleet of its own (`acceptance/support/fleet.ts`):
 * one manager × 16 workers (as 8.4.1) and several managers × 2 workers on
 * one suite (as 8.4.2). Every 250 ms `acceptance/support/sampler.ts` reads
 * the RSS, open file descriptors and CPU time of the coordinator, each
 * manager and each managed worker (PostgreSQL's backends are not sampled:
 * the cluster is shared with the other cases).
 *
 * Each run: the managers connect and idle (baseline), then a suite of no-op
 * tasks is created and submitted (its execution starts with the first
 * tasks), runs to Complete, the workers exit, 2 s settle (after). A leak
 * fails the case:
 *
 * - **memory levels off**: over the suite's execution, split into thirds,
 *   the last third's peak RSS of each process exceeds the middle third's by
 *   at most 8 MiB or 10 % (`LEAK_RULE` of the sampler);
 * - **descriptors level off**: the last third's peak exceeds the middle
 *   third's by at most 2;
 * - **descriptors return to baseline** after the suite: each manager's
 *   count equals its count before the suite; the coordinator's, without its
 *   database connections (its pools open them on demand and keep them), is
 *   at most its count before plus 2 (the keep-alive HTTP connections of
 *   this case's own client), and its database connections stay within its
 *   pools (10 + 4, the availability probe's 1 and the push bus's listening
 *   connection: 16);
 * - no managed worker is left after the suite.
 *
 * Figures: the processes sampled; the largest growth of any process's RSS
 * (MiB) and descriptors (last third's peak over the middle third's); per
 * run and role, start (idle before the suite) / peak / end (idle after) RSS
 * and descriptors, the largest over the role's processes (a worker's first
 * and last samples), and CPU per task. The samples are written to
 * `<dir>/resources-<run>.json`.
 */
import type { AcceptanceCase, CaseContext, CaseOutcome } from "../case.ts";
import { pause } from "../../worker/pause.ts";
import { Checks, leading } from "../support/checks.ts";
import { Fleet } from "../support/fleet.ts";
import {
  cpuBetween,
  type GrowthVerdict,
  LEAK_RULE,
  openFds,
  type ProcessSeries,
  ResourceSampler,
  type Role,
  sampleAt,
  socketsToPort,
  steadyGrowth,
} from "../support/sampler.ts";
import { round } from "../support/statistics.ts";

/** One profiled run. */
interface RunPlan {
  /** Key prefix of its figures. */
  name: string;
  managers: number;
  workers: number;
  tasks: number;
}

/** The runs per scale. */
const RUNS: Record<"quick" | "full", RunPlan[]> = {
  quick: [
    { name: "single", managers: 1, workers: 16, tasks: 1_200 },
    { name: "many", managers: 4, workers: 2, tasks: 1_200 },
  ],
  full: [
    { name: "single", managers: 1, workers: 16, tasks: 10_000 },
    { name: "many", managers: 10, workers: 2, tasks: 10_000 },
  ],
};

/** Descriptors of the coordinator after the suite beyond its count before (this case's keep-alive connections). */
const COORDINATOR_FD_SLACK = 2;
/**
 * The coordinator's database connections at most (`coordinator/server.ts`): its pools of 10 (main) and 4
 * (dispatch), its availability probe's 1 and the push bus's listening connection.
 */
const COORDINATOR_DB_CONNECTIONS = 16;

const n = (value: number) => value.toLocaleString("en-US");
const roles: Role[] = ["coordinator", "manager", "worker"];

/** Descriptors of the coordinator and each manager at one moment. */
interface FdSnapshot {
  /** The coordinator's descriptors without its database connections, and those connections. */
  coordinatorOther: number;
  coordinatorDatabase: number;
  managers: Map<string, number>;
}

function fdSnapshot(fleet: Fleet): FdSnapshot {
  const database = socketsToPort(fleet.coordinatorPid, fleet.databasePort);
  return {
    coordinatorOther: openFds(fleet.coordinatorPid) - database,
    coordinatorDatabase: database,
    managers: new Map(fleet.managers.map((m) => [m.name, openFds(m.pid)])),
  };
}

/** Runs one plan and adds its checks and figures. */
async function profileRun(
  ctx: CaseContext,
  plan: RunPlan,
  checks: Checks,
  figures: Record<string, number | string>,
): Promise<void> {
  const label = `${plan.name} (${plan.managers} × ${plan.workers} × ${n(plan.tasks)})`;
  ctx.log(`run ${label}`);
  await using fleet = await Fleet.start(ctx);
  using sampler = new ResourceSampler(() => fleet.watch());
  await fleet.startManagers(plan.managers, { workers: plan.workers });
  await pause(1_000, ctx.signal);
  sampler.sampleNow();
  const before = fdSnapshot(fleet);
  const beforeAt = sampler.mark("before");

  const started = sampler.mark("started");
  const suite = await fleet.createSuite(plan.tasks, { worker_count: plan.workers, task_prefetch_count: 64 });
  await fleet.waitComplete(suite, 1_800_000);
  const complete = sampler.mark("complete");
  sampler.sampleNow();
  await fleet.waitWorkersGone(60_000);
  await pause(2_000, ctx.signal);
  sampler.sampleNow();
  const after = fdSnapshot(fleet);
  const afterAt = sampler.mark("after");
  sampler.stop();
  const finished = await fleet.finishedOk();
  const series = sampler.series();
  await Deno.writeTextFile(
    `${ctx.dir}/resources-${plan.name}.json`,
    JSON.stringify({ plan, marks: { before: beforeAt, started, complete, after: afterAt }, series }),
  );

  checks.equals(`${label}: tasks Finished with exit status 0`, finished, plan.tasks);

  // Growth over the execution; a worker's phase is its own life within it.
  const verdicts: (GrowthVerdict & { samples: number })[] = [];
  const undecided: string[] = [];
  for (const s of series) {
    const from = s.role === "worker" ? Math.max(started, s.samples[0].atMs) : started;
    const to = s.role === "worker" ? Math.min(complete, s.samples[s.samples.length - 1].atMs) : complete;
    const verdict = steadyGrowth(s, from, to);
    if (verdict === null) undecided.push(s.name);
    else verdicts.push({ ...verdict, samples: s.samples.length });
  }
  checks.that(
    `${label}: every process sampled long enough for a verdict (${LEAK_RULE.minSamplesPerThird}+ samples a third)`,
    undecided.length === 0,
    undecided.length === 0 ? `${verdicts.length} processes` : `too short: ${undecided.join(", ")}`,
  );
  for (const role of roles) {
    const of = verdicts.filter((v) => v.role === role);
    if (of.length === 0) continue;
    const worstRss = of.reduce((a, b) => (b.lastRssMiB - b.middleRssMiB > a.lastRssMiB - a.middleRssMiB ? b : a));
    const worstFds = of.reduce((a, b) => (b.lastFds - b.middleFds > a.lastFds - a.middleFds ? b : a));
    const leaking = of.filter((v) => v.rssLeak).map((v) => v.name);
    checks.that(
      `${label}: ${role} memory levels off (peak RSS, last third vs middle third of the run)`,
      leaking.length === 0,
      `largest growth ${worstRss.name} ${worstRss.middleRssMiB.toFixed(1)} → ${worstRss.lastRssMiB.toFixed(1)} MiB` +
        ` of ${of.length} process(es)${leaking.length === 0 ? "" : `; leaking: ${leaking.join(", ")}`}` +
        ` (allowed: ${LEAK_RULE.rssSlackMiB} MiB or ${100 * LEAK_RULE.rssSlackFraction} %)`,
    );
    const fdLeaking = of.filter((v) => v.fdLeak).map((v) => v.name);
    checks.that(
      `${label}: ${role} descriptors level off (peak, last third vs middle third)`,
      fdLeaking.length === 0,
      `largest growth ${worstFds.name} ${worstFds.middleFds} → ${worstFds.lastFds}` +
        `${fdLeaking.length === 0 ? "" : `; leaking: ${fdLeaking.join(", ")}`} (allowed: +${LEAK_RULE.fdSlack})`,
    );
  }
  checks.atMost(
    `${label}: coordinator descriptors after the suite, database connections aside (before: ${before.coordinatorOther})`,
    after.coordinatorOther,
    before.coordinatorOther + COORDINATOR_FD_SLACK,
    "",
  );
  checks.atMost(
    `${label}: coordinator database connections after the suite (before: ${before.coordinatorDatabase})`,
    after.coordinatorDatabase,
    COORDINATOR_DB_CONNECTIONS,
    "",
  );
  const managerFds = fleet.managers.map((m) => ({
    name: m.name,
    before: before.managers.get(m.name) ?? 0,
    after: after.managers.get(m.name) ?? 0,
  }));
  const notBack = managerFds.filter((m) => m.after > m.before);
  checks.that(
    `${label}: manager descriptors back to their count before the suite`,
    notBack.length === 0,
    managerFds.map((m) => `${m.name} ${m.before} → ${m.after}`).join(", "),
  );
  const left = fleet.managers.reduce((sum, m) => sum + fleet.workerPids(m).length, 0);
  checks.equals(`${label}: managed workers left after the suite`, left, 0);

  const growth = (key: string, value: number) => {
    if (Number.isFinite(value)) figures[key] = Math.max(Number(figures[key] ?? -Infinity), value);
  };
  growth("largest_rss_growth_mib", round(Math.max(...verdicts.map((v) => v.lastRssMiB - v.middleRssMiB)), 1));
  growth("largest_fd_growth", Math.max(...verdicts.map((v) => v.lastFds - v.middleFds)));
  figures.processes_sampled = Number(figures.processes_sampled ?? 0) + series.length;
  for (const role of roles) addRoleFigures(figures, `${plan.name}_${role}`, sampler.byRole(role), beforeAt, afterAt);
  figures[`${plan.name}_tasks`] = plan.tasks;
  figures[`${plan.name}_duration_s`] = round((complete - started) / 1000, 2);
  for (const role of roles) {
    const cpu = sampler.byRole(role).reduce((sum, s) => sum + cpuBetween(s, beforeAt, afterAt), 0);
    figures[`${plan.name}_${role}_cpu_ms_per_task`] = round(1000 * cpu / plan.tasks, 2);
  }
  figures[`${plan.name}_coordinator_db_connections_after`] = after.coordinatorDatabase;
}

/**
 * Start, peak and end RSS and descriptors of a role, each the largest of its
 * processes: start and end are the samples at the `before` and `after`
 * marks (idle, connected), a worker's its first and last samples (it lives
 * only while the suite runs).
 */
function addRoleFigures(
  figures: Record<string, number | string>,
  prefix: string,
  series: ProcessSeries[],
  beforeAt: number,
  afterAt: number,
): void {
  if (series.length === 0) return;
  const largest = (pick: (s: ProcessSeries) => number) => Math.max(...series.map(pick));
  const start = (s: ProcessSeries) => (s.role === "worker" ? s.samples[0] : sampleAt(s, beforeAt)!);
  const end = (s: ProcessSeries) => (s.role === "worker" ? s.samples[s.samples.length - 1] : sampleAt(s, afterAt)!);
  figures[`${prefix}_processes`] = series.length;
  figures[`${prefix}_rss_start_mib`] = round(largest((s) => start(s).rssMiB), 1);
  figures[`${prefix}_rss_peak_mib`] = round(largest((s) => Math.max(...s.samples.map((x) => x.rssMiB))), 1);
  figures[`${prefix}_rss_end_mib`] = round(largest((s) => end(s).rssMiB), 1);
  figures[`${prefix}_fds_start`] = largest((s) => start(s).fds);
  figures[`${prefix}_fds_peak`] = largest((s) => Math.max(...s.samples.map((x) => x.fds)));
  figures[`${prefix}_fds_end`] = largest((s) => end(s).fds);
}

/** 8.4.4: memory and descriptors over time of every process, in two runs; leaks fail. */
async function profile(ctx: CaseContext): Promise<CaseOutcome> {
  const plans = RUNS[ctx.scale];
  const checks = new Checks();
  const figures: Record<string, number | string> = { sample_interval_ms: 250 };
  for (const plan of plans) await profileRun(ctx, plan, checks, figures);
  const scale = plans.map((p) => `${p.managers} × ${p.workers} workers × ${n(p.tasks)} tasks`).join(", then ");
  return checks.outcome(
    `${scale}, sampled every 250 ms (guide: stable memory over 24 hours; runs of 8.4.1 and 8.4.2)`,
    leading(figures, ["processes_sampled", "largest_rss_growth_mib", "largest_fd_growth"]),
  );
}

/** The resource case. */
export const cases: AcceptanceCase[] = [
  {
    id: "8.4.4",
    title: "Resource profiling: RSS and file descriptors of every process over time, leaks fail",
    limitS: { quick: 300, full: 1_800 },
    run: profile,
  },
];

/**
 * The guide's cases that existing real-process tests already prove: each
 * runs those tests (`acceptance/test_backed.ts`) and lists, next to each
 * test, what of the guide it proves, then what the guide asks that no test
 * covers. Tests are named exactly, so a renamed test fails its case ("not
 * found") instead of silently dropping out.
 */
import type { AcceptanceCase } from "../case.ts";
import { testBackedCase } from "../test_backed.ts";

const E2E = "tests/suite_end_to_end.test.ts";
const DISPATCH = "tests/suite_dispatch.test.ts";
const FAILURES = "tests/suite_failures.test.ts";
const MANAGER_PROCESS = "tests/manager_process.test.ts";
const SUITES_API = "tests/suites_api.test.ts";

/** 8.2.1's scale knobs (read by tests/suite_multi_manager.test.ts). */
const MULTI = {
  quick: { managers: 3, workers: 4, tasks: 600 },
  full: { managers: 10, workers: 4, tasks: 10_000 },
} as const;

const multiEnv = (s: { managers: number; workers: number; tasks: number }) => ({
  MITOSIS_TEST_MULTI_MANAGERS: String(s.managers),
  MITOSIS_TEST_MULTI_WORKERS: String(s.workers),
  MITOSIS_TEST_MULTI_TASKS: String(s.tasks),
});

const multiScale = (s: { managers: number; workers: number; tasks: number }) =>
  `${s.managers} managers × ${s.workers} workers × ${s.tasks.toLocaleString("en-US")} tasks (guide: 10 × 16 × 10,000)`;

/** The test-backed cases, in guide order. */
export const cases: AcceptanceCase[] = [
  testBackedCase({
    id: "8.1.1",
    title: "Basic suite execution",
    limitS: { quick: 180, full: 180 },
    scale: {
      quick: "1 manager × 4 workers × 100 tasks (the guide's)",
      full: "1 manager × 4 workers × 100 tasks (the guide's)",
    },
    tests: [{
      file: E2E,
      name:
        "8.1.1: 100 tasks on 4 managed workers: hooks around the tasks, every state reported, all committed, nothing left",
      covers:
        "Idle→Preparing→Executing→Cleanup→Idle seen by the coordinator, hooks in order with TEST_ENV, 4 workers " +
        "spawned and connected over IPC, suite Complete (state 2, 100 total, 0 pending), every task archived " +
        "Finished once, manager Idle with no suite, no process of the suite left",
    }],
    notCovered: [],
  }),
  testBackedCase({
    id: "8.1.2",
    title: "Suite with resource downloads",
    limitS: { quick: 180, full: 180 },
    scale: { quick: "1 manager × 2 workers × 4 tasks", full: "1 manager × 2 workers × 4 tasks" },
    tests: [
      {
        file: E2E,
        name: "8.1.2: a preparation script stored in S3 is downloaded before the hook runs; its envs reach the tasks",
        covers:
          "a script in an S3 server (s3rver) downloaded into the work dir and run by the hook; DATA_DIR reaches " +
          "the tasks",
      },
      {
        file: MANAGER_PROCESS,
        name: "preparation resources are downloaded into the work dir before the hook runs; a missing one fails it",
        covers: "download before the hook; a missing resource fails the preparation",
        fullOnly: true,
      },
    ],
    notCovered: [
      'the guide\'s remote_file {"S3": {bucket, key}} form: the v0.6.8 wire names resources ' +
      '{"Attachment": {key}} / {"Artifact": …}, stored in S3; that is what the tests use',
      "S3 access denied (as opposed to a missing object) during the preparation download",
    ],
  }),
  testBackedCase({
    id: "8.1.3",
    title: "Suite auto-close timeout",
    limitS: { quick: 180, full: 180 },
    scale: {
      quick: "auto-close after 1 s instead of 3 min; 10 + 10 + 4 tasks",
      full: "auto-close after 1 s instead of 3 min; 10 + 10 + 4 tasks",
    },
    tests: [
      {
        file: E2E,
        name: "8.1.3: a suite auto-closes while its tasks run, reopens on new tasks, and the manager runs those too",
        covers: "Open→Closed without new tasks, Closed→Open on a submission, the manager runs the new tasks",
      },
      {
        file: SUITES_API,
        name: "auto-close: an Open suite without new tasks for suite_auto_close is Closed, and a new task reopens it",
        fullOnly: true,
      },
    ],
    notCovered: ["waiting the 3-minute default: suite_auto_close is set to 1 s (the same code path)"],
  }),
  testBackedCase({
    id: "8.2.1",
    title: "Multiple managers competing for the same suite",
    limitS: { quick: 240, full: 2400 },
    scale: { quick: multiScale(MULTI.quick), full: multiScale(MULTI.full) },
    env: { quick: multiEnv(MULTI.quick), full: multiEnv(MULTI.full) },
    tests: [{
      file: "tests/suite_multi_manager.test.ts",
      name: "8.2.1: ",
      prefix: true,
      covers: "every manager gets at least a tenth (a third of an even share past 3 managers), no task runs twice, " +
        "every task archived Finished at attempt 1, the suite Complete, each manager's own count matches",
    }],
    notCovered: [
      "separate machines: every manager runs on this one",
      "a balance measure (Gini): the test only bounds each manager's share from below",
    ],
  }),
  testBackedCase({
    id: "8.2.2",
    title: "Tag-based auto-matching",
    limitS: { quick: 120, full: 120 },
    scale: {
      quick: "the guide's 3 suites × 3 managers (scripted managers on the real WebSocket)",
      full: "the guide's 3 suites × 3 managers (scripted managers on the real WebSocket)",
    },
    tests: [
      {
        file: DISPATCH,
        name: "seed 8.2.2: suites go only to managers whose tags include theirs",
        covers: "A→M1, B→M2, C→M3 only; an ineligible manager stays idle while B has Ready tasks. The guide's " +
          'table also lists B→M1, which its own rule (suite.tags ⊆ manager.tags) forbids: M1 has no "cpu"',
      },
      {
        file: "tests/managers_api.test.ts",
        name: "tags, labels and group roles change a manager's suite matches",
        fullOnly: true,
      },
    ],
    notCovered: ["managers as real mitosis-manager processes: the test drives the WebSocket protocol directly"],
  }),
  testBackedCase({
    id: "8.2.3",
    title: "User-specified manager assignment",
    limitS: { quick: 120, full: 120 },
    scale: { quick: "3 managers, 2 specified, 30 tasks", full: "3 managers, 2 specified, 30 tasks" },
    tests: [
      {
        file: DISPATCH,
        name: "seed 8.2.3: a suite with user-specified managers runs only on them",
        covers: "selection_type UserSpecified for M1 and M2 only; M3 (matching tags) gets no assignment or task",
      },
      {
        file: SUITES_API,
        name: "managers: refresh by tags, add UserSpecified with rejection reasons, remove releases a working manager",
        covers: "managers the user may not use are rejected with a reason",
        fullOnly: true,
      },
    ],
    notCovered: ["managers as real mitosis-manager processes: the test drives the WebSocket protocol directly"],
  }),
  testBackedCase({
    id: "8.3.1",
    title: "Worker crash during task execution",
    limitS: { quick: 240, full: 240 },
    scale: { quick: "1 manager × 4 workers × 25 tasks", full: "1 manager × 4 workers × 25 tasks" },
    tests: [
      {
        file: FAILURES,
        name:
          "8.3.1: workers killed by SIGKILL, SIGSEGV, SIGABRT or exiting non-zero: recorded, respawned, aborted at the thresholds",
        covers: "each crash recorded in task_execution_failures, workers respawned, tasks retried, aborted after 3 " +
          "(SIGSEGV after 2), the suite goes on",
      },
      {
        file: DISPATCH,
        name:
          "an aborted task never returns to that manager; aborted on every eligible manager it is archived Cancelled",
        covers: "after the abort the task is Ready for other managers; with none left it is archived Cancelled",
        fullOnly: true,
      },
    ],
    notCovered: [],
  }),
  testBackedCase({
    id: "8.3.2",
    title: "Manager disconnection during execution",
    limitS: { quick: 240, full: 240 },
    scale: {
      quick: "1 manager × 2 workers × 40–60 tasks; heartbeat timeout 3 s (guide: 600 s or lower)",
      full: "1 manager × 2 workers × 40–60 tasks; heartbeat timeout 3 s (guide: 600 s or lower)",
    },
    tests: [
      {
        file: FAILURES,
        name: "8.3.2: a short network cut: tasks keep running, reports are sent after reconnection, the suite resumes",
      },
      {
        file: FAILURES,
        name:
          "8.3.2: a cut longer than the heartbeat timeout: Offline, tasks back to Ready, SuiteReclaimed on reconnection, suite taken again",
      },
      {
        file: "tests/manager_connection.test.ts",
        name: "the reconnect backoff doubles from 1 s up to 60 s with jitter and starts over after a reset",
      },
    ],
    notCovered: [
      "iptables: the cut is a TCP proxy between manager and coordinator that stops forwarding (same effect on the " +
      "WebSocket, no root firewall needed)",
      "16 workers × 1,000 tasks: the tests use 2 workers",
    ],
  }),
  testBackedCase({
    id: "8.3.3",
    title: "Coordinator restart",
    limitS: { quick: 240, full: 240 },
    scale: { quick: "1 manager × 2 workers × 50 tasks (guide: 5 managers)", full: "1 manager × 2 workers × 50 tasks" },
    tests: [
      {
        file: FAILURES,
        name:
          "8.3.3: the coordinator restarts mid-suite: the manager reconnects and resumes, no task lost or run twice",
      },
      {
        file: FAILURES,
        name:
          "a coordinator down longer than manager_heartbeat_timeout: after its restart the manager's results are accepted, none runs again",
        fullOnly: true,
      },
      {
        file: "tests/coordinator_lifecycle.test.ts",
        name: "embedded PostgreSQL keeps data across a coordinator restart and stops with it",
        covers: "state loaded from PostgreSQL after a restart of the coordinator process",
        fullOnly: true,
      },
    ],
    notCovered: [
      "5 managers on different suites: the restart tests run 1 manager",
      "the restart in the suite tests stops and starts the coordinator inside the test process (same address and " +
      "database), not a new OS process",
    ],
  }),
  testBackedCase({
    id: "8.3.4",
    title: "Environment preparation failure",
    limitS: { quick: 180, full: 180 },
    scale: { quick: "1 manager, 3 failing suites", full: "1 manager, 3 failing suites" },
    tests: [
      {
        file: MANAGER_PROCESS,
        name: "failed preparation hooks (exit 1, timeout, signal) leave the suites to others and spawn no worker",
        covers: "exit 1, timeout and SIGKILL: failure reported, manager back to Idle, no worker spawned, suite left " +
          "for others",
      },
      {
        file: DISPATCH,
        name: "a failed preparation keeps the suite from that manager until the suite reopens",
      },
      {
        file: MANAGER_PROCESS,
        name: "preparation resources are downloaded into the work dir before the hook runs; a missing one fails it",
        covers: "a resource download failure fails the preparation",
      },
    ],
    notCovered: ["S3 access denied (the download failure tested is a missing object)"],
  }),
  testBackedCase({
    id: "8.5.1",
    title: "Independent worker task execution",
    limitS: { quick: 180, full: 180 },
    scale: { quick: "1 worker × 1 task", full: "1 worker × 2 tasks; 8 workers × 500 tasks" },
    tests: [
      {
        file: "tests/worker_end_to_end.test.ts",
        name: "a worker runs a submitted task and uploads its std-log and result artifacts",
        covers: "registration, polling, a task without a suite run and reported Finished with its artifacts",
      },
      {
        file: "tests/worker_end_to_end.test.ts",
        name: "a worker registered with tags and labels runs a matching task exiting 3, archived as 768",
        fullOnly: true,
      },
      {
        file: "tests/worker_fleet.test.ts",
        name: "8 worker processes x 500 no-op tasks: every task committed exactly once",
        fullOnly: true,
      },
      {
        file: "tests/workers_management.test.ts",
        name: "a worker unregisters itself, and its token then answers 401",
        covers: "POST /workers/heartbeat answers 200",
      },
    ],
    notCovered: ["no errors or warnings in the worker's logs (not asserted)"],
  }),
  testBackedCase({
    id: "8.5.3",
    title: "API backward compatibility",
    limitS: { quick: 180, full: 180 },
    scale: { quick: "every endpoint of the checklist", full: "every endpoint of the checklist" },
    tests: [
      {
        file: "tests/wire_compat_v068.test.ts",
        name: "attachment metadata spells content_type NoSet, and both spellings are read",
      },
      {
        file: "tests/wire_compat_v068.test.ts",
        name: "a task timeout of 0s is accepted as v0.6.8 accepts it and means the default 10 minutes",
      },
      {
        file: "tests/tasks_api.test.ts",
        name: "submitting fills defaults for labels, timeout, priority and the spec, and numbers tasks per group",
        covers: "POST /tasks without suite_uuid, GET /tasks/{uuid}",
      },
      {
        file: "tests/tasks_api.test.ts",
        name: "cancel: Ready tasks only (Running is 404); Read members cannot cancel or change",
        covers: "POST /tasks/{uuid}/cancel",
      },
      {
        file: "tests/dispatch.test.ts",
        name: "commit archives the task with its reporter; downstream tasks turn Ready after it",
        covers: "POST /workers, GET /workers/tasks, POST /workers/tasks",
      },
      {
        file: "tests/workers_management.test.ts",
        name: "a worker unregisters itself, and its token then answers 401",
        covers: "POST /workers/heartbeat",
      },
      {
        file: "tests/suites_api.test.ts",
        name: "cancel: waiting tasks archived as UserCancellation, Cancelled stays Cancelled, pushes to the managers",
        covers: "cancellation of suite tasks",
        fullOnly: true,
      },
      {
        file: "tests/bad_input_tasks_workers.test.ts",
        name: "task, worker and artifact endpoints answer bad input with 400 msg and change nothing",
        fullOnly: true,
      },
    ],
    notCovered: [
      "a pre-suite (v0.6.8) client or its Python integration suite run against this coordinator: compatibility is " +
      "proven by this repository's tests of the same wire",
    ],
  }),
  testBackedCase({
    id: "concurrency",
    title: "Concurrency and race conditions (checklist)",
    limitS: { quick: 300, full: 300 },
    scale: {
      quick: "3 scripted managers × 3,000 tasks; 4 submitters and 3 cancellers on 320 tasks",
      full: "3 scripted managers × 3,000 tasks (fetch, and reports); 8 workers × 800 tasks; 4 submitters and 3 " +
        "cancellers on 320 tasks; 2 coordinators starting at once",
    },
    tests: [
      {
        file: DISPATCH,
        name: "3 managers drain one suite of 3,000 tasks in batches: each gets work, no task twice, suite Complete",
        covers: "multiple managers fetching from the same suite: no task twice",
      },
      {
        file: "tests/report_batching.test.ts",
        name: "3 managers complete 3,000 tasks in concurrent ReportTasks: each archived once, the suite Complete",
        covers: "concurrent reports: each task archived once",
        fullOnly: true,
      },
      {
        file: "tests/dispatch.test.ts",
        name: "8 workers claiming 800 tasks concurrently commit every task exactly once",
        covers: "concurrent claims by independent workers",
        fullOnly: true,
      },
      {
        file: SUITES_API,
        name: "concurrent submitters and task cancellers leave the counters equal to the task rows",
        covers: "concurrent submissions to one suite and suite state under them; cancelling meanwhile: no deadlock",
      },
      {
        file: "tests/suite_cancellation_races.test.ts",
        name: "the database refuses tasks for a suite that is already Cancelled",
        covers: "suite state transitions under concurrent submissions",
      },
      {
        file: "tests/suite_cancellation_races.test.ts",
        name: "tasks back to Ready in a Cancelled suite are archived by the sweeper",
      },
      {
        file: "tests/ws_protocol.test.ts",
        name: "many requests in flight are each answered once, by request id",
        covers: "concurrent WebSocket messages (request-response multiplexing)",
      },
      {
        file: "tests/manager_held_tasks.test.ts",
        name: "a reconnecting manager's undeclared held tasks go back to Ready; declared ones stay held",
        covers: "manager state during disconnect/reconnect",
      },
      {
        file: "tests/coordinator_lifecycle.test.ts",
        name: "two coordinators starting at once on one fresh database both come up",
        fullOnly: true,
      },
    ],
    notCovered: ["concurrent manager registrations (no test registers managers concurrently)"],
  }),
  testBackedCase({
    id: "security",
    title: "Security and permissions (checklist)",
    limitS: { quick: 420, full: 900 },
    scale: {
      quick: "every endpoint × every kind of caller; fuzzing 4 rounds",
      full: "every endpoint × every kind of caller; fuzzing 8 rounds, then on for 120 s",
    },
    env: { quick: { MITOSIS_FUZZ_ROUNDS: "4" }, full: { MITOSIS_FUZZ_SECONDS: "120" } },
    tests: [
      {
        file: "tests/auth_matrix.test.ts",
        name: "authorization matrix: every endpoint × every kind of caller gets the expected outcome",
        covers: "task visibility scoped to groups; Write required to change",
      },
      {
        file: "tests/authorization_rules.test.ts",
        name: "an outsider cannot grant a group a role on their own manager, nor register one for it",
        covers: "group-based manager access control (group_node_manager roles)",
      },
      {
        file: "tests/authorization_rules.test.ts",
        name: "a manager shared by two groups resolves for a suite only what the suite's creator may read",
        covers: "suite-to-manager permission checks",
      },
      {
        file: "tests/authorization_rules.test.ts",
        name:
          "a manager's messages about a task or suite it neither holds nor is assigned are refused and change nothing",
        covers: "unauthorized suite operations rejected",
      },
      {
        file: "tests/authorization_rules.test.ts",
        name: "a locked or deleted user's worker and manager tokens stop working; unlocking restores them",
        fullOnly: true,
      },
      {
        file: "tests/authorization_rules.test.ts",
        name: "a worker token reads only tasks it holds or of groups it serves",
      },
      {
        file: "tests/authorization_rules.test.ts",
        name: "a manager whose user leaves the suite's group claims nothing more and has the suite reclaimed",
        fullOnly: true,
      },
      {
        file: "tests/managers_api.test.ts",
        name: "a manager registers with a user token and its manager token works; groups need Write",
        covers: "Write role on the group required",
        fullOnly: true,
      },
      {
        file: "tests/managers_api.test.ts",
        name: "refresh-token: refused while more than 24 h remain; otherwise a new token replaces the old one",
        covers: "token refresh",
      },
      {
        file: "tests/ws_protocol.test.ts",
        name: "the WebSocket upgrade needs a current manager token: 401 {msg} without upgrading otherwise",
        covers: "JWT authentication on the WebSocket",
      },
      {
        file: "tests/manager_ipc_auth.test.ts",
        name: "a connection whose first request is not Hello is refused and closed, and gets no task",
      },
      { file: "tests/manager_ipc_auth.test.ts", name: "a Hello with a wrong or missing secret is refused and closed" },
      {
        file: "tests/manager_ipc_auth.test.ts",
        name: "a Hello for a worker id the manager did not spawn is refused, even with a spawned worker's secret",
      },
      {
        file: "tests/manager_ipc_auth.test.ts",
        name: "a second connection for a connected worker is refused; the worker keeps its task and commits it",
      },
      {
        file: "tests/manager_ipc_auth.test.ts",
        name: "once a worker has exited its secret is void; the IPC socket is private to the manager's user",
      },
      {
        file: "tests/login_throttle.test.ts",
        name: "ten failed logins within a minute close the user to the right password too, with 429 and Retry-After",
      },
      {
        file: "tests/login_throttle.test.ts",
        name: "the throttle counts per user name and per address, forgetting the name's failures on success",
      },
      {
        file: "tests/login_throttle.test.ts",
        name: "a login for an unknown user costs about as much as one for a known user",
        fullOnly: true,
      },
      {
        file: "tests/request_limits.test.ts",
        name: "a body over the default 16 MiB limit is 413 with msg, announced or chunked, even unauthenticated",
      },
      {
        file: "tests/request_limits.test.ts",
        name: "a body trickling in slower than request_body_timeout is cut off with 408",
        fullOnly: true,
      },
      {
        file: "tests/bad_input.test.ts",
        name: "every endpoint answers malformed, mistyped and incomplete bodies with 400 msg",
        fullOnly: true,
      },
      {
        file: "tests/fuzz_bad_input.test.ts",
        name: "generated bad input never makes a REST route, WS message or IPC frame fail with 5xx or internal error",
      },
      {
        file: "tests/task_user.test.ts",
        name:
          "as root, a manager's hooks and tasks run as the task user, which cannot read its token, the credential cache or its environment",
      },
      {
        file: "tests/task_user.test.ts",
        name:
          "as root, an independent worker's task runs as the task user in a 0700 work dir it owns; the user's token is not cached",
        fullOnly: true,
      },
      {
        file: "tests/login_and_tokens.test.ts",
        name: "missing, garbage and forged tokens answer 401",
      },
      { file: "tests/login_and_tokens.test.ts", name: "an expired token answers 401", fullOnly: true },
    ],
    notCovered: [],
  }),
  testBackedCase({
    id: "observability",
    title: "Observability and monitoring (checklist)",
    limitS: { quick: 240, full: 240 },
    scale: {
      quick: "a suite of 20 tasks on 2 managed workers plus independent workers' tasks, scraped on both processes",
      full: "a suite of 20 tasks on 2 managed workers plus independent workers' tasks, scraped on both processes",
    },
    tests: [
      {
        file: "tests/metrics.test.ts",
        name:
          "GET /metrics: the metrics token or a site admin's token reads it; none or another token is 401 {msg}, a user's 403",
        covers: "metrics endpoint access control",
      },
      {
        file: "tests/metrics.test.ts",
        name: "GET /metrics follows independent workers' claims and reports: counters, state gauges, histograms",
        covers: "task execution metrics (claims, reports, latency histograms), tasks and workers by state",
      },
      {
        file: "tests/metrics.test.ts",
        name:
          "a suite on a manager with --metrics-bind and independent workers' tasks move both processes' metrics; the Grafana dashboard uses only metrics that exist",
        covers:
          "manager metrics (workers alive, spawns, buffer depth, IPC round trip, hook durations), process memory, WebSocket connections and messages, database query latency; the dashboard's queries",
      },
      {
        file: "tests/suite_end_to_end.test.ts",
        name: "8.1.3: a suite auto-closes while its tasks run, reopens on new tasks, and the manager runs those too",
        covers: "manager state transitions read from its JSON log (Idle→Preparing twice)",
      },
    ],
    notCovered: [
      "a database slow-query log (the coordinator exports per-statement latency histograms instead)",
      "alert rules (the Grafana dashboard in deploy/grafana has panels, no alert thresholds)",
      "network utilization metrics",
    ],
  }),
];

/**
 * What `mitosis-coordinator --dev` prints on stdout once its local manager
 * is connected: how to log in and a copy-paste example that creates a suite
 * with a setup hook on that manager, submits tasks into it and watches it
 * complete.
 */
import { LOCAL_MANAGER_TAG } from "./manager_settings.ts";

/** What the banner says. */
export interface BannerInput {
  /** The coordinator's URL. */
  url: string;
  adminUser: string;
  /** True while `admin_password` is the built-in default (which the banner then shows). */
  defaultPassword: boolean;
  /** The local manager's uuid. */
  managerUuid: string;
  /** The local manager's state dir. */
  stateDir: string;
  /** The repository root when running from a source checkout (the example then defines `mitosis`). */
  sourceRoot?: string;
}

/** The default admin password, shown only while it is in use. */
const DEFAULT_ADMIN_PASSWORD = "mitosis_admin";

/**
 * The example's shell commands, one per line: point the CLI at `url`, log
 * in, create a suite tagged `local` with two workers and a setup hook,
 * submit three tasks into it and watch it until it is Complete (a suite
 * completes once none of its tasks is pending; no `close` needed, which would
 * fail once it has completed). From a source checkout a first line
 * defines `mitosis` as that checkout's `scripts/mitosis.sh`.
 */
export function exampleCommands(url: string, adminUser: string, sourceRoot?: string): string[] {
  return [
    ...(sourceRoot === undefined ? [] : [`mitosis() { ${sourceRoot}/scripts/mitosis.sh "$@"; }`]),
    `export MITOSIS_COORDINATOR_ADDR=${url}`,
    `mitosis login ${adminUser}`,
    `suite=$(mitosis suites create --name hello --tags ${LOCAL_MANAGER_TAG} --workers 2 ` +
    `--prep "sh -c 'echo setting up this machine for the suite; sleep 1'")`,
    `for i in 1 2 3; do mitosis tasks submit --suite "$suite" -- sh -c "echo hello from task $i; sleep 1"; done`,
    `mitosis suites watch "$suite"`,
  ];
}

/** The banner's lines (the example indented by two spaces, between blank lines). */
export function devBanner(input: BannerInput): string {
  const password = input.defaultPassword
    ? `password ${DEFAULT_ADMIN_PASSWORD} (the default: change it with admin_password)`
    : "the configured admin_password";
  const mitosis = input.sourceRoot === undefined
    ? "with the mitosis CLI"
    : "(its first line makes mitosis this checkout's ./scripts/mitosis.sh)";
  return [
    `Local node manager ${input.managerUuid} connected: it runs suites tagged "${LOCAL_MANAGER_TAG}", ` +
    `up to one worker per CPU core (state in ${input.stateDir}).`,
    `Log in as ${input.adminUser} with ${password}.`,
    `Try a suite with a setup hook: paste this into another terminal ${mitosis}:`,
    "",
    ...exampleCommands(input.url, input.adminUser, input.sourceRoot).map((line) => `  ${line}`),
    "",
    `The setup hook's output shows up in this log ("hook output"). Ctrl-C stops the coordinator, the manager ` +
    "and its workers.",
  ].join("\n");
}

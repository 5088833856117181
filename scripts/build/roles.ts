/**
 * What each built executable carries: the bundles (one per role entry it can
 * run), extra files, and how its launcher starts it.
 */
import { MANAGER_V8_FLAGS, type Role, WORKER_V8_FLAGS } from "../../shared/runtime/installation.ts";

/** One executable of `dist/`. */
export interface ExecutableSpec {
  /** File name in `dist/`, also the program name in messages. */
  readonly program: string;
  /** The role its launcher runs by default. */
  readonly role: Role;
  /** Every role bundle it carries (`app/<role>.js`): the default one and the ones it spawns. */
  readonly bundles: readonly Role[];
  /** First arguments that run another carried role instead (`mitosis-manager worker …`). */
  readonly subcommands: Readonly<Record<string, Role>>;
  /** Whether it carries the coordinator's migrations and the embedded PostgreSQL binaries. */
  readonly database: boolean;
}

/** `deno run` flags of each role inside a built runtime directory. */
export const BUILT_FLAGS: Record<Role, string> = {
  coordinator: "",
  manager: MANAGER_V8_FLAGS,
  worker: WORKER_V8_FLAGS,
  mitosis: "",
};

/** The source entry of each role bundle. */
export const ROLE_ENTRY: Record<Role, string> = {
  coordinator: "coordinator/main.ts",
  manager: "manager/main.ts",
  worker: "worker/main.ts",
  mitosis: "mod.ts",
};

/**
 * The four executables. The coordinator carries a manager and workers for
 * its all-in-one local mode (`--dev`); the manager carries the worker it
 * spawns, so a GPU host needs only `mitosis-manager`.
 */
export const EXECUTABLES: readonly ExecutableSpec[] = [
  {
    program: "mitosis-coordinator",
    role: "coordinator",
    bundles: ["coordinator", "manager", "worker"],
    subcommands: {},
    database: true,
  },
  {
    program: "mitosis-manager",
    role: "manager",
    bundles: ["manager", "worker"],
    subcommands: { worker: "worker" },
    database: false,
  },
  { program: "mitosis-worker", role: "worker", bundles: ["worker"], subcommands: {}, database: false },
  { program: "mitosis", role: "mitosis", bundles: ["mitosis"], subcommands: {}, database: false },
];

/**
 * The part of graphile-worker's API that `graphile_worker_bench.ts` uses,
 * typed here: the package's own declarations bring npm `@types/node` (through
 * `@types/pg`) into the type check, which then clashes with Deno's built-in
 * Node types in modules that also load the AWS SDK (S3Client vs. its
 * presigner). At run time the real package is loaded.
 */

/** A log level of `@graphile/logger`. */
export type LogLevel = "error" | "warning" | "info" | "debug";

/** graphile-worker's logger: a factory of log functions per scope. */
export declare class Logger {
  constructor(factory: (scope: Record<string, unknown>) => (level: LogLevel, message: string) => void);
}

/** A job to add. */
export interface AddJobsJobSpec {
  identifier: string;
  payload: unknown;
}

/** Helpers bound to a database (`makeWorkerUtils`). */
export interface WorkerUtils {
  /** Installs or updates the `graphile_worker` schema. */
  migrate(): Promise<void>;
  /** Adds many jobs in one statement. */
  addJobs(specs: AddJobsJobSpec[]): Promise<unknown[]>;
  /** Closes the pool. */
  release(): Promise<void>;
}

/** Options shared by `makeWorkerUtils` and `run`. */
export interface SharedOptions {
  connectionString: string;
  logger?: Logger;
  maxPoolSize?: number;
}

/** Options of `run`. */
export interface RunnerOptions extends SharedOptions {
  /** Jobs run at once. */
  concurrency?: number;
  /** Leave SIGINT/SIGTERM alone. */
  noHandleSignals?: boolean;
  /** Task handlers by identifier. */
  taskList: Record<string, (payload: unknown) => void | Promise<void>>;
  preset?: {
    worker?: {
      /** Jobs fetched (and locked) per query. */
      localQueue?: { size: number };
      /** Delay before completed jobs are deleted in a batch (ms; -1: one by one). */
      completeJobBatchDelay?: number;
    };
  };
}

/** A running worker pool. */
export interface Runner {
  /** Stops the pool cleanly. */
  stop(): Promise<void>;
  /** Settles when the pool has stopped. */
  promise: Promise<void>;
}

/** Connects helpers to a database. */
export declare function makeWorkerUtils(options: SharedOptions): Promise<WorkerUtils>;

/** Starts a worker pool. */
export declare function run(options: RunnerOptions): Promise<Runner>;

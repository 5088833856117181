/**
 * What every coordinator route module receives: the database, token keys,
 * configuration and logger, plus the Hono environment type carrying the
 * authenticated caller.
 */
import type { DatabaseAvailability } from "../db/availability.ts";
import type { ReportPipeline } from "../reports/pipeline.ts";
import type { CoordinatorMetrics } from "../metrics/registry.ts";
import type { Sql } from "../db/connect.ts";
import type { TokenKeys } from "../auth/tokens.ts";
import type { BlobStore } from "../storage/blob_store.ts";
import type { ManagerPushes } from "../ws/push.ts";
import type { SessionRegistry } from "../ws/registry.ts";
import type { SuiteAssigner } from "../scheduler/assigner.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { ConfigOf } from "../../shared/config/fields.ts";
import type { coordinatorFields } from "../../shared/config/sections.ts";

/** The coordinator's validated configuration. */
export type CoordinatorConfig = ConfigOf<typeof coordinatorFields>;

/** Shared dependencies of the HTTP layer. */
export interface AppDeps {
  sql: Sql;
  /**
   * A small pool committing asynchronously, used only for task claims
   * (FetchTask, GET /workers/tasks): the hot path, and re-derivable.
   */
  dispatchSql: Sql;
  /** Finish, Cancel and Commit reports, applied in batches (group commit). */
  reports: ReportPipeline;
  /** Prometheus metrics served at `GET /metrics`. */
  metrics: CoordinatorMetrics;
  keys: TokenKeys;
  /** Artifact and attachment storage (S3 or the local directory store). */
  blobs: BlobStore;
  /** Delivers pushes to node managers, on this coordinator or another one. */
  pushes: ManagerPushes;
  /** Hands runnable suites to idle managers; kick it after anything that may change eligibility. */
  assigner: SuiteAssigner;
  /** Node-manager WebSocket sessions open on this coordinator. */
  sessions: SessionRegistry;
  /** Whether PostgreSQL is reachable: bounds waits on it and logs its outages once. */
  database: DatabaseAvailability;
  config: CoordinatorConfig;
  log: Logger;
  /** Secret that `POST /admin/shutdown` must present. */
  shutdownSecret: string;
  /** Starts a graceful coordinator shutdown. */
  requestShutdown: (reason: string) => void;
}

/** The authenticated user of a request. */
export interface AuthUser {
  id: number;
  username: string;
  admin: boolean;
}

/** The authenticated independent worker of a request. */
export interface AuthWorker {
  id: number;
  uuid: string;
  tags: string[];
  state: number;
  assignedTaskId: number | null;
}

/** The authenticated node manager of a request or WebSocket session. */
export interface AuthManager {
  id: number;
  uuid: string;
}

/** Hono environment of the coordinator's routers. */
export type AppEnv = { Variables: { user: AuthUser; worker: AuthWorker; manager: AuthManager } };

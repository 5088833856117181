/**
 * The configuration keys of each executable, by TOML section. The README's
 * configuration reference documents exactly these keys.
 */
import { field } from "./fields.ts";

/** `[coordinator]`: the REST/WebSocket server. */
export const coordinatorFields = {
  bind: field.string("127.0.0.1:5000", "address (host:port) the HTTP server listens on; port 0 picks a free one", {
    aliases: ["b"],
  }),
  public_url: field.optionalString(
    "URL workers and clients use to reach this coordinator (local blob store URLs); default http://<bind>",
  ),
  db_url: field.optionalString(
    "PostgreSQL URL; unset = embedded PostgreSQL in <data_dir>/pg",
    { aliases: ["db"], secret: true },
  ),
  data_dir: field.optionalString("state directory (embedded database, token keys); default $XDG_DATA_HOME/mitosis"),
  s3_url: field.optionalString("S3 endpoint URL; unset = local blob store under <data_dir>/blobs", {
    aliases: ["s3"],
  }),
  s3_access_key: field.string("mitosis_access", "S3 access key id"),
  s3_secret_key: field.string("mitosis_secret", "S3 secret access key", { secret: true }),
  s3_region: field.string("mitosis", "S3 region"),
  s3_force_path_style: field.bool(false, "use path-style S3 URLs (MinIO, s3rver)"),
  artifacts_bucket: field.string("mitosis-artifacts", "bucket holding task artifacts"),
  attachments_bucket: field.string("mitosis-attachments", "bucket holding group attachments"),
  admin_user: field.string("mitosis_admin", "admin user created at start if absent"),
  admin_password: field.string("mitosis_admin", "password of that admin user", { secret: true }),
  access_token_private_path: field.optionalString(
    "Ed25519 private key (PKCS#8 PEM); default <data_dir>/private.pem, generated when missing",
  ),
  access_token_public_path: field.optionalString(
    "Ed25519 public key (SPKI PEM); default <data_dir>/public.pem, generated when missing",
  ),
  access_token_expires_in: field.duration("7d", "lifetime of user tokens"),
  heartbeat_timeout: field.duration("600s", "an independent worker silent this long is removed"),
  manager_heartbeat_timeout: field.duration("120s", "a node manager silent this long goes Offline"),
  suite_auto_close: field.duration("3m", "an Open suite with no new task this long becomes Closed"),
  ws_ping_interval: field.duration("30s", "WebSocket ping interval towards node managers"),
  max_request_body: field.size("16MiB", "largest request body accepted (413 beyond); /blobs uploads are exempt"),
  request_body_timeout: field.duration("30s", "a request body not fully received in this time is refused with 408"),
  login_max_failures: field.int(
    10,
    0,
    1_000_000,
    "failed logins per user name and per client address within login_failure_window before 429; 0 = no limit",
  ),
  login_failure_window: field.duration("1m", "window over which failed logins are counted"),
  shutdown_secret: field.optionalString("secret for POST /admin/shutdown; random (and logged) when unset", {
    secret: true,
  }),
  metrics_token: field.optionalString("bearer token that may read GET /metrics (site admins' tokens may too)", {
    secret: true,
  }),
  log_level: field.logLevel(),
};

/** `[client]`: the `mitosis` CLI. */
export const clientFields = {
  coordinator_addr: field.string("http://127.0.0.1:5000", "coordinator URL", { aliases: ["c", "coordinator"] }),
  credential_path: field.optionalString(
    "credential cache file; default $XDG_CONFIG_HOME/mitosis/credentials",
  ),
  user: field.optionalString("user name (prompted for when needed)", { aliases: ["u"] }),
  password: field.optionalString("password (prompted for when needed)", { aliases: ["p"], secret: true }),
  retain: field.bool(false, "keep earlier tokens valid when logging in"),
  log_level: field.logLevel(),
};

/** `[worker]`: the `mitosis-worker` executable. */
export const workerFields = {
  coordinator_addr: field.string("http://127.0.0.1:5000", "coordinator URL", { aliases: ["c", "coordinator"] }),
  polling_interval: field.duration("3m", "wait between task fetches when none is available"),
  heartbeat_interval: field.duration("5m", "interval between heartbeats"),
  credential_path: field.optionalString("credential cache file; default $XDG_CONFIG_HOME/mitosis/credentials"),
  user: field.optionalString("user that registers the worker", { aliases: ["u"] }),
  password: field.optionalString("password of that user (prefer password_file or MITOSIS_PASSWORD)", {
    aliases: ["p"],
    secret: true,
  }),
  password_file: field.optionalString("file whose first line is the password of that user"),
  task_user: field.string(
    "mitosis-task",
    'user tasks run as when the worker runs as root (created when missing); "root" runs them as root',
  ),
  groups: field.list("groups whose tasks this worker runs, as group or group:role (default role Write)", {
    aliases: ["g"],
  }),
  tags: field.list("worker tags; a task runs here only if its tags are a subset", { aliases: ["t"] }),
  labels: field.list("free-form worker labels", { aliases: ["l"] }),
  lifetime: field.optionalDuration("worker token lifetime; default the coordinator's access_token_expires_in"),
  retain: field.bool(false, "keep the user's other tokens valid when logging in"),
  cache_dir: field.optionalString("working directory root; default $XDG_CACHE_HOME/mitosis/worker"),
  log_level: field.logLevel(),
};

/** `[manager]`: the `mitosis-manager` node manager. */
export const managerFields = {
  coordinator_addr: field.string("http://127.0.0.1:5000", "coordinator URL", { aliases: ["c", "coordinator"] }),
  user: field.optionalString("user that registers the manager", { aliases: ["u"] }),
  password: field.optionalString("password of that user (prefer password_file or MITOSIS_PASSWORD)", {
    aliases: ["p"],
    secret: true,
  }),
  password_file: field.optionalString("file whose first line is the password of that user"),
  credential_path: field.optionalString("credential cache file; default $XDG_CONFIG_HOME/mitosis/credentials"),
  retain: field.bool(false, "keep the user's other tokens valid when logging in"),
  task_user: field.string(
    "mitosis-task",
    'user hooks and tasks run as when the manager runs as root (created when missing); "root" runs them as root',
  ),
  tags: field.list("manager tags; it serves suites whose tags are a subset", { aliases: ["t"] }),
  labels: field.list("free-form manager labels", { aliases: ["l"] }),
  groups: field.list("groups whose suites it serves, as group or group:role (default role Write)", {
    aliases: ["g"],
  }),
  max_workers: field.optionalInt(1, 4096, "most managed workers at once; default the number of CPUs", {
    aliases: ["worker-count"],
  }),
  worker_binary: field.optionalString(
    "worker executable; default the sibling mitosis-worker, or `deno run worker/main.ts` from source",
  ),
  state_dir: field.optionalString(
    "state directory (lock, token, IPC socket, logs); default $XDG_STATE_HOME/mitosis/manager",
  ),
  ipc: field.string("auto", "IPC transport: auto, unix, iceoryx, iceoryx2"),
  heartbeat_interval: field.duration("30s", "interval between heartbeats to the coordinator"),
  reconnect_max_delay: field.duration(
    "60s",
    "longest wait between reconnection attempts; keep it below the coordinator's manager_heartbeat_timeout",
  ),
  worker_stop_grace: field.duration("30s", "how long workers get to stop before they are killed"),
  hostname: field.optionalString("hostname reported to the coordinator; default the machine's"),
  metrics_bind: field.optionalString(
    "serve Prometheus metrics (no authentication) on host:port, or on 127.0.0.1 given only a port; unset = off",
  ),
  log_level: field.logLevel(),
};

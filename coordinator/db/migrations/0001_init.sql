-- Users, groups, workers, tasks, artifacts and attachments: the model of the
-- existing Mitosis v0.6.8, with timestamptz columns and native uuids.

CREATE TABLE users (
  id bigserial PRIMARY KEY,
  username text NOT NULL UNIQUE,
  encrypted_password text NOT NULL,
  auth_signature bigint NOT NULL,
  current_sign_in_at timestamptz,
  last_sign_in_at timestamptz,
  current_sign_in_ip text,
  last_sign_in_ip text,
  admin boolean NOT NULL DEFAULT false,
  state integer NOT NULL DEFAULT 0,
  group_quota integer NOT NULL DEFAULT 8,
  group_count integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE groups (
  id bigserial PRIMARY KEY,
  group_name text NOT NULL UNIQUE,
  creator_id bigint NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  state integer NOT NULL DEFAULT 0,
  task_count bigint NOT NULL DEFAULT 0,
  storage_quota bigint NOT NULL DEFAULT 16000000000,
  storage_used bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX groups_creator_id ON groups (creator_id);

CREATE TABLE user_group (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  group_id bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  role integer NOT NULL,
  UNIQUE (user_id, group_id)
);
CREATE INDEX user_group_group_id ON user_group (group_id);

CREATE TABLE workers (
  id bigserial PRIMARY KEY,
  worker_id uuid NOT NULL UNIQUE,
  creator_id bigint NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  tags text[] NOT NULL DEFAULT '{}',
  labels text[] NOT NULL DEFAULT '{}',
  state integer NOT NULL DEFAULT 0,
  last_heartbeat timestamptz NOT NULL DEFAULT now(),
  assigned_task_id bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workers_creator_id ON workers (creator_id);
CREATE INDEX workers_state_heartbeat ON workers (state, last_heartbeat);
CREATE INDEX workers_tags ON workers USING gin (tags);

CREATE TABLE group_worker (
  id bigserial PRIMARY KEY,
  group_id bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  worker_id bigint NOT NULL REFERENCES workers(id) ON DELETE CASCADE,
  role integer NOT NULL,
  UNIQUE (group_id, worker_id)
);
CREATE INDEX group_worker_worker_id ON group_worker (worker_id);
CREATE INDEX group_worker_group_role ON group_worker (group_id, role);

CREATE TABLE active_tasks (
  id bigserial PRIMARY KEY,
  creator_id bigint NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  group_id bigint NOT NULL REFERENCES groups(id) ON DELETE RESTRICT,
  task_id bigint NOT NULL,
  uuid uuid NOT NULL UNIQUE,
  tags text[] NOT NULL DEFAULT '{}',
  labels text[] NOT NULL DEFAULT '{}',
  state integer NOT NULL DEFAULT 1,
  assigned_worker bigint,
  timeout bigint NOT NULL,
  priority integer NOT NULL DEFAULT 0,
  spec jsonb NOT NULL,
  result jsonb,
  upstream_task_uuid uuid,
  downstream_task_uuid uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (group_id, task_id)
);
CREATE INDEX active_tasks_creator_group ON active_tasks (creator_id, group_id);
CREATE INDEX active_tasks_tags ON active_tasks USING gin (tags);
CREATE INDEX active_tasks_labels ON active_tasks USING gin (labels);
CREATE INDEX active_tasks_state ON active_tasks (state);

CREATE TABLE archived_tasks (
  id bigint PRIMARY KEY,
  creator_id bigint NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  group_id bigint NOT NULL REFERENCES groups(id) ON DELETE RESTRICT,
  task_id bigint NOT NULL,
  uuid uuid NOT NULL UNIQUE,
  tags text[] NOT NULL DEFAULT '{}',
  labels text[] NOT NULL DEFAULT '{}',
  state integer NOT NULL,
  assigned_worker bigint,
  timeout bigint NOT NULL,
  priority integer NOT NULL,
  spec jsonb NOT NULL,
  result jsonb,
  upstream_task_uuid uuid,
  downstream_task_uuid uuid,
  reporter_uuid uuid,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (group_id, task_id)
);
CREATE INDEX archived_tasks_creator_group ON archived_tasks (creator_id, group_id);
CREATE INDEX archived_tasks_state ON archived_tasks (state);
CREATE INDEX archived_tasks_reporter ON archived_tasks (reporter_uuid) WHERE reporter_uuid IS NOT NULL;

CREATE TABLE artifacts (
  id bigserial PRIMARY KEY,
  task_id uuid NOT NULL,
  content_type integer NOT NULL,
  size bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (task_id, content_type)
);

CREATE TABLE attachments (
  id bigserial PRIMARY KEY,
  group_id bigint NOT NULL REFERENCES groups(id) ON DELETE RESTRICT,
  key text NOT NULL,
  content_type integer NOT NULL DEFAULT 0,
  size bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (group_id, key)
);

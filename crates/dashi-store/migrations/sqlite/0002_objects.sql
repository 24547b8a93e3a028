-- Everything users make and run: data sources, queries and their results, visualizations,
-- dashboards and widgets, alerts and destinations, favorites, snippets, change history, object
-- permissions, the job ledger and the notification outbox. Redash's data model (its column names,
-- so importing and the API map one to one) plus what Dashi needs to run without Redis state.
-- SQLite twin of postgres/0002, conventions as in 0001: INTEGER PRIMARY KEY is the rowid, every
-- other integer BIGINT; times are RFC 3339 TEXT written by the application (never
-- CURRENT_TIMESTAMP); JSON is TEXT, bytes BLOB, floats REAL; no defaults, the application writes
-- every column. Same tables, columns (in the same order), keys and indexes as postgres/0002.

-- A database users query. `encrypted_options` is the Fernet token (ASCII) of the JSON options,
-- byte-compatible with Redash. Redash keeps pause state and the schema cache in Redis; here they
-- are columns so that a Redis flush loses neither.
CREATE TABLE data_sources (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    encrypted_options TEXT NOT NULL,
    queue_name TEXT NOT NULL,
    scheduled_queue_name TEXT NOT NULL,
    paused BOOLEAN NOT NULL,
    pause_reason TEXT,
    -- NULL: the deployment's default. At most this many of its jobs run at once.
    concurrency_limit BIGINT,
    -- NULL: the queue's default.
    timeout_secs BIGINT,
    -- The last schema fetched from the source (tables and columns), and when.
    schema_cache TEXT,
    schema_updated_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT data_sources_org_id_name UNIQUE (org_id, name)
);

-- Which groups may use a data source; view_only members may read results but not run queries.
CREATE TABLE data_source_groups (
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    view_only BOOLEAN NOT NULL,
    PRIMARY KEY (data_source_id, group_id)
);
CREATE INDEX data_source_groups_group_id ON data_source_groups (group_id);

-- One immutable result of running `query` (the executed text) on a data source; never updated.
-- The rows live in `inline_data` (small results, zstd NDJSON) or in the results store at
-- `location`; `storage` says which: 'inline', 'file' or 's3'. Deleting a data source deletes its
-- results, as Redash does; the results store sweeps blobs whose row is gone.
CREATE TABLE query_results (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    query_hash TEXT NOT NULL,
    query TEXT NOT NULL,
    -- Seconds, as Redash reports it.
    runtime REAL NOT NULL,
    retrieved_at TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    byte_size BIGINT NOT NULL,
    storage TEXT NOT NULL,
    location TEXT,
    inline_data BLOB,
    -- [{"name", "friendly_name", "type"}…], so listing a result's columns needs no blob read.
    columns TEXT NOT NULL
);
-- The cache lookup: newest result of this text on this source within max_age.
CREATE INDEX query_results_lookup ON query_results (data_source_id, query_hash, retrieved_at);
CREATE INDEX query_results_retrieved_at ON query_results (retrieved_at);

-- A saved query. `version` is the optimistic-lock counter; `query_hash` is Redash's hash of the
-- text; `latest_query_data_id` the newest result of that hash on that source. `search_text` is
-- the lower-cased (in Rust, Unicode-aware) name, description and text, matched with LIKE on both
-- dialects. `schedule` is Redash's {interval, time, day_of_week, until} document.
CREATE TABLE queries (
    id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    data_source_id BIGINT REFERENCES data_sources (id) ON DELETE SET NULL,
    latest_query_data_id BIGINT REFERENCES query_results (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    description TEXT,
    query TEXT NOT NULL,
    query_hash TEXT NOT NULL,
    api_key TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    last_modified_by_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    is_archived BOOLEAN NOT NULL,
    is_draft BOOLEAN NOT NULL,
    schedule TEXT,
    schedule_failures BIGINT NOT NULL,
    options TEXT NOT NULL,
    search_text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX queries_org_id_is_archived ON queries (org_id, is_archived, updated_at);
CREATE INDEX queries_user_id ON queries (user_id);
-- A new result re-points every query with the same text on the same source.
CREATE INDEX queries_data_source_id_query_hash ON queries (data_source_id, query_hash);
-- Result cleanup keeps every result some query still points at.
CREATE INDEX queries_latest_query_data_id ON queries (latest_query_data_id);
CREATE INDEX queries_last_modified_by_id ON queries (last_modified_by_id);

-- Redash's queries.tags text[], as rows.
CREATE TABLE query_tags (
    query_id BIGINT NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (query_id, tag)
);
CREATE INDEX query_tags_tag ON query_tags (tag);

CREATE TABLE visualizations (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    query_id BIGINT NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    options TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX visualizations_query_id ON visualizations (query_id);

-- `version` starts at 1 and grows on every update; clients send it back to detect conflicts.
-- `layout` is Redash's legacy rows of widget ids, kept for imported dashboards.
CREATE TABLE dashboards (
    id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    layout TEXT NOT NULL,
    dashboard_filters_enabled BOOLEAN NOT NULL,
    is_archived BOOLEAN NOT NULL,
    is_draft BOOLEAN NOT NULL,
    options TEXT NOT NULL,
    search_text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX dashboards_org_id_is_archived ON dashboards (org_id, is_archived, updated_at);
-- Redash's legacy URLs address dashboards by slug, which is not unique.
CREATE INDEX dashboards_org_id_slug ON dashboards (org_id, slug);
CREATE INDEX dashboards_user_id ON dashboards (user_id);

CREATE TABLE dashboard_tags (
    dashboard_id BIGINT NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (dashboard_id, tag)
);
CREATE INDEX dashboard_tags_tag ON dashboard_tags (tag);

-- A visualization placed on a dashboard, or a text box when visualization_id is NULL. Deleting
-- the visualization deletes its widgets, as in Redash.
CREATE TABLE widgets (
    id INTEGER PRIMARY KEY,
    dashboard_id BIGINT NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    visualization_id BIGINT REFERENCES visualizations (id) ON DELETE CASCADE,
    text TEXT,
    width BIGINT NOT NULL,
    options TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX widgets_dashboard_id ON widgets (dashboard_id);
CREATE INDEX widgets_visualization_id ON widgets (visualization_id);

-- Where alert notifications go (Slack, webhook, e-mail list, …); options encrypted like a data
-- source's.
CREATE TABLE notification_destinations (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    encrypted_options TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT notification_destinations_org_id_name UNIQUE (org_id, name)
);

-- `state` is 'unknown', 'ok' or 'triggered'; `options` holds column, op, value, selector,
-- custom_subject, custom_body and muted. `org_id` is ours (Redash reaches it through the query)
-- so alert lists filter without a join.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    query_id BIGINT NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    options TEXT NOT NULL,
    state TEXT NOT NULL,
    last_triggered_at TEXT,
    -- Seconds before a still-triggered alert notifies again; NULL: only on state changes.
    rearm BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX alerts_org_id ON alerts (org_id);
CREATE INDEX alerts_query_id ON alerts (query_id);
CREATE INDEX alerts_user_id ON alerts (user_id);

-- Who hears about an alert: through a destination, or by e-mail to the user when
-- destination_id is NULL.
CREATE TABLE alert_subscriptions (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    destination_id BIGINT REFERENCES notification_destinations (id) ON DELETE CASCADE,
    alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX alert_subscriptions_destination_id_alert_id
    ON alert_subscriptions (destination_id, alert_id);
-- NULLs are distinct in unique indexes, so e-mail subscriptions need their own.
CREATE UNIQUE INDEX alert_subscriptions_email
    ON alert_subscriptions (alert_id, user_id) WHERE destination_id IS NULL;
CREATE INDEX alert_subscriptions_alert_id ON alert_subscriptions (alert_id);
CREATE INDEX alert_subscriptions_user_id ON alert_subscriptions (user_id);

-- One notification to send for one alert state change and one subscription, written in the same
-- transaction as the state change. `state_change` is unique per (alert, change, subscription), so
-- re-evaluating the same result cannot notify twice. Delivery is at least once: a row is pending
-- while next_attempt_at is set; sending sets sent_at, giving up sets error; both clear
-- next_attempt_at.
CREATE TABLE notification_outbox (
    id INTEGER PRIMARY KEY,
    alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    subscription_id BIGINT NOT NULL REFERENCES alert_subscriptions (id) ON DELETE CASCADE,
    state_change TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at TEXT,
    sent_at TEXT,
    error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX notification_outbox_alert_id ON notification_outbox (alert_id);
CREATE INDEX notification_outbox_subscription_id ON notification_outbox (subscription_id);

-- `object_type` is Redash's class name: 'Query' or 'Dashboard'.
CREATE TABLE favorites (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT unique_favorite UNIQUE (object_type, object_id, user_id)
);
CREATE INDEX favorites_user_id ON favorites (user_id, object_type);

-- Redash makes triggers unique across all organizations; here unique within one.
CREATE TABLE query_snippets (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    trigger TEXT NOT NULL,
    description TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    snippet TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT query_snippets_org_id_trigger UNIQUE (org_id, trigger)
);

-- History of queries and dashboards: `change` is {<column>: {"previous", "current"}}.
-- `object_type` is the table name, 'queries' or 'dashboards'.
CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    object_version BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    change TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX changes_object ON changes (object_type, object_id, created_at);

-- Per-object grants beyond group membership (Redash's ACL, for queries and dashboards):
-- `access_type` is 'view', 'modify' or 'delete'.
CREATE TABLE access_permissions (
    id INTEGER PRIMARY KEY,
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    access_type TEXT NOT NULL,
    grantor_id BIGINT NOT NULL REFERENCES users (id),
    grantee_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    CONSTRAINT access_permissions_grant UNIQUE (object_type, object_id, access_type, grantee_id)
);
CREATE INDEX access_permissions_grantee_id ON access_permissions (grantee_id);

-- The job ledger: the truth about every queued, running and finished job. Redis (or the
-- in-process channel) only dispatches ids; after a Redis flush the reconciler refills it from
-- here. `id` is a UUID v7 as text. `state` is 'queued', 'running', 'succeeded', 'failed' or
-- 'cancelled'. `org_id` is NULL for maintenance jobs that span organizations.
--
-- `dedupe_key` (Redash's query_hash_job lock): at most one active job per key, so identical text
-- on the same source runs once and later callers attach to it. `run_key`: one job per scheduled
-- due run, ever, so two schedulers (or one before and after a crash) cannot enqueue it twice.
-- A worker claims a job by bumping `fence`; its later writes carry the fence it got, so a worker
-- that lost its lease cannot overwrite a newer attempt.
CREATE TABLE jobs (
    -- SQLite lets a non-integer primary key hold NULL unless told otherwise.
    id TEXT NOT NULL PRIMARY KEY,
    org_id BIGINT REFERENCES organizations (id),
    queue TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    data_source_id BIGINT REFERENCES data_sources (id) ON DELETE SET NULL,
    query_id BIGINT REFERENCES queries (id) ON DELETE SET NULL,
    query_hash TEXT,
    dedupe_key TEXT,
    run_key TEXT,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    run_after TEXT NOT NULL,
    lease_owner TEXT,
    lease_expires_at TEXT,
    fence BIGINT NOT NULL,
    cancel_requested BOOLEAN NOT NULL,
    result_id BIGINT REFERENCES query_results (id) ON DELETE SET NULL,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key) WHERE state IN ('queued', 'running');
CREATE UNIQUE INDEX jobs_run_key ON jobs (run_key);
-- Claim: the oldest due job of a queue.
CREATE INDEX jobs_claim ON jobs (queue, state, run_after);
-- Fair dispatch: running jobs per data source, and its oldest parked (queued) one.
CREATE INDEX jobs_data_source_id_state ON jobs (data_source_id, state, created_at);
-- The reconciler: running jobs whose lease expired.
CREATE INDEX jobs_state_lease_expires_at ON jobs (state, lease_expires_at);
-- Retention of finished jobs.
CREATE INDEX jobs_finished_at ON jobs (finished_at);
CREATE INDEX jobs_query_id ON jobs (query_id);
CREATE INDEX jobs_result_id ON jobs (result_id);

-- Organizations, users, groups, sessions, API keys, events, leases and process heartbeats.
-- SQLite twin of postgres/0001: INTEGER PRIMARY KEY is the rowid; times are RFC 3339 TEXT written
-- by the application (never CURRENT_TIMESTAMP, whose format compares wrongly); JSON is TEXT.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT,
    api_key TEXT NOT NULL UNIQUE,
    disabled_at TEXT,
    active_at TEXT,
    details TEXT NOT NULL,
    search_text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT users_org_id_email UNIQUE (org_id, email)
);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX groups_org_id ON groups (org_id);

-- Redash keeps membership as an int[] on users; a join table works on both dialects.
CREATE TABLE user_groups (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group_id ON user_groups (group_id);

-- Server-side sessions: the cookie carries a random token, the row its SHA-256, so a leaked
-- database does not hand out live sessions and a disabled user can be logged out everywhere.
CREATE TABLE sessions (
    id TEXT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    remember BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Non-user API keys (dashboard share tokens), as Redash's api_keys table.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    api_key TEXT NOT NULL UNIQUE,
    active BOOLEAN NOT NULL,
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    created_by_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX api_keys_object ON api_keys (object_type, object_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT,
    additional_properties TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX events_org_id_created_at ON events (org_id, created_at);

-- The right of exactly one process to act (the active scheduler). The fence only grows.
CREATE TABLE leases (
    name TEXT NOT NULL PRIMARY KEY,
    holder TEXT NOT NULL,
    fence BIGINT NOT NULL,
    expires_at TEXT NOT NULL
);

-- One row per running worker/scheduler/server process, renewed by heartbeat.
CREATE TABLE processes (
    id TEXT NOT NULL PRIMARY KEY,
    role TEXT NOT NULL,
    hostname TEXT NOT NULL,
    pid BIGINT NOT NULL,
    queues TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);

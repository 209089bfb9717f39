-- The same schema as migrations/postgres, in SQLite's dialect. STRICT tables make SQLite enforce
-- column types the way Postgres does. Timestamps are fixed-width RFC 3339 text (see
-- src/db/timestamp.rs), which sorts chronologically. AUTOINCREMENT keeps ids from being reused
-- after a delete, as Postgres identity columns do.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE CHECK (length(email) <= 254),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description TEXT CHECK (length(description) <= 2000),
    completed   INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX tasks_owner_newest ON tasks (user_id, created_at DESC, id DESC);

CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT CHECK (length(title) <= 200),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX conversations_owner_recent ON conversations (user_id, updated_at DESC, id DESC);

-- See migrations/postgres for what each column of a chat turn holds.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content         TEXT NOT NULL,
    tool_calls      TEXT CHECK (tool_calls IS NULL OR (role = 'assistant' AND json_valid(tool_calls) AND json_type(tool_calls) = 'array')),
    tool_call_id    TEXT CHECK ((role = 'tool') = (tool_call_id IS NOT NULL)),
    created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

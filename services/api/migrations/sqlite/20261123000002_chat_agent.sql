-- The same as migrations/postgres/20261123000002_chat_agent.sql, in SQLite's dialect.

ALTER TABLE conversations ADD COLUMN pending TEXT CHECK (pending IS NULL OR (json_valid(pending) AND json_type(pending) = 'object'));

CREATE TABLE llm_usage (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    day     TEXT NOT NULL,
    calls   INTEGER NOT NULL CHECK (calls >= 0)
) STRICT;

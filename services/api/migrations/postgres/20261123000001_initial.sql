-- Accounts, tasks, and the chat agent's conversations. Timestamps are written by the application
-- (one clock for both databases); ids are identity columns and never reused.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stored normalised (trimmed, lower-case), so the unique constraint is case-insensitive.
    email         TEXT NOT NULL UNIQUE CHECK (char_length(email) <= 254),
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE tasks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description TEXT CHECK (char_length(description) <= 2000),
    completed   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
-- Every task query filters by owner and pages newest first.
CREATE INDEX tasks_owner_newest ON tasks (user_id, created_at DESC, id DESC);

CREATE TABLE conversations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT CHECK (char_length(title) <= 200),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversations_owner_recent ON conversations (user_id, updated_at DESC, id DESC);

-- One row per chat turn, in the shape of OpenAI-style chat messages so the agent can replay a
-- conversation verbatim: a user turn; an assistant turn with text and/or the tool calls it asked
-- for (`tool_calls`: the JSON array of {id, type, function: {name, arguments}}); and one `tool`
-- row per executed call holding its result, linked by `tool_call_id`.
CREATE TABLE messages (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content         TEXT NOT NULL,
    tool_calls      JSONB CHECK (tool_calls IS NULL OR (role = 'assistant' AND jsonb_typeof(tool_calls) = 'array')),
    tool_call_id    TEXT CHECK ((role = 'tool') = (tool_call_id IS NOT NULL)),
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

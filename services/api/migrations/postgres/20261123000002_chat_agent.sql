-- The chat agent: a conversation can hold one thing it waits for from the user (a confirmation of
-- a bulk deletion, or which of several matching tasks was meant), and each user has a daily count
-- of language model calls. Both live here rather than in a process, so any replica can answer the
-- next turn and the budget holds across replicas and restarts.

-- `{"kind": "confirm" | "choose", "created_at": ..., ...}` (src/agent/pending.rs); NULL when
-- nothing is pending.
ALTER TABLE conversations ADD COLUMN pending JSONB CHECK (pending IS NULL OR jsonb_typeof(pending) = 'object');

-- One row per user: the UTC day counted and the calls made on it (older days are overwritten).
CREATE TABLE llm_usage (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    day     DATE NOT NULL,
    calls   INTEGER NOT NULL CHECK (calls >= 0)
);

-- The same as migrations/postgres/20261207000003_task_numbers.sql, in SQLite's dialect. SQLite
-- serialises writers, so the counter's read-and-increment in one transaction cannot interleave.
-- A column added by ALTER TABLE needs a default when NOT NULL; 0 is overwritten just below and
-- never written by the application.

ALTER TABLE users ADD COLUMN next_task_number INTEGER NOT NULL DEFAULT 1 CHECK (next_task_number >= 1);
ALTER TABLE tasks ADD COLUMN number INTEGER NOT NULL DEFAULT 0;

UPDATE tasks SET number = numbered.n
FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS n FROM tasks) AS numbered
WHERE tasks.id = numbered.id;
UPDATE users SET next_task_number = 1 + COALESCE((SELECT MAX(number) FROM tasks WHERE tasks.user_id = users.id), 0);

CREATE UNIQUE INDEX tasks_owner_number ON tasks (user_id, number);

-- A question the chat left waiting (a bulk delete to confirm, a choice between tasks) names tasks
-- by their old ids: drop it rather than let a "yes" act on the tasks those numbers now name.
UPDATE conversations SET pending = NULL WHERE pending IS NOT NULL;

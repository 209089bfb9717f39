-- Tasks are numbered per user: a user's first task is #1, whatever other users did. The number is
-- what users see and type (the UI, the chat, the REST paths, the agent's tools); the identity
-- column `id` stays an internal key.
--
-- `users.next_task_number` is the number the user's next task gets. Creating a task takes it and
-- increments it in the same transaction (src/tasks/store.rs): the row lock on the user orders
-- concurrent creates, and since the counter only ever grows, a number is never given twice, even
-- after the task that had it is deleted.

ALTER TABLE users ADD COLUMN next_task_number BIGINT NOT NULL DEFAULT 1 CHECK (next_task_number >= 1);
ALTER TABLE tasks ADD COLUMN number BIGINT;

-- Existing tasks: numbered 1, 2, … per user in the order they were created (id order).
UPDATE tasks SET number = numbered.n
FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS n FROM tasks) AS numbered
WHERE tasks.id = numbered.id;
UPDATE users SET next_task_number = 1 + COALESCE((SELECT MAX(number) FROM tasks WHERE tasks.user_id = users.id), 0);

ALTER TABLE tasks ALTER COLUMN number SET NOT NULL;
ALTER TABLE tasks ADD CONSTRAINT tasks_number_positive CHECK (number >= 1);
-- One task per number per user; also the index every lookup by number uses.
ALTER TABLE tasks ADD CONSTRAINT tasks_owner_number UNIQUE (user_id, number);

-- A question the chat left waiting (a bulk delete to confirm, a choice between tasks) names tasks
-- by their old ids: drop it rather than let a "yes" act on the tasks those numbers now name.
UPDATE conversations SET pending = NULL WHERE pending IS NOT NULL;

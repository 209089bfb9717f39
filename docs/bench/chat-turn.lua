-- wrk script for `cargo xtask bench --only app`: every request is one chat turn in a new
-- conversation, asking the offline agent for the task list (read-only, so it always succeeds).
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"message":"list my tasks"}'

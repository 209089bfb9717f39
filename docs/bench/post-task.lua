-- wrk script for `cargo xtask bench --only app`: every request creates a task.
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"title":"benchmark task","description":"created by wrk"}'

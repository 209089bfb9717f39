#!/usr/bin/env bash
# Load-test todo-api with wrk on loopback, the way docs/benchmarks.md reports it:
#   bash docs/bench/api-load.sh sqlite
#   bash docs/bench/api-load.sh postgres postgres://user:pass@127.0.0.1:5432/db
# Prints startup-to-ready, then for `GET /api/tasks` (a user with 50 tasks) and `POST /api/tasks`:
# requests/s, p50 and p99 latency; then the server's peak RSS. Needs wrk, curl and jq.
# The Postgres database is wiped (schema `public` dropped) so every run starts alike.
set -euo pipefail

db=${1:?usage: api-load.sh sqlite|postgres [DATABASE_URL]}
duration=${DURATION:-15s}
connections=${CONNECTIONS:-16}
port=${PORT:-18181}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/docs/bench"
work=$(mktemp -d)
for tool in wrk curl jq; do
    command -v "$tool" >/dev/null || { echo "api-load: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done

cargo build -q --release -p todo-api --manifest-path "$root/Cargo.toml"
bin="$root/target/release/todo-api"

server_env=(
    TODO_ENV=production
    JWT_SECRET="$(head -c 32 /dev/urandom | base64)"
    PORT="$port"
    BIND_ADDR=127.0.0.1
    LOG_LEVEL=warn
    TODO_DATA_DIR="$work/data"
    # The limiter exists to answer a burst from one user with 429; here the burst is the point.
    RATE_LIMIT_AUTH_PER_MINUTE=1000000
    RATE_LIMIT_WRITES_PER_MINUTE=100000000
)
case $db in
    sqlite) ;;
    postgres)
        url=${2:?postgres needs a DATABASE_URL}
        psql -q "$url" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
        server_env+=(DATABASE_URL="$url")
        ;;
    *) echo "api-load: unknown database $db (sqlite or postgres)" >&2; exit 2 ;;
esac

base="http://127.0.0.1:$port"
start=$(date +%s%N)
env "${server_env[@]}" "$bin" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
until curl -fs -o /dev/null "$base/readyz"; do
    kill -0 $pid 2>/dev/null || { echo "api-load: todo-api exited:" >&2; cat "$work/server.log" >&2; exit 1; }
    sleep 0.005
done
echo "startup to ready ($db): $((($(date +%s%N) - start) / 1000000)) ms"

token_for() {
    curl -fs "$base/api/auth/signup" -H 'content-type: application/json' \
        -d "{\"email\":\"$1@bench.example\",\"password\":\"correct horse battery\"}" | jq -r .token
}
reader=$(token_for reader)
for i in $(seq 1 50); do
    curl -fs -o /dev/null "$base/api/tasks" -H "authorization: Bearer $reader" \
        -H 'content-type: application/json' -d "{\"title\":\"task $i\",\"description\":\"benchmark task number $i\"}"
done
listed=$(curl -fs "$base/api/tasks" -H "authorization: Bearer $reader" | jq '.items | length')
[ "$listed" = 50 ] || { echo "api-load: expected 50 tasks in the list, got $listed" >&2; exit 1; }
# A second user writes, so the reader's list stays at 50 tasks.
writer=$(token_for writer)

report() {
    local what=$1 out=$2
    awk -v what="$what" '
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = $2 }
        $1 == "99%" { p99 = $2 }
        /Non-2xx/ { bad = $NF }
        END { printf "%s: %s req/s, p50 %s, p99 %s%s\n", what, rps, p50, p99, bad ? ", NON-2XX " bad : "" }
    ' <<<"$out"
}
get=$(wrk -t2 -c"$connections" -d"$duration" --latency -H "authorization: Bearer $reader" "$base/api/tasks")
report "GET /api/tasks ($db, 50 tasks)" "$get"
post=$(wrk -t2 -c"$connections" -d"$duration" --latency -H "authorization: Bearer $writer" \
    -s "$here/post-task.lua" "$base/api/tasks")
report "POST /api/tasks ($db)" "$post"
echo "peak RSS ($db): $(awk '/VmHWM/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status")"

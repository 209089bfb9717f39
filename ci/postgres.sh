#!/usr/bin/env bash
# A local PostgreSQL for the API's integration tests (they run on SQLite always, and on Postgres
# too when TEST_DATABASE_URL is set). Two ways to use it:
#
#   export TEST_DATABASE_URL=$(bash ci/postgres.sh | tail -n1)   # run: prints the URL last
#   source ci/postgres.sh                                        # a CI step: exports it
#
# For a fresh Debian 12 machine run as root, without systemd: installs the `postgresql` package
# if missing, starts cluster 15/main, and makes sure role and database `todo_test` exist (the
# role has CREATEDB: each test creates a database of its own; and CREATEROLE: the kube suite gives its pods a role with a random password). Safe to run again: every step
# checks first. Progress goes to stderr; the output of apt and of the server's start goes to a
# log file, so that no daemon holds the caller's stdout open. When sourced and it started the
# server, it appends the stop command to $CI_CLEANUP_FILE.

_ci_postgres() (
    set -euo pipefail

    pg_version="${PG_VERSION:-15}"
    pg_cluster="${PG_CLUSTER:-main}"
    log_dir="${CI_LOG_DIR:-$PWD/target/ci}"
    log="$log_dir/postgres.log"
    role=todo_test
    password=todo_test
    database=todo_test

    say() { echo "ci/postgres.sh: $*" >&2; }
    die() {
        say "error: $*"
        exit 1
    }
    mkdir -p "$log_dir"

    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -x "/usr/lib/postgresql/$pg_version/bin/postgres" ]; then
        [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and installing it needs root"
        say "installing postgresql with apt-get (output in $log)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >>"$log" 2>&1 || die "apt-get update failed; see $log"
        apt-get install -y --no-install-recommends postgresql </dev/null >>"$log" 2>&1 \
            || die "apt-get install postgresql failed; see $log"
        [ -x "/usr/lib/postgresql/$pg_version/bin/postgres" ] \
            || die "the postgresql package did not bring version $pg_version; set PG_VERSION"
    fi

    cluster_field() {
        pg_lsclusters -h | awk -v v="$pg_version" -v c="$pg_cluster" -v f="$1" '$1 == v && $2 == c { print $f }'
    }
    if [ -z "$(cluster_field 1)" ]; then
        say "creating cluster $pg_version/$pg_cluster"
        pg_createcluster "$pg_version" "$pg_cluster" </dev/null >>"$log" 2>&1 \
            || die "pg_createcluster failed; see $log"
    fi
    port="$(cluster_field 3)"

    if [ "$(cluster_field 4)" = online ]; then
        say "cluster $pg_version/$pg_cluster already running on port $port"
    else
        say "starting cluster $pg_version/$pg_cluster on port $port (log: $log)"
        # stdin from /dev/null and all output to the log: the server outlives this script.
        pg_ctlcluster "$pg_version" "$pg_cluster" start </dev/null >>"$log" 2>&1 \
            || die "pg_ctlcluster start failed; see $log and /var/log/postgresql/"
        echo "pg_ctlcluster $pg_version $pg_cluster stop >/dev/null 2>&1 || true" \
            >>"${CI_CLEANUP_FILE:-/dev/null}"
    fi

    say "waiting for connections on 127.0.0.1:$port"
    for _ in $(seq 1 60); do
        pg_isready -q -h 127.0.0.1 -p "$port" && break
        sleep 1
    done
    pg_isready -q -h 127.0.0.1 -p "$port" || die "PostgreSQL did not accept connections within 60 s; see $log"

    psql_admin() {
        local sql="$1"
        if [ "$(id -u)" -eq 0 ]; then
            runuser -u postgres -- psql --no-psqlrc -v ON_ERROR_STOP=1 -p "$port" -qtAc "$sql"
        else
            psql --no-psqlrc -v ON_ERROR_STOP=1 -p "$port" -qtAc "$sql"
        fi
    }
    if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" = 1 ]; then
        # Converge an existing role to what the tests need.
        psql_admin "ALTER ROLE $role WITH LOGIN CREATEDB CREATEROLE PASSWORD '$password'"
    else
        say "creating role $role"
        psql_admin "CREATE ROLE $role WITH LOGIN CREATEDB CREATEROLE PASSWORD '$password'"
    fi
    if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
        say "creating database $database"
        psql_admin "CREATE DATABASE $database OWNER $role"
    fi

    url="postgres://$role:$password@127.0.0.1:$port/$database"
    # Prove the URL works the way the tests use it: password authentication over TCP.
    PGPASSWORD="$password" psql --no-psqlrc -h 127.0.0.1 -p "$port" -U "$role" -d "$database" -qtAc 'SELECT 1' >/dev/null \
        || die "cannot log in as $role over TCP; check pg_hba.conf of cluster $pg_version/$pg_cluster"
    say "ready: TEST_DATABASE_URL=$url"
    echo "$url"
)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    _ci_postgres
else
    # Sourced: export for the commands that follow, without leaking `set -e` into the caller.
    if TEST_DATABASE_URL="$(_ci_postgres | tail -n1)" && [ -n "$TEST_DATABASE_URL" ]; then
        export TEST_DATABASE_URL
    else
        unset TEST_DATABASE_URL
        return 1
    fi
fi

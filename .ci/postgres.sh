#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests and print the variables that point at it.
#
#   eval "$(.ci/postgres.sh)"      # sets TRYON_TEST_POSTGRES_URL (and TRYON_TEST_POSTGRES_STOP)
#   pytest tests/test_web_booking_postgres.py
#   eval "$TRYON_TEST_POSTGRES_STOP"   # optional: stop it and delete its files
#
# The server listens on 127.0.0.1 on a free port, keeps its data in a new temporary folder, and runs as
# an unprivileged user (the "postgres" system user, or "nobody", when this script runs as root:
# PostgreSQL refuses to run as root). PostgreSQL 15 or newer from the Debian packages is used; when no
# server binaries are found, the packages are installed with apt-get (root only).
# Only the export lines go to stdout; progress and errors go to stderr.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    return 1
}

BINDIR="$(find_bindir || true)"
if [[ -z "$BINDIR" ]]; then
    if [[ "$(id -u)" -ne 0 ]]; then
        log "no PostgreSQL server binaries found and not root: install the Debian package 'postgresql'"
        exit 1
    fi
    log "installing PostgreSQL with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    BINDIR="$(find_bindir)"
fi
log "using $BINDIR"

# The user the server runs as.
RUN_AS=""
if [[ "$(id -u)" -eq 0 ]]; then
    if id postgres >/dev/null 2>&1; then RUN_AS=postgres; else RUN_AS=nobody; fi
fi
as_user() {
    if [[ -n "$RUN_AS" ]]; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

# A free TCP port on 127.0.0.1 (ask the kernel for one).
PYTHON="$(command -v python3 || command -v python || true)"
if [[ -n "$PYTHON" ]]; then
    PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
else
    PORT=$(( 20000 + RANDOM % 20000 ))
fi

BASE="$(mktemp -d "${TMPDIR:-/tmp}/tryon-pg.XXXXXX")"
DATA="$BASE/data"
SOCKDIR="$BASE/sock"
mkdir -p "$DATA" "$SOCKDIR"
PASSWORD="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PASSWORD" > "$BASE/pwfile"
chmod 700 "$BASE" "$DATA" "$SOCKDIR"
chmod 600 "$BASE/pwfile"
if [[ -n "$RUN_AS" ]]; then
    chown -R "$RUN_AS" "$BASE"
fi

log "initdb in $DATA (user ${RUN_AS:-$(id -un)}, port $PORT)"
as_user "$BINDIR/initdb" -D "$DATA" -U tryon --pwfile="$BASE/pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; exit 1; }
rm -f "$BASE/pwfile"

# Room for the concurrency tests (40 simultaneous bookings) and nothing durable: it is a throwaway.
as_user "$BINDIR/pg_ctl" -D "$DATA" -l "$BASE/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$SOCKDIR -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >&2 || { cat "$BASE/server.log" >&2; exit 1; }

export PGPASSWORD="$PASSWORD"
"$BINDIR/psql" -h 127.0.0.1 -p "$PORT" -U tryon -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE DATABASE tryon_test" >&2
unset PGPASSWORD
log "server ready: database tryon_test on 127.0.0.1:$PORT (log: $BASE/server.log)"

STOP="runuser -u ${RUN_AS:-$(id -un)} -- $BINDIR/pg_ctl -D $DATA -m fast stop >/dev/null; rm -rf $BASE"
if [[ -z "$RUN_AS" ]]; then
    STOP="$BINDIR/pg_ctl -D $DATA -m fast stop >/dev/null; rm -rf $BASE"
fi
echo "export TRYON_TEST_POSTGRES_URL=postgresql+psycopg://tryon:${PASSWORD}@127.0.0.1:${PORT}/tryon_test"
printf 'export TRYON_TEST_POSTGRES_STOP=%q\n' "$STOP"

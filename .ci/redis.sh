#!/usr/bin/env bash
# Start a throwaway Redis server for the tests and print the variables that point at it.
#
#   eval "$(.ci/redis.sh)"      # sets TRYON_TEST_REDIS_URL (and TRYON_TEST_REDIS_STOP)
#   pytest tests/test_store_redis.py
#   eval "$TRYON_TEST_REDIS_STOP"   # optional: stop it
#
# The server listens on 127.0.0.1 on a free port, keeps nothing on disk (no RDB, no AOF) and runs in
# the background. Debian's redis-server is used; setup.sh installs it.
# Only the export lines go to stdout; progress and errors go to stderr.
set -euo pipefail

log() { echo "redis.sh: $*" >&2; }

if ! command -v redis-server >/dev/null 2>&1; then
    log "redis-server not found: install the Debian package 'redis-server' (./setup.sh does)"
    exit 1
fi
PYTHON="$(command -v python3 || command -v python)"
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DIR="$(mktemp -d /tmp/tryon-redis.XXXXXX)"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" >&2
for _ in $(seq 1 50); do
    if redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; then
        log "server ready on 127.0.0.1:$PORT (log: $DIR/redis.log)"
        echo "export TRYON_TEST_REDIS_URL=redis://127.0.0.1:$PORT/0"
        echo "export TRYON_TEST_REDIS_STOP='redis-cli -p $PORT shutdown nosave >/dev/null 2>&1; rm -rf $DIR'"
        exit 0
    fi
    sleep 0.1
done
log "redis-server did not answer on port $PORT (log: $DIR/redis.log)"
cat "$DIR/redis.log" >&2 || true
exit 1

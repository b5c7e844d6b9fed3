#!/usr/bin/env bash
# Start a throwaway PostgreSQL on 127.0.0.1 for the database tests and print its URL.
# Installs Debian's postgresql when missing. The cluster lives in $MODELDESK_PG_DIR (a new
# temp dir when unset) and is stopped, and its folder removed, by
# `scripts/postgres_for_tests.sh stop DIR` (.ci/run does that on exit, whatever happens).
set -euo pipefail

run_as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-}" = "stop" ]; then
  [ -d "${2:?usage: $0 stop DIR}" ] || exit 0
  if [ -f "$2/data/postmaster.pid" ]; then
    pg_ctl=$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)
    run_as_postgres "$pg_ctl" -D "$2/data" stop -m fast >/dev/null || true
  fi
  rm -rf "$2"
  exit 0
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
dir=${MODELDESK_PG_DIR:-$(mktemp -d /tmp/modeldesk-pg.XXXXXX)}
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run_as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
run_as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null
run_as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres modeldesk_test
echo "postgresql+psycopg://postgres@127.0.0.1:$port/modeldesk_test"

#!/usr/bin/env bash
# Start a throwaway PostgreSQL on 127.0.0.1 for the database tests and print its URL.
# Installs Debian's postgresql when missing. The cluster lives in a temp dir and is
# stopped by `scripts/postgres_for_tests.sh stop DIR` (CI simply lets it die with the job).
set -euo pipefail

if [ "${1:-}" = "stop" ]; then
  runuser -u postgres -- "$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")/pg_ctl" -D "$2" stop -m fast >/dev/null
  exit 0
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
run_as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

dir=$(mktemp -d /tmp/modeldesk-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run_as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
run_as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null
run_as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres modeldesk_test
echo "postgresql+psycopg://postgres@127.0.0.1:$port/modeldesk_test"

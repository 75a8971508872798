#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the test suite and
# exports FERRID_TEST_POSTGRES_URL. Meant to be sourced; the server stops
# when the sourcing shell exits. Installs Debian's postgresql package
# when it is missing.
set -euo pipefail

# shellcheck source=scripts/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ferrid_apt_install postgresql || true
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "PostgreSQL server binaries not found and could not be installed: apt-get install postgresql" >&2
  exit 1
fi

pg_dir=$(mktemp -d /tmp/ferrid-pg.XXXXXX)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root.
  chown postgres:postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >"$pg_dir/initdb.log" 2>&1 \
  || { cat "$pg_dir/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null \
  || { cat "$pg_dir/server.log" >&2; exit 1; }

ferrid_stop_postgres() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap ferrid_stop_postgres EXIT

export FERRID_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "PostgreSQL for tests: $FERRID_TEST_POSTGRES_URL"

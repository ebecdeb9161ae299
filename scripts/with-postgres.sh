#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL: a new cluster in a temporary directory, listening
# on a free loopback port, trusted for local connections, deleted afterwards. The command sees
# KEFU_TEST_POSTGRES=postgres://postgres@127.0.0.1:<port>/postgres, from which the tests create a
# database each. Debian's postgresql package provides initdb and pg_ctl; as root they run as the
# postgres user (initdb refuses root).
#
#   scripts/with-postgres.sh cargo test --workspace --test server
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "with-postgres: PostgreSQL's server is not installed (scripts/install-deps.sh --with-postgres)" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/kefu-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  as_owner=(runuser -u postgres --)
fi


stop() {
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# A port nobody answers on; if another process takes it first, start fails and we try another.
started=""
for _ in 1 2 3 4 5 6 7 8; do
  port=$((20000 + RANDOM % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
  # fsync stays on: durability is what the crash tests check.
  if "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null; then
    started=yes
    break
  fi
done
[ -n "$started" ] || { echo "with-postgres: PostgreSQL did not start" >&2; cat "$dir/server.log" >&2; exit 1; }

export KEFU_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
"$@"

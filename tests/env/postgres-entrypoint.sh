#!/bin/sh
# Entrypoint of the locally built test image. Behaves like the official postgres image:
# POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB / POSTGRES_INITDB_ARGS, first-start initdb into $PGDATA with a
# temporary socket-only server, *.sql from /docker-entrypoint-initdb.d, then exec postgres
# as the unprivileged postgres user.
set -eu
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
export PGDATA

if [ "${1:-postgres}" != "postgres" ]; then exec "$@"; fi
[ $# -gt 0 ] && shift

as_postgres() { su -s /bin/sh postgres -c "$1"; }

mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
chmod 2775 /var/run/postgresql

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "error: POSTGRES_PASSWORD is not set" >&2; exit 1
  fi
  pwfile="$(mktemp)"; printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"; chown postgres "$pwfile"
  as_postgres "initdb -D '$PGDATA' --username='$POSTGRES_USER' --pwfile='$pwfile' --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-}" >/dev/null
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  as_postgres "pg_ctl -D '$PGDATA' -o \"-c listen_addresses='' -p 5432 $*\" -w start" >/dev/null
  if [ "$POSTGRES_DB" != "postgres" ]; then
    as_postgres "psql -v ON_ERROR_STOP=1 -U '$POSTGRES_USER' -d postgres -c 'CREATE DATABASE \"$POSTGRES_DB\"'" >/dev/null
  fi
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$f" ] || continue
    as_postgres "psql -v ON_ERROR_STOP=1 -U '$POSTGRES_USER' -d '$POSTGRES_DB' -f '$f'" >/dev/null
  done
  as_postgres "pg_ctl -D '$PGDATA' -m fast -w stop" >/dev/null
  echo "PostgreSQL init process complete; ready for start up."
fi

exec su -s /bin/sh postgres -c "exec postgres -D '$PGDATA' -c listen_addresses='*' $*"

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
  # Names travel as environment variables and psql variables (never inside a command string), so any name
  # PostgreSQL accepts works, as with the official image.
  export PGUSER="$POSTGRES_USER" HBOPS_INIT_DB="$POSTGRES_DB"
  if [ "$POSTGRES_DB" != "postgres" ]; then
    # shellcheck disable=SC2016 # expanded by the postgres user's shell
    as_postgres 'printf "%s\n" "CREATE DATABASE :\"db\";" | psql -v ON_ERROR_STOP=1 -v db="$HBOPS_INIT_DB" -d postgres' >/dev/null
  fi
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$f" ] || continue
    # PGDATABASE is taken literally (a -d value with '=' would be read as a connection string).
    # shellcheck disable=SC2016 # expanded by the postgres user's shell
    PGDATABASE="$POSTGRES_DB" HBOPS_INIT_FILE="$f" as_postgres 'psql -v ON_ERROR_STOP=1 -f "$HBOPS_INIT_FILE"' >/dev/null
  done
  as_postgres "pg_ctl -D '$PGDATA' -m fast -w stop" >/dev/null
  echo "PostgreSQL init process complete; ready for start up."
fi

exec su -s /bin/sh postgres -c "exec postgres -D '$PGDATA' -c listen_addresses='*' $*"

#!/usr/bin/env bash
# Starts a production-like PostgreSQL container and seeds it from fixture.sql (once), then fixture-proof.sql (once).
# Which one comes from the environment: HBOPS_PROD_CONTAINER, HBOPS_PROD_VOLUME, HBOPS_PG_IMAGE (defaults in common.sh:
# postgres, its volume, postgres:15); up.sh starts the PostgreSQL 17 one with HBOPS_PROD17_* and HBOPS_PG17_IMAGE.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
C="$HBOPS_PROD_CONTAINER"
if docker container inspect "$C" >/dev/null 2>&1; then
  if [ "$(docker container inspect -f '{{index .Config.Labels "hbops.testenv"}}' "$C")" != "true" ]; then
    log "a container named $C exists and was not created by the test environment; refusing"; exit 1
  fi
  [ "$(docker container inspect -f '{{.State.Running}}' "$C")" = "true" ] || docker start "$C" >/dev/null
else
  PW_FILE="$HBOPS_ENV_DIR/prod-password"
  [ -f "$PW_FILE" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$PW_FILE")
  docker volume create --label "$HBOPS_ENV_LABEL" "$HBOPS_PROD_VOLUME" >/dev/null
  log "starting production-like container $C"
  docker run -d --name "$C" --network none --label "$HBOPS_ENV_LABEL" \
    -e POSTGRES_USER="$HBOPS_PROD_USER" -e POSTGRES_DB="$HBOPS_PROD_DB" \
    -e POSTGRES_PASSWORD="$(cat "$PW_FILE")" \
    -v "$HBOPS_PROD_VOLUME:/var/lib/postgresql/data" "$HBOPS_PG_IMAGE" >/dev/null
fi
for _ in $(seq 1 120); do
  docker exec "$C" pg_isready -q -h 127.0.0.1 2>/dev/null && break
  sleep 0.5
done
docker exec "$C" pg_isready -q -h 127.0.0.1
seeded="$(docker exec "$C" psql -U "$HBOPS_PROD_USER" -d "$HBOPS_PROD_DB" -Atc "SELECT count(*) FROM pg_tables WHERE tablename = 'dot_tools'")"
if [ "$seeded" = "0" ]; then
  log "seeding fixture (this takes a few seconds)"
  docker exec -i "$C" psql -q -U "$HBOPS_PROD_USER" -d "$HBOPS_PROD_DB" -v ON_ERROR_STOP=1 <"$ENV_SCRIPTS_DIR/fixture.sql" >/dev/null
fi
# The deeper-proof additions (their own marker table; the file also checks it, so a second run changes nothing).
proof="$(docker exec "$C" psql -U "$HBOPS_PROD_USER" -d "$HBOPS_PROD_DB" -Atc "SELECT to_regclass('proof.fixture_marker') IS NULL")"
if [ "$proof" = "t" ]; then
  log "adding the deeper-proof fixture"
  docker exec -i "$C" psql -q -U "$HBOPS_PROD_USER" -d "$HBOPS_PROD_DB" -v ON_ERROR_STOP=1 <"$ENV_SCRIPTS_DIR/fixture-proof.sql" >/dev/null
fi
log "production-like container $C ready ($(docker exec "$C" psql -U "$HBOPS_PROD_USER" -d "$HBOPS_PROD_DB" -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))"))"

#!/usr/bin/env bash
# Creates (once) a benchmark container with two databases of incompressible-ish text:
# bench_small (~150 MB) and bench_large (~600 MB). Used only by build.ps1 -Task Bench.
source "$(dirname "${BASH_SOURCE[0]}")/../env/common.sh"
need_root
C=hbops-bench-pg
if ! docker container inspect "$C" >/dev/null 2>&1; then
  docker volume create --label "$HBOPS_ENV_LABEL" hbops-bench-pgdata >/dev/null
  docker run -d --name "$C" --network none --label "$HBOPS_ENV_LABEL" -e POSTGRES_USER=bench -e POSTGRES_DB=bench \
    -e POSTGRES_PASSWORD="$(head -c 12 /dev/urandom | base64)" -v hbops-bench-pgdata:/var/lib/postgresql/data "$HBOPS_PG_IMAGE" >/dev/null
fi
[ "$(docker container inspect -f '{{.State.Running}}' "$C")" = true ] || docker start "$C" >/dev/null
for _ in $(seq 1 120); do docker exec "$C" pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
seed() {
  local db=$1 rows=$2
  if [ "$(docker exec "$C" psql -U bench -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = "1" ]; then return; fi
  log "seeding $db ($rows rows)"
  docker exec "$C" psql -q -U bench -d postgres -c "CREATE DATABASE $db"
  docker exec "$C" psql -q -U bench -d "$db" -v ON_ERROR_STOP=1 -c "
    CREATE TABLE payload (id bigserial PRIMARY KEY, a text, b text, c text, d text);
    CREATE TABLE small_a AS SELECT g AS id FROM generate_series(1, 1000) g;
    CREATE TABLE small_b AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 5000) g;
    INSERT INTO payload (a, b, c, d)
      SELECT md5(random()::text), md5(random()::text), md5(random()::text), md5(random()::text) FROM generate_series(1, $rows);
    ANALYZE;"
}
seed bench_small 800000
seed bench_large 3200000
for db in bench_small bench_large; do
  log "$db: $(docker exec "$C" psql -U bench -d "$db" -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))")"
done

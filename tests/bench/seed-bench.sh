#!/usr/bin/env bash
# Creates (once) a benchmark container with three databases: bench_small (~150 MB) and bench_large (~600 MB) of
# incompressible-ish text, and bench_pgbench (~700 MB): the tables of 'pgbench -i -s 30' plus notes, 1.2 million rows
# of varied prose with a secondary index on the text. Used only by build.ps1 -Task Bench.
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
# bench_pgbench is marked seeded by its comment, set last: a seeding that was interrupted is dropped and done again.
seed_pgbench() {
  local db=bench_pgbench
  if [ "$(docker exec "$C" psql -U bench -d postgres -Atc "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$db'")" = "seeded" ]; then return; fi
  log "seeding $db (pgbench -i -s 30, notes: 1200000 rows)"
  docker exec -e PGOPTIONS='-c client_min_messages=warning' "$C" psql -q -U bench -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  local out
  out=$(docker exec -e PGOPTIONS='-c client_min_messages=warning' "$C" pgbench -i -q -s 30 -U bench "$db" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
  # Sentences of 3 to 14 words drawn from a vocabulary of 64, with a number now and then: text that compresses like
  # prose (not like md5 hex) and an index whose keys are long and mostly distinct.
  docker exec "$C" psql -q -U bench -d "$db" -v ON_ERROR_STOP=1 -c "
    CREATE TABLE notes (id bigserial PRIMARY KEY, account_id int NOT NULL, created_at timestamptz NOT NULL, body text NOT NULL);
    INSERT INTO notes (account_id, created_at, body)
      SELECT 1 + (random() * 2999999)::int, now() - random() * interval '900 days',
             initcap(array_to_string(ARRAY(
               SELECT CASE WHEN random() < 0.08 THEN (random() * 10000)::int::text
                           ELSE (ARRAY['customer','order','invoice','shipment','delayed','refund','requested','payment',
                             'received','address','changed','please','contact','support','regarding','the','a','an','and',
                             'of','to','for','with','after','before','warehouse','package','damaged','replacement','sent',
                             'account','balance','updated','manually','approved','pending','review','priority','urgent',
                             'note','call','back','tomorrow','morning','evening','monday','friday','discount','applied',
                             'coupon','expired','tracking','number','carrier','returned','label','printed','subscription',
                             'renewed','cancelled','upgrade','downgrade','plan','trial'])[1 + (random() * 63)::int] END
               FROM generate_series(1, 3 + (g % 12))), ' ')) || '.'
      FROM generate_series(1, 1200000) g;
    CREATE INDEX notes_body_idx ON notes (body);
    ANALYZE;
    COMMENT ON DATABASE $db IS 'seeded';"
}
seed_pgbench
for db in bench_small bench_large bench_pgbench; do
  log "$db: $(docker exec "$C" psql -U bench -d "$db" -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))")"
done

# HbOps: one psql query whose server session never outlives the command that started it (POSIX sh; shellcheck-clean).
# Run as
#   sh -c "<this script>" hbops-psql CONTAINER USER DATABASE APP -- docker exec ... psql ...
# APP  the query's own application_name (PGAPPNAME of the docker exec that follows "--").
# Standard input: the SQL's length in bytes on one line, the SQL, then nothing until HbOps has the command's exit status.
# The SQL goes to psql whole, or not at all. The end of the input while psql still runs means HbOps gave up on the query
# (Ctrl+C, a timeout) or its connection is gone: psql would go on waiting for a lock or counting a large table, so the
# query's server session is ended. Output and exit status are psql's own.
set -u
container=$1 user=$2 db=$3 app=$4
shift 4
[ "${1:-}" = -- ] && shift
case $app in ''|*[!0-9a-z-]*) echo "hbops-psql: invalid application name" >&2; exit 64;; esac
# Lengths are counted in bytes.
LC_ALL=C
trap '' PIPE HUP
exec 3<&0 </dev/null
IFS= read -r n <&3 || n=
case $n in ''|*[!0-9]*) echo "hbops-psql: no SQL length was sent" >&2; exit 64;; esac
# The x keeps trailing newlines that command substitution would strip.
sql=$(head -c "$n" <&3; echo x)
sql=${sql%x}
[ "${#sql}" -eq "$n" ] || { echo "hbops-psql: the SQL arrived incomplete (${#sql} of $n bytes)" >&2; exit 65; }
printf '%s' "$sql" | "$@" &
job=$!
(
  cat <&3 >/dev/null 2>&1
  if kill -0 "$job" 2>/dev/null; then
    docker exec -e PGAPPNAME="hbops-stop-$app" "$container" psql -X -q -A -t -U "$user" -d "$db" \
      -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '$app' AND pid <> pg_backend_pid()" </dev/null
  fi
) >/dev/null 2>&1 &
exec 3<&-
wait "$job"

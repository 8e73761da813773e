# HbOps: one pg_dump run on the docker host (POSIX sh; shellcheck-clean). Run as
#   sh -c "<this script>" hbops-dump MODE RUN ACCESS CONTAINER USER DATABASE APP DIR BASE RECIPIENTS -- DUMP-COMMAND...
# MODE    host:   the dump is written to DIR/BASE.dump.RUN.partial on this host, hashed while it is written, and
#                 claimed under its final name when HbOps asks for it;
#         stream: the dump is passed on on stdout (HbOps writes it where it runs); DIR and BASE are unused.
# RUN     the run id (hex): names this run's files, so no other run ever writes or removes them.
# ACCESS  private (umask 077: folders 0700, files 0600) or group (umask 027: 0750/0640).
# CONTAINER USER DATABASE APP  where pg_dump runs and the application_name its server session carries: docker exec
#         forwards no signals, so the dump is stopped by ending that session.
# RECIPIENTS  - (no encryption) or age recipients, one a line (public keys only: the host only ever encrypts). The
#         dump is encrypted while it streams (pg_dump | age -R ...); what is written (host mode) or passed on (stream
#         mode) is age ciphertext, and the plaintext's SHA-256 and size are taken from the same stream through FIFOs in
#         a private temporary folder: the plaintext never touches this host's disk.
#
# Reports key=value lines (stdout in host mode, stderr in stream mode; nothing is ever reported by line position):
#   partial=PATH progress=BYTES stderr=LINE dump_rc=N pass_rc=N write_rc=N write_error=LINE sha256=HEX size=BYTES
#   encrypt_rc=N encrypt_error=LINE plain_sha256=HEX plain_size=BYTES (with RECIPIENTS)
#   after=RESTARTS|STARTED_AT end=dump   then, after HbOps' request: file=NAME claimed=NAME aborted=1 error=TEXT
# Standard input carries HbOps' requests. Host mode: one request line, always followed by the end of the input: claim
#   (then the dump's SHA-256; after file=NAME the manifest's SHA-256, its length in bytes and the manifest; both
#   checksums are appended to SHA256SUMS) or abort; the script exits only after its input ended (OpenSSH drops the whole connection for an end-of-file sent to a closed channel). Stream mode: the
#   script ends with the dump; an abort line stops it (HbOps sends no end of input then).
# The end of the input without a request means the SSH connection is gone: the dump is stopped as for abort.
# Whatever happens, this run's partial file is either claimed or removed before the script exits.
set -u
mode=$1 run=$2 access=$3 container=$4 user=$5 db=$6 app=$7 dir=$8 base=$9
shift 9
recipients=-
if [ "${1:-}" != -- ]; then recipients=${1:--}; shift; fi
[ "${1:-}" = -- ] && shift
case $run$app in *[!0-9a-z-]*) echo "error=invalid run id or application name" >&2; exit 64;; esac
if [ "$access" = group ]; then umask 027; else umask 077; fi
# A write to a closed connection must not kill the script before it has cleaned up.
trap '' PIPE
# fd 3: HbOps' requests; fd 4: the status lines.
exec 3<&0 </dev/null
if [ "$mode" = stream ]; then exec 4>&2; else exec 4>&1; fi

say() { printf '%s\n' "$1" >&4 2>/dev/null || :; }
prefix() { sed "s/^/$1=/" >&4; }
nap() { sleep 0.2 2>/dev/null || sleep 1; }
drain() { cat <&3 >/dev/null 2>&1; }
# OpenSSL where installed (the CPU's SHA instructions, several times faster than coreutils), else sha256sum.
hbops_sha256() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r; else sha256sum; fi; }

# Encryption: the recipients file and the FIFOs live in a private folder (mktemp -d: 0700) that goes whatever happens.
tmp=''
early() { say "error=$1"; if [ "$mode" = host ]; then drain; fi; exit "$2"; }
if [ "$recipients" != - ]; then
  command -v age >/dev/null 2>&1 || early "encryption unavailable: age is not installed on this host" 69
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/hbops-age-$run.XXXXXX" 2>&1) || early "cannot create a private temporary folder: $tmp" 73
  trap 'rm -rf -- "$tmp"' EXIT
  printf '%s\n' "$recipients" > "$tmp/recipients"
  mkfifo -m 600 -- "$tmp/plain" "$tmp/count" || early "cannot create FIFOs in $tmp" 73
fi

# Ends every server session of this run (pg_dump's, and the snapshot session's, whose row counts and fingerprints would
# otherwise go on reading production): each carries an application_name ending in the run id. pg_dump then fails and
# the pipeline unwinds. Prints how many sessions it ended.
stop_server_side() {
  docker exec -e PGAPPNAME="hbops-stop-$run" "$container" psql -X -q -A -t -U "$user" -d "$db" \
    -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE (application_name = '$app' OR application_name LIKE 'hbops-%-$run') AND pid <> pg_backend_pid()" </dev/null 2>/dev/null
}

# pg_dump's own stderr becomes stderr= lines, its exit code dump_rc=; its output goes to fd 5.
run_dump() {
  { "$@" 2>&1 >&5 5>&-; say "dump_rc=$?"; } | prefix stderr 5>&-
}

# pg_dump writes small blocks; dd (where it supports full blocks) passes them on in 256 KiB blocks, which saves the
# receiving side most of its per-block work.
blocks=0
if printf x | dd bs=262144 iflag=fullblock status=none >/dev/null 2>&1; then blocks=1; fi
pass_on() {
  if [ "$blocks" = 1 ]; then dd bs=262144 iflag=fullblock status=none; else cat; fi
  say "pass_rc=$?"
}

# Writes its input to the partial file and passes it on; tee's complaints (e.g. ENOSPC) become write_error= lines.
write_file() {
  { tee -- "$partial" 2>&1 >&5 5>&-; say "write_rc=$?"; } | prefix write_error 5>&-
}

# Plaintext in, age ciphertext out (on fd 5). The plaintext is copied to a FIFO whose readers hash and count it while
# age reads the other copy: one pass, nothing written. age's complaints become encrypt_error= lines.
encrypt() {
  { tee -- "$tmp/count" < "$tmp/plain" | hbops_sha256 > "$tmp/plain.sum"; } 2>/dev/null &
  wc -c < "$tmp/count" > "$tmp/plain.size" 2>/dev/null &
  { tee -- "$tmp/plain" | { age -R "$tmp/recipients" 2>&1 >&5 5>&-; say "encrypt_rc=$?"; } | prefix encrypt_error 5>&-; } 5>&1
  wait
  IFS=' ' read -r psum _ < "$tmp/plain.sum" || psum=
  say "plain_sha256=${psum#\\}"
  say "plain_size=$(($(cat "$tmp/plain.size" 2>/dev/null || echo 0)))"
}
observe_after() {
  say "after=$(docker container inspect -f '{{.RestartCount}}|{{.State.StartedAt}}' -- "$container" 2>/dev/null)"
}

partial=
if [ "$mode" = host ]; then
  partial="$dir/$base.dump.$run.partial"
  # O_EXCL (noclobber): the partial file is this run's alone. A removal that takes an emptied run folder away between
  # the two steps is met by trying again.
  made=0
  for _ in 1 2 3; do
    if ! err=$(mkdir -p -- "$dir" 2>&1); then say "error=cannot create $dir: $err"; drain; exit 73; fi
    if err=$( (set -C; : > "$partial") 2>&1); then made=1; break; fi
  done
  if [ "$made" = 0 ]; then say "error=cannot create $partial: $err"; drain; exit 73; fi
  say "partial=$partial"
fi

# The dump runs in the background; the foreground waits for HbOps' request (or the end of the connection).
(
  if [ "$mode" = host ]; then
    (while sleep 1 && [ -e "$partial" ]; do say "progress=$(wc -c < "$partial" 2>/dev/null || echo 0)"; done) &
    monitor=$!
    if [ -n "$tmp" ]; then
      { run_dump "$@"; } 5>&1 | pass_on | { encrypt; } 5>&1 | { write_file; } 5>&1 | { hbops_sha256 2>/dev/null; } | {
        IFS=' ' read -r sum _ || sum=; say "sha256=${sum#\\}"; }
    else
      { run_dump "$@"; } 5>&1 | pass_on | { write_file; } 5>&1 | { hbops_sha256 2>/dev/null; } | {
        IFS=' ' read -r sum _ || sum=; say "sha256=${sum#\\}"; }
    fi
    kill "$monitor" 2>/dev/null
    say "size=$(($(wc -c < "$partial" 2>/dev/null || echo 0)))"
  else
    if [ -n "$tmp" ]; then { run_dump "$@"; } 5>&1 | pass_on | { encrypt; } 5>&1; else { run_dump "$@"; } 5>&1 | pass_on; fi
  fi
  observe_after
  say "end=dump"
) 3<&- &
job=$!

if [ "$mode" = stream ]; then
  # The dump's output reaches HbOps only as the command ends (SSH.NET ends a command's stdout when its channel
  # closes), so in stream mode nothing is asked: the script ends with the dump. A watchdog reads the input meanwhile:
  # a line (abort) or its end (the connection is gone) stops the dump. Nothing is written to disk here.
  exec >/dev/null
  (
    IFS= read -r _ <&3 || :
    trap '' HUP INT TERM
    i=0
    while kill -0 "$job" 2>/dev/null && [ "$i" -lt 600 ]; do stop_server_side >/dev/null; nap; i=$((i + 1)); done
    stop_server_side >/dev/null
    say "aborted=1"
  ) &
  watchdog=$!
  wait "$job"
  # A watchdog still waiting for input is no longer needed; one that is stopping the dump finishes first.
  kill "$watchdog" 2>/dev/null
  wait "$watchdog"
  exit 0
fi

# Stops the dump and removes this run's partial file. The stopper ends pg_dump's server session again and again until
# the dump has unwound (pg_dump may not have connected yet at the first attempt); it ends by itself with the dump (and
# after two minutes at most), as signals are ignored from here on and could not stop it.
abort() {
  trap '' HUP INT TERM
  (i=0; while kill -0 "$job" 2>/dev/null && [ "$i" -lt 600 ]; do stop_server_side >/dev/null; nap; i=$((i + 1)); done) &
  stopper=$!
  wait "$job"
  wait "$stopper"
  # The container side can outlive the docker exec client: end any session that is still there.
  stop_server_side >/dev/null
  [ -n "$partial" ] && rm -f -- "$partial"
  say "aborted=1"
}

final='' manifest='' mtmp='' sums='' sums_size='' sums_existed='' locked=''
lockf="$dir/SHA256SUMS.lock"
unlock() { if [ -n "$locked" ]; then rm -f -- "$lockf"; locked=; fi; }
# Undoes a claim that did not complete: only what this run made is removed.
rollback() {
  trap '' HUP INT TERM
  [ -n "$mtmp" ] && rm -f -- "$mtmp"
  if [ -n "$sums_size" ]; then
    if [ "$sums_existed" = 1 ]; then dd if=/dev/null of="$sums" bs=1 seek="$sums_size" 2>/dev/null; else rm -f -- "$sums"; fi
  fi
  unlock
  [ -n "$final" ] && rm -f -- "$final"
  rm -f -- "$partial"
}
fail() { say "error=$1"; rollback; drain; exit 1; }

# SHA256SUMS is changed by one run at a time: the lock is a file created with O_EXCL (HbOps' local writer uses the
# same lock). It is held for milliseconds; one left by a killed run is named in the error after 30 s.
lock() {
  i=0
  until (set -C; : > "$lockf") 2>/dev/null; do
    [ -e "$lockf" ] || return 1
    i=$((i + 1)); [ "$i" -gt 150 ] && return 1
    nap
  done
  locked=1
}

claim() {
  trap 'fail "interrupted while claiming the artefact"' HUP INT TERM
  wait "$job"
  IFS= read -r sha <&3 || sha=
  case $sha in *[!0-9a-f]*|'') fail "no valid SHA-256 was sent";; esac
  [ "${#sha}" -eq 64 ] || fail "no valid SHA-256 was sent"
  # The final name is claimed with link(2), which never replaces an existing file; a name taken by another run of
  # the same second gets this run's id.
  for name in "$base.dump" "$base-$run.dump"; do
    if ln -- "$partial" "$dir/$name" 2>/dev/null; then final="$dir/$name"; break; fi
  done
  [ -n "$final" ] || fail "cannot claim a name for $partial: $(ln -- "$partial" "$dir/$base-$run.dump" 2>&1)"
  say "file=$name"
  IFS= read -r msha <&3 || msha=
  case $msha in *[!0-9a-f]*|'') fail "no valid SHA-256 of the manifest was sent";; esac
  IFS= read -r n <&3 || n=
  case $n in ''|*[!0-9]*) fail "no manifest was sent";; esac
  manifest="$final.manifest.yml"
  mtmp="$manifest.tmp.$run"
  if ! err=$( { head -c "$n" <&3 > "$mtmp"; } 2>&1) || [ "$(($(wc -c < "$mtmp")))" -ne "$n" ]; then
    fail "writing $mtmp failed: ${err:-short manifest}"
  fi
  # The manifest's SHA-256 goes into SHA256SUMS beside the dump's: it must be that of the bytes written.
  written=$(hbops_sha256 < "$mtmp" 2>/dev/null) || written=
  [ "${written%% *}" = "$msha" ] || fail "the manifest written is not the one sent"
  lock || fail "cannot take $lockf (left by a killed run? remove it when no backup is running)"
  sums="$dir/SHA256SUMS"
  if [ -e "$sums" ]; then sums_existed=1; sums_size=$(($(wc -c < "$sums"))); else sums_existed=0; sums_size=0; fi
  # Appended in place (keeps the file's mode and group); a failed append is cut back to the old size.
  newline=''
  if [ "$sums_size" -gt 0 ] && [ -n "$(tail -c 1 -- "$sums")" ]; then newline=1; fi
  if ! err=$( { if [ -n "$newline" ]; then echo; fi; printf '%s  %s\n%s  %s\n' "$sha" "$name" "$msha" "$name.manifest.yml"; } 2>&1 >> "$sums"); then
    fail "appending to $sums failed: $err"
  fi
  unlock
  if ! err=$(mv -f -- "$mtmp" "$manifest" 2>&1); then fail "writing $manifest failed: $err"; fi
  trap '' HUP INT TERM
  rm -f -- "$partial"
  say "claimed=$name"
}

trap 'abort; drain; exit 1' HUP INT TERM
if IFS= read -r request <&3; then :; else request=; fi
case $request in
  claim) claim ;;
  *) abort; drain; exit 1 ;;
esac
drain
exit 0

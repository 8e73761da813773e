#!/usr/bin/env bash
# Removes only what the test environment created: labelled containers/volumes, HbOps sandboxes,
# its sshd, and the dockerd it started. Leaves the image unless --purge.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
if docker_ready; then
  for label in "$HBOPS_ENV_LABEL" "hbops.sandbox=true"; do
    ids="$(docker ps -aq --filter "label=$label")"; [ -z "$ids" ] || docker rm -fv $ids >/dev/null
    vols="$(docker volume ls -q --filter "label=$label")"; [ -z "$vols" ] || docker volume rm $vols >/dev/null
  done
  [ "${1:-}" = "--purge" ] && docker image rm -f "$HBOPS_PG_IMAGE" "$HBOPS_PG17_IMAGE" hbops-test/postgres:15-nofdw >/dev/null 2>&1 || true
fi
SSH_DIR="$HBOPS_ENV_DIR/ssh"
# Every sshd and ssh-agent the environment started keeps its pid in a *.pid file under the environment's folder.
for pidfile in "$SSH_DIR/sshd.pid" "$HBOPS_ENV_DIR"/*/sshd.pid "$HBOPS_ENV_DIR"/*/agent.pid; do
  [ -f "$pidfile" ] || continue
  kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"
done
if [ "${1:-}" = "--purge" ]; then
  for u in "$HBOPS_OPERATOR" "$HBOPS_NODOCKER_USER" "$HBOPS_LOCKED_USER"; do
    id "$u" >/dev/null 2>&1 && userdel --remove "$u" 2>/dev/null || true
  done
fi
if [ -f "$HBOPS_ENV_DIR/dockerd.pid" ]; then
  kill "$(cat "$HBOPS_ENV_DIR/dockerd.pid")" 2>/dev/null || true; rm -f "$HBOPS_ENV_DIR/dockerd.pid"
fi
log "environment down"

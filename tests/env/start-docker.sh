#!/usr/bin/env bash
# Starts a Docker engine with no bridge network (no private-range address ever exists).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
command -v dockerd >/dev/null 2>&1 || apt_install docker.io
mkdir -p "$HBOPS_ENV_DIR"
if docker_ready; then log "docker engine already running"; exit 0; fi
log "starting dockerd (bridge=none, iptables=false)"
nohup dockerd --bridge=none --iptables=false --ip-masq=false \
  >"$HBOPS_ENV_DIR/dockerd.log" 2>&1 </dev/null &
echo $! >"$HBOPS_ENV_DIR/dockerd.pid"
for _ in $(seq 1 120); do
  if docker_ready; then log "docker engine ready"; exit 0; fi
  sleep 0.5
done
log "dockerd did not become ready; see $HBOPS_ENV_DIR/dockerd.log"
tail -20 "$HBOPS_ENV_DIR/dockerd.log" >&2 || true
exit 1

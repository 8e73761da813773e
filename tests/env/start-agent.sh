#!/usr/bin/env bash
# Starts an ssh-agent whose socket is at a fixed path ($HBOPS_ENV_DIR/agent/agent.sock) and gives it a key that exists
# nowhere else: the key is generated, added to the agent and its private file deleted (only id_agent.pub stays). The
# public key is added to the authorized_keys the test sshd reads ($HBOPS_AGENT_AUTHORIZED_KEYS, default
# $HBOPS_ENV_DIR/authorized/authorized_keys) and to those of the jump hosts of start-bastion.sh, replacing an earlier
# agent key. Prints SSH_AUTH_SOCK=... and the key's fingerprint as key=value lines.
# Usage: start-agent.sh        start-agent.sh --stop
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
AGENT_DIR="$HBOPS_ENV_DIR/agent"
SOCK="$AGENT_DIR/agent.sock"
AUTHORIZED_KEYS="${HBOPS_AGENT_AUTHORIZED_KEYS:-$HBOPS_ENV_DIR/authorized/authorized_keys}"

agent_running() {
  [ -f "$AGENT_DIR/agent.pid" ] && kill -0 "$(cat "$AGENT_DIR/agent.pid")" 2>/dev/null && [ -S "$SOCK" ]
}

if [ "${1:-}" = "--stop" ]; then
  if agent_running; then kill "$(cat "$AGENT_DIR/agent.pid")"; log "ssh-agent stopped"; fi
  rm -f "$AGENT_DIR/agent.pid" "$SOCK"
  exit 0
fi
command -v ssh-agent >/dev/null 2>&1 || apt_install openssh-client
mkdir -p "$AGENT_DIR"
chmod 700 "$AGENT_DIR"

# An agent that still holds its key is reused; one that lost it (or died) is replaced with a fresh key.
if agent_running && [ -f "$AGENT_DIR/id_agent.pub" ] &&
   SSH_AUTH_SOCK="$SOCK" ssh-add -L 2>/dev/null | grep -qF "$(cut -d' ' -f2 "$AGENT_DIR/id_agent.pub")"; then
  log "ssh-agent already running at $SOCK"
else
  if agent_running; then kill "$(cat "$AGENT_DIR/agent.pid")"; fi
  rm -f "$SOCK" "$AGENT_DIR/agent.pid" "$AGENT_DIR/id_agent" "$AGENT_DIR/id_agent.pub.old"
  [ -f "$AGENT_DIR/id_agent.pub" ] && mv "$AGENT_DIR/id_agent.pub" "$AGENT_DIR/id_agent.pub.old"
  # ssh-agent prints "SSH_AGENT_PID=1234; export SSH_AGENT_PID;" among its shell lines.
  pid="$(ssh-agent -a "$SOCK" -s | sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p')"
  [ -n "$pid" ] || { log "ssh-agent did not start"; exit 1; }
  echo "$pid" >"$AGENT_DIR/agent.pid"
  ssh-keygen -q -t ed25519 -N '' -C hbops-agent-only -f "$AGENT_DIR/id_agent"
  SSH_AUTH_SOCK="$SOCK" ssh-add -q "$AGENT_DIR/id_agent"
  rm -f "$AGENT_DIR/id_agent"
  log "ssh-agent started at $SOCK with key $(ssh-keygen -lf "$AGENT_DIR/id_agent.pub" | cut -d' ' -f2)"
fi

# authorize_agent_key FILE replaces an earlier agent key's line in FILE with the current one.
authorize_agent_key() {
  touch "$1"
  if [ -f "$AGENT_DIR/id_agent.pub.old" ]; then
    grep -vF "$(cut -d' ' -f2 "$AGENT_DIR/id_agent.pub.old")" "$1" >"$1.new" || true
    mv "$1.new" "$1"
  fi
  grep -qF "$(cut -d' ' -f2 "$AGENT_DIR/id_agent.pub")" "$1" || cat "$AGENT_DIR/id_agent.pub" >>"$1"
  # sshd reads it with the logging-in account's rights
  chmod 644 "$1"
}

if [ ! -d "$(dirname "$AUTHORIZED_KEYS")" ]; then
  log "no folder for $AUTHORIZED_KEYS to add the agent key to (start the sshd first)"; exit 1
fi
authorize_agent_key "$AUTHORIZED_KEYS"
# Jump hosts started earlier by start-bastion.sh admit the agent key too.
for bastion_keys in "$HBOPS_ENV_DIR"/bastion[0-9]*/authorized_keys; do
  if [ -f "$bastion_keys" ]; then authorize_agent_key "$bastion_keys"; fi
done
rm -f "$AGENT_DIR/id_agent.pub.old"
echo "SSH_AUTH_SOCK=$SOCK"
echo "agent_key=$(ssh-keygen -lf "$AGENT_DIR/id_agent.pub" | cut -d' ' -f2)"

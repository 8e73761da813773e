#!/usr/bin/env bash
# Starts jump hosts for ProxyJump tests: sshd's on 127.0.0.2 (bastion1) and, with COUNT 2, 127.0.0.3 (bastion2),
# each on a free port with its own host key, pid file and log under $HBOPS_ENV_DIR/bastionN. They admit the
# operator's key (and the agent-only key when start-agent.sh made one) for any account ($HBOPS_BASTION_USER, default
# the operator account, in the generated config) and allow TCP forwarding; LogLevel DEBUG1
# because only that level logs each forward ("server_request_direct_tcpip: ... target HOST port PORT"), the proof
# that a connection went through the jump host (VERBOSE does not log successful forwards).
# Writes bastionN/port and an ssh config snippet (Host hbops-bastionN) plus known_hosts lines in $HBOPS_ENV_DIR/bastion,
# and prints key=value lines: bastion1=127.0.0.2:PORT ...
# Usage: start-bastion.sh [1|2]   (default 2)      start-bastion.sh --stop
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
BASTION_ADDRESSES=(127.0.0.2 127.0.0.3)
SSH_DIR="$HBOPS_ENV_DIR/ssh"
SNIPPET_DIR="$HBOPS_ENV_DIR/bastion"

stop_bastions() {
  local i dir
  for i in 1 2; do
    dir="$HBOPS_ENV_DIR/bastion$i"
    if [ -f "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; then
      kill "$(cat "$dir/sshd.pid")"
      log "bastion$i stopped"
    fi
    rm -f "$dir/sshd.pid"
  done
}

if [ "${1:-}" = "--stop" ]; then stop_bastions; exit 0; fi
COUNT="${1:-2}"
case "$COUNT" in 1|2) ;; *) log "usage: start-bastion.sh [1|2] | --stop"; exit 2 ;; esac
command -v /usr/sbin/sshd >/dev/null 2>&1 || apt_install openssh-server
mkdir -p /run/sshd "$SNIPPET_DIR"
chmod 700 "$SNIPPET_DIR"

# free_port ADDRESS prints a TCP port nothing listens on at ADDRESS.
free_port() {
  python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1]); s.close()' "$1"
}

# wait_listening ADDRESS PORT waits (up to 10 s) until a TCP connect to ADDRESS:PORT succeeds.
wait_listening() {
  local _
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

: >"$SNIPPET_DIR/known_hosts.new"
: >"$SNIPPET_DIR/config.new"
for i in $(seq 1 "$COUNT"); do
  dir="$HBOPS_ENV_DIR/bastion$i"
  address="${BASTION_ADDRESSES[$((i - 1))]}"
  mkdir -p "$dir"
  # sshd reads authorized_keys with the account's own rights: the folder and that file are readable, the host key is not.
  chmod 755 "$dir"
  if [ -f "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; then
    port="$(cat "$dir/port")"
    log "bastion$i already running on $address:$port"
  else
    [ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "hbops-bastion$i-host" -f "$dir/host_ed25519"
    : >"$dir/authorized_keys"
    for pub in "$SSH_DIR/id_ed25519.pub" "$HBOPS_ENV_DIR/agent/id_agent.pub"; do
      if [ -f "$pub" ]; then cat "$pub" >>"$dir/authorized_keys"; fi
    done
    chmod 644 "$dir/authorized_keys"
    port="$(free_port "$address")"
    cat >"$dir/sshd_config" <<CFG
ListenAddress $address
Port $port
HostKey $dir/host_ed25519
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
PidFile $dir/sshd.pid
AllowTcpForwarding yes
PermitOpen any
LogLevel DEBUG1
CFG
    /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
    echo "$port" >"$dir/port"
    if ! wait_listening "$address" "$port"; then log "bastion$i did not listen; see $dir/sshd.log"; exit 1; fi
    log "bastion$i ready on $address:$port"
  fi
  printf '[%s]:%s %s\n' "$address" "$port" "$(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >>"$SNIPPET_DIR/known_hosts.new"
  cat >>"$SNIPPET_DIR/config.new" <<CFG
Host hbops-bastion$i
  HostName $address
  User ${HBOPS_BASTION_USER:-$HBOPS_OPERATOR}
  Port $port
  IdentityFile $SSH_DIR/id_ed25519
  UserKnownHostsFile $SNIPPET_DIR/known_hosts
  StrictHostKeyChecking yes
CFG
  echo "bastion$i=$address:$port"
done
mv "$SNIPPET_DIR/known_hosts.new" "$SNIPPET_DIR/known_hosts"
mv "$SNIPPET_DIR/config.new" "$SNIPPET_DIR/config"
